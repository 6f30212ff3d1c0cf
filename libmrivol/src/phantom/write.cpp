// Writing a phantom pair: DICOM sessions, truth (JSON, NIfTI masks), previews.
#include <unistd.h>

#include <cmath>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "anatomy.hpp"
#include "mrivol/core/error.hpp"
#include "mrivol/core/sha256.hpp"
#include "mrivol/core/version.hpp"
#include "mrivol/dicom/write.hpp"
#include "mrivol/io/atomic.hpp"
#include "mrivol/io/image.hpp"
#include "mrivol/io/png.hpp"
#include "mrivol/phantom/phantom.hpp"
#include "render.hpp"

namespace fs = std::filesystem;

namespace mrivol {
namespace phantom {
namespace {

using nlohmann::ordered_json;

/// A DICOM UID under the UUID-derived root 2.25 from a 128-bit hash:
/// deterministic for the same configuration and role.
std::string uid(const std::string& config_json, const std::string& role) {
  const std::string h = sha256_hex((config_json + "|" + role).data(), config_json.size() + 1 + role.size());
  // 127-bit big-endian number from the hash, converted to decimal by long division.
  std::vector<unsigned> bytes(16);
  for (int i = 0; i < 16; ++i) bytes[i] = static_cast<unsigned>(std::stoi(h.substr(2 * i, 2), nullptr, 16));
  bytes[0] &= 0x7f;  // < 2^127: at most 39 digits, so the UID stays within 64 characters
  std::string digits;
  bool nonzero = true;
  while (nonzero) {
    unsigned rem = 0;
    nonzero = false;
    for (auto& b : bytes) {
      const unsigned cur = rem * 256 + b;
      b = cur / 10;
      rem = cur % 10;
      nonzero = nonzero || b != 0;
    }
    digits.insert(digits.begin(), static_cast<char>('0' + rem));
  }
  return "2.25." + digits;
}

void describe(Volume& v, const Config& c, bool post) {
  Acquisition& a = v.meta.acq;
  const bool t2 = c.contrast == "t2";
  const std::string plane = c.acquisition == "ax2d" ? "tra" : "sag";
  a.modality = "MR";
  a.manufacturer = "mrivol";
  a.model = "lumbar phantom";
  a.software_versions = "mrivol " + version();
  a.series_description = (t2 ? "t2_tse_" : "t1_fs_gd_") + plane + (c.acquisition == "iso3d" ? "_3d" : "") +
                         (post ? " post-exercise" : " pre-exercise");
  a.protocol_name = a.series_description;
  a.body_part = "LSPINE";
  a.scanning_sequence = "SE";
  a.sequence_variant = t2 ? "SK" : "SK\\SP";
  a.mr_acquisition_type = c.acquisition == "iso3d" ? "3D" : "2D";
  a.sequence_name = t2 ? "*tse2d1_15" : "*se2d1";
  a.field_strength_t = 1.5;
  a.repetition_time_ms = t2 ? 3500.0 : 600.0;
  a.echo_time_ms = t2 ? 100.0 : 10.0;
  a.flip_angle_deg = t2 ? 150.0 : 90.0;
  a.slice_thickness_mm = v.geom.spacing[2];
  a.patient_position = "HFS";
  a.acquisition_date = "20250301";
  a.acquisition_time = post ? "104500.000" : "101500.000";
}

Volume binary(const Volume& fraction) {
  Volume m = fraction;
  for (auto& x : m.data) x = x >= 0.5f ? 1.0f : 0.0f;
  m.stored = StoredScaling{1.0, 0.0, false, 8};
  return m;
}

void previews(const Pair& p, const std::string& dir) {
  const LevelTruth& l45 = p.truth.levels[3];
  const auto& M = p.truth.pre_to_post;
  const Vec3 c = l45.disc_centre_lps;
  const Vec3 cpost{M[0] * c[0] + M[1] * c[1] + M[2] * c[2] + M[3],
                   M[4] * c[0] + M[5] * c[1] + M[6] * c[2] + M[7],
                   M[8] * c[0] + M[9] * c[1] + M[10] * c[2] + M[11]};
  // Sagittal through the midline at the spine's level (centred 60 mm above L4-L5).
  for (int s = 0; s < 2; ++s) {
    const Volume& v = s == 0 ? p.pre.image : p.post.image;
    const Vec3 at = s == 0 ? c : cpost;
    const io::Plane sag = io::sagittal_plane({at[0], at[1] + 20, at[2] + 55}, 0.6, 400, 420);
    const io::Plane ax = io::axial_plane({at[0], at[1] + 10, at[2]}, 0.5, 360, 300);
    const std::string who = s == 0 ? "pre" : "post";
    io::write_png(dir + "/" + who + "_sagittal.png", sag.width, sag.height,
                  io::window(io::sample_plane(v, sag)), 1, false);
    io::write_png(dir + "/" + who + "_axial_L4-L5.png", ax.width, ax.height,
                  io::window(io::sample_plane(v, ax)), 1, false);
  }
}

ordered_json truth_json(const Pair& p) {
  const Truth& t = p.truth;
  ordered_json levels = ordered_json::array();
  for (const auto& l : t.levels)
    levels.push_back({{"level", l.name},
                      {"pre_mm3", l.pre_mm3},
                      {"post_mm3", l.post_mm3},
                      {"percent_change", l.pre_mm3 > 0 ? 100.0 * (l.post_mm3 - l.pre_mm3) / l.pre_mm3 : 0.0},
                      {"dural_sac_area_mm2", {{"pre", l.sac_area_pre_mm2}, {"post", l.sac_area_post_mm2}}},
                      {"disc_centre_pre_lps_mm", l.disc_centre_lps}});
  ordered_json m = ordered_json::array();
  for (int r = 0; r < 4; ++r)
    m.push_back(
        {t.pre_to_post[4 * r], t.pre_to_post[4 * r + 1], t.pre_to_post[4 * r + 2], t.pre_to_post[4 * r + 3]});
  return ordered_json{
      {"schema", "mrivol.phantom.truth/1"},
      {"definition",
       "plexus = veins inside the spinal canal (the epidural space), from the L1 to the S1 vertebral body "
       "centre; level Lx-Ly spans the centre of Lx to the centre of Ly, so the levels sum to the total; "
       "dural sac area = thecal sac cross-section minus intruding veins, in the plane through the disc's "
       "centre perpendicular to the spine axis"},
      {"plexus_volume_mm3", {{"pre", t.pre_mm3}, {"post", t.post_mm3}}},
      {"plexus_volume_ml", {{"pre", t.pre_mm3 / 1000}, {"post", t.post_mm3 / 1000}}},
      {"change", {{"absolute_mm3", t.post_mm3 - t.pre_mm3}, {"percent", t.percent_change}}},
      {"fine_grid_mm", t.grid_mm},
      {"levels", levels},
      {"motion",
       {{"pre_to_post_lps", m},
        {"convention",
         "maps a physical LPS point of the pre scan to the same anatomical point of the post scan"},
        {"rotation_deg", t.rotation_deg},
        {"translation_mm", t.translation_mm},
        {"non_rigid", t.non_rigid},
        {"posture_deg_per_level", p.config.posture_deg},
        {"displacement_field",
         t.non_rigid
             ? ordered_json("displacement_pre_to_post.nii.gz: on the pre grid, LPS components (mm, as "
                            "ITK/ANTs write displacement fields); p + d(p) is the post point of the anatomy "
                            "at pre point p, rigid motion included")
             : ordered_json(nullptr)}}},
      {"engorgement", p.config.engorgement},
      {"seed", p.config.seed},
      {"config", nlohmann::json::parse(to_json(p.config))}};
}

std::vector<unsigned> shuffled(std::size_t n, std::uint64_t key) {
  std::vector<unsigned> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<unsigned>(i);
  for (std::size_t i = n; i > 1; --i) std::swap(v[i - 1], v[static_cast<std::size_t>(uniform01(key, i) * i)]);
  return v;
}

}  // namespace

void check_output(const std::string& dir, bool overwrite) { io::check_folder_writable(dir, overwrite); }

void write_pair(const Pair& in, const std::string& dir, const WriteOptions& opt, Reporter& rep) {
  io::AtomicFolder folder(dir, opt.overwrite);
  const std::string tmp = folder.temp_path();
  std::error_code ec;
  for (const char* sub : {"pre", "post", "truth"})
    if (!fs::create_directories(fs::path(tmp) / sub, ec))
      throw OutputError(tmp, "cannot create folder (" + ec.message() + ")");

  Pair p = in;
  const std::string cfg = to_json(p.config);
  describe(p.pre.image, p.config, false);
  describe(p.post.image, p.config, true);
  const std::string study_pre = uid(cfg, "study-pre"), study_post = uid(cfg, "study-post");
  const std::string frame = uid(cfg, "frame-of-reference");
  for (int s = 0; s < 2; ++s) {
    const bool post = s == 1;
    dicom::SeriesWriteOptions o;
    o.study_uid = post ? study_post : study_pre;
    o.series_uid = uid(cfg, post ? "series-post" : "series-pre");
    o.uid_prefix = uid(cfg, post ? "instances-post" : "instances-pre");
    o.frame_of_reference_uid = frame;
    o.patient_name = "PHANTOM^LUMBAR";
    o.patient_id = "MRIVOL-PHANTOM-" + std::to_string(p.config.seed);
    // Identifiers of every kind, all fictitious, so that the privacy tests can
    // check that none reaches an output.
    o.birth_date = "19760229";
    o.accession_number = "MRIVOLACC" + std::to_string(p.config.seed);
    o.institution_name = "MRIVOL PHANTOM HOSPITAL";
    o.referring_physician = "REFERRER^PHANTOM";
    o.operators = "OPERATOR^PHANTOM";
    o.study_date = "20250301";
    o.study_time = post ? "104000" : "101000";
    o.series_number = post ? 201 : 101;
    const Volume& img = post ? p.post.image : p.pre.image;
    o.file_order = shuffled(img.geom.size[2], mix(p.config.seed + (post ? 77 : 55)));
    dicom::write_series(img, tmp + (post ? "/post" : "/pre"), o);
    rep.progress("write", 0.25 * (s + 1));
  }
  const std::string tdir = tmp + "/truth";
  io::write_text_file(tdir + "/truth.json", truth_json(p).dump(2) + "\n", false);
  for (int s = 0; s < 2; ++s) {
    const Session& ses = s == 0 ? p.pre : p.post;
    const std::string who = s == 0 ? "pre" : "post";
    io::write_image(binary(ses.plexus), tdir + "/" + who + "_plexus.nii.gz");
    io::write_image(ses.plexus, tdir + "/" + who + "_plexus_fraction.nii.gz");
    io::write_image(binary(ses.canal), tdir + "/" + who + "_canal.nii.gz");
    io::write_image(binary(ses.sac), tdir + "/" + who + "_thecal_sac.nii.gz");
  }
  if (!p.displacement.data.empty()) {
    io::WriteOptions vo;
    vo.vector = true;
    vo.keep_integer_storage = false;
    io::write_image(p.displacement, tdir + "/displacement_pre_to_post.nii.gz", vo);
  }
  rep.progress("write", 0.75);
  if (opt.previews) previews(p, tdir);
  ordered_json prov{{"tool", "mrivol-phantom"},
                    {"version", version()},
                    {"dependencies", dependency_versions()},
                    {"command_line", opt.command_line},
                    {"config", nlohmann::json::parse(cfg)},
                    {"created_utc", [] {
                       char b[32];
                       const std::time_t now = std::time(nullptr);
                       std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
                       return std::string(b);
                     }()}};
  io::write_text_file(tmp + "/provenance.json", prov.dump(2) + "\n", false);
  io::write_text_file(tmp + "/phantom.json", cfg, false);

  folder.commit();
  rep.progress("write", 1.0);
}

}  // namespace phantom
}  // namespace mrivol
