// mrivol-compare: the pre/post comparison of the epidural venous plexus.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/cli.hpp"
#include "mrivol/compare/compare.hpp"
#include "mrivol/core/version.hpp"
#include "mrivol/dicom/seg.hpp"
#include "mrivol/io/atomic.hpp"
#include "mrivol/io/image.hpp"
#include "mrivol/io/input.hpp"
#include "mrivol/io/png.hpp"
#include "mrivol/io/sidecar.hpp"
#include "mrivol/io/transform_file.hpp"
#include "mrivol/registration/register.hpp"

using namespace mrivol;
using nlohmann::ordered_json;

namespace {

const cli::ToolSpec spec{
    "mrivol-compare",
    "--pre PRE --post POST --out OUT [--roi ROI] [--levels L3-S1] [--threads N]",
    "The whole comparison: registers POST onto PRE (rigid), segments the epidural venous\n"
    "plexus of PRE, then of POST with PRE's decisions (contrast, vein polarity) and PRE's\n"
    "vertebral levels carried through the transform (on T1c both in the union of the two\n"
    "canals), over the anatomy both scans cover, and reports the change: percent =\n"
    "100 * (post - pre) / pre of the partial-volume (soft) volumes, with an interval (block\n"
    "bootstrap over slabs of anatomy, joined with the vein-fraction threshold sensitivity),\n"
    "per level too (L1-L2 .. L5-S1) with the dural sac area at each disc.\n\n"
    "PRE, POST: DICOM folders (with several series, --pre-series/--post-series pick one;\n"
    "mrivol-load --list shows them) or image files (.nii, .nii.gz, .nrrd, .mha). ROI: a\n"
    "mask in PRE's space, or a box x0,y0,z0,x1,y1,z1 in LPS mm.\n\n"
    "OUT receives report.json (schema mrivol.compare/1), report.csv (one row), report.html\n"
    "(self-contained: numbers, per-level chart, mask outlines, registration check,\n"
    "warnings), pre_plexus.nii.gz and post_plexus.nii.gz (binary, each on its own scan's\n"
    "grid), pre/post_plexus_soft.nii.gz, transform.tfm (ITK; fixed = PRE, moving = POST:\n"
    "maps a PRE LPS point to the same anatomical point of POST), the QC pictures and\n"
    "provenance.json. No patient identifier is written.",
    {"mrivol-compare --pre pre/ --post post/ --out cmp",
     "mrivol-compare --pre pre.nii.gz --post post.nii.gz --out cmp --levels L3-S1 --contrast t2",
     "mrivol-compare --pre pre/ --post post/ --out cmp --roi -30,-10,-120,30,60,80"}};

std::string base64_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  const std::string in((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
  }
  if (i + 1 == in.size()) {
    const unsigned v = (unsigned char)in[i] << 16;
    out += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
  }
  return out;
}

std::string html_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<')
      o += "&lt;";
    else if (c == '>')
      o += "&gt;";
    else if (c == '&')
      o += "&amp;";
    else if (c == '"')
      o += "&quot;";
    else
      o += c;
  }
  return o;
}

std::string fmt(double v, int prec = 1) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

// Per-level bars, pre (grey) and post (red), as inline SVG.
std::string bar_chart(const compare::Result& r) {
  double vmax = 1;
  for (const auto& l : r.levels) vmax = std::max({vmax, l.pre_mm3, l.post_mm3});
  const int W = 560, H = 260, left = 50, bottom = 30, bw = 30;
  std::ostringstream s;
  s << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H << "' role='img' "
    << "aria-label='plexus volume per level, pre and post'>";
  s << "<line x1='" << left << "' y1='" << H - bottom << "' x2='" << W - 10 << "' y2='" << H - bottom
    << "' stroke='#333'/>";
  for (std::size_t i = 0; i < r.levels.size(); ++i) {
    const auto& l = r.levels[i];
    const double x = left + 20 + i * 100.0;
    const double h1 = (H - bottom - 20) * l.pre_mm3 / vmax, h2 = (H - bottom - 20) * l.post_mm3 / vmax;
    s << "<rect x='" << x << "' y='" << H - bottom - h1 << "' width='" << bw << "' height='" << h1
      << "' fill='#888'><title>" << l.name << " pre " << fmt(l.pre_mm3, 0) << " mm3</title></rect>";
    s << "<rect x='" << x + bw + 2 << "' y='" << H - bottom - h2 << "' width='" << bw << "' height='" << h2
      << "' fill='#d33'><title>" << l.name << " post " << fmt(l.post_mm3, 0) << " mm3</title></rect>";
    s << "<text x='" << x + bw << "' y='" << H - 10 << "' font-size='12' text-anchor='middle'>" << l.name
      << "</text>";
  }
  s << "<text x='5' y='15' font-size='12'>mm&#179; (grey pre, red post)</text></svg>";
  return s.str();
}

ordered_json session_json(const Volume& v, const segment::Result& s, const std::string& path,
                          const char* prefix, bool dicom_seg) {
  ordered_json j = {{"plexus_volume_mm3", s.volume_soft_mm3},
                    {"plexus_volume_binary_mm3", s.volume_mm3},
                    {"mask", std::string(prefix) + "_plexus.nii.gz"},
                    {"soft_map", std::string(prefix) + "_plexus_soft.nii.gz"},
                    {"input", path},
                    {"sha256", io::input_checksum(path)},
                    {"series_uid", v.meta.acq.series_uid},
                    {"acquisition", ordered_json::parse(io::bids_sidecar(v))},
                    {"contrast", s.contrast},
                    {"contrast_source", s.contrast_source},
                    {"veins", s.veins},
                    {"veins_source", s.veins_source},
                    {"canal_source", s.region_source},
                    {"mask_touches_field_of_view_edge", s.touches_edge}};
  if (dicom_seg) j["dicom_seg"] = std::string(prefix) + "_plexus.seg.dcm";
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  return cli::run_tool(
      argc, argv, spec,
      [](cli::Definition& d) {
        namespace po = cli::po;
        d.options.add_options()("pre", po::value<std::string>(), "PRE scan (DICOM folder/file or image)")(
            "post", po::value<std::string>(), "POST scan (DICOM folder/file or image)")(
            "out,o", po::value<std::string>(), "output folder")(
            "pre-series", po::value<std::string>()->default_value(""), "image set of PRE")(
            "post-series", po::value<std::string>()->default_value(""), "image set of POST")(
            "roi", po::value<std::string>(), "mask in PRE's space, or box x0,y0,z0,x1,y1,z1 (LPS mm)")(
            "levels", po::value<std::string>()->default_value("all"),
            "measure these levels only, e.g. L3-S1")(
            "contrast", po::value<std::string>()->default_value("auto"), "auto, t2 or t1c")(
            "veins", po::value<std::string>()->default_value("auto"), "auto, dark or bright")(
            "lowest-disc", po::value<std::string>()->default_value("L5-S1"), "name of the lowest full disc")(
            "dicom-seg", po::bool_switch(),
            "also write pre_plexus.seg.dcm and post_plexus.seg.dcm: DICOM Segmentation objects referencing "
            "the source series (DICOM inputs only)")(
            "include-identifiers", po::bool_switch(),
            "with --dicom-seg: copy patient name, ID, birth date and sex into the SEG objects (for PACS)")(
            "strict", po::bool_switch(),
            "refuse PRE and POST of different patients or frames of reference (default: warn)");
      },
      [](const cli::po::variables_map& vm, const cli::Common& c, Reporter& rep) {
        if (!vm.count("pre") || !vm.count("post")) throw UsageError("--pre PRE and --post POST are required");
        if (!vm.count("out")) throw UsageError("--out OUT is required");
        const std::string out = vm["out"].as<std::string>();
        io::check_folder_writable(out, c.force);
        compare::Options opt;
        opt.threads = c.threads;
        opt.segment.contrast = vm["contrast"].as<std::string>();
        opt.segment.veins = vm["veins"].as<std::string>();
        opt.segment.levels = vm["levels"].as<std::string>();
        opt.segment.lowest_disc = vm["lowest-disc"].as<std::string>();
        segment::parse_levels(opt.segment.levels);
        if (opt.segment.veins != "auto" && opt.segment.veins != "dark" && opt.segment.veins != "bright")
          throw UsageError("--veins must be auto, dark or bright");
        if (opt.segment.contrast != "auto" && opt.segment.contrast != "t2" && opt.segment.contrast != "t1c")
          throw UsageError("--contrast must be auto, t2 or t1c");
        std::string roi_text;
        if (vm.count("roi")) {
          roi_text = vm["roi"].as<std::string>();
          if (cli::looks_like_box(roi_text)) {
            opt.roi_box = cli::box(roi_text, "roi");
          } else {
            opt.roi_mask = io::read_image(roi_text);
          }
        }
        const std::string pre_path = vm["pre"].as<std::string>(), post_path = vm["post"].as<std::string>();
        const bool dicom_seg = vm["dicom-seg"].as<bool>();
        if (vm["include-identifiers"].as<bool>() && !dicom_seg)
          throw UsageError("--include-identifiers only applies to --dicom-seg");
        if (dicom_seg)
          for (const auto& p : {pre_path, post_path})
            if (!std::filesystem::is_directory(p) && io::is_image_file(p))
              throw UsageError("--dicom-seg needs DICOM inputs: " + p + " is an image file");
        const Volume pre = io::read_scan(pre_path, vm["pre-series"].as<std::string>(), c.threads, rep);
        const Volume post = io::read_scan(post_path, vm["post-series"].as<std::string>(), c.threads, rep);
        if (opt.roi_mask) {  // a mask in PRE's physical space, on any grid: it must reach PRE's field of view
          const Volume& m = *opt.roi_mask;
          bool overlap = false;
          for (std::size_t k = 0; k < m.geom.size[2] && !overlap; ++k)
            for (std::size_t j = 0; j < m.geom.size[1] && !overlap; ++j)
              for (std::size_t i = 0; i < m.geom.size[0] && !overlap; ++i) {
                if (m.at(i, j, k) <= 0.5f) continue;
                const Vec3 at =
                    pre.geom.point_to_index(m.geom.index_to_point(double(i), double(j), double(k)));
                overlap = true;
                for (int a = 0; a < 3; ++a)
                  overlap = overlap && at[a] > -0.5 && at[a] < double(pre.geom.size[a]) - 0.5;
              }
          if (!overlap) throw InputError(roi_text, "the ROI mask has no voxel inside PRE's field of view");
        }
        std::vector<std::string> session_warnings;
        for (const auto& m : session_mismatches(pre.meta, post.meta)) {
          if (vm["strict"].as<bool>()) throw InputError(post_path, m + "; refused under --strict");
          rep.warn(m);
          session_warnings.push_back(m);
        }
        compare::Result r = compare::compare(pre, post, opt, rep);
        for (const auto& w : r.warnings) rep.warn(w);
        r.warnings.insert(r.warnings.begin(), session_warnings.begin(), session_warnings.end());

        io::AtomicFolder folder(out, c.force);
        io::WriteOptions flt;
        flt.keep_integer_storage = false;
        auto labels = [](Volume v) {
          v.stored = StoredScaling{1.0, 0.0, false, 8};
          return v;
        };
        io::write_image(labels(r.pre.plexus), folder / "pre_plexus.nii.gz");
        io::write_image(labels(r.post.plexus), folder / "post_plexus.nii.gz");
        io::write_image(r.pre.plexus_soft, folder / "pre_plexus_soft.nii.gz", flt);
        io::write_image(r.post.plexus_soft, folder / "post_plexus_soft.nii.gz", flt);
        io::write_transform(r.reg.transform, folder / "transform.tfm", false);
        if (dicom_seg) {
          dicom::SegWriteOptions so;
          so.include_identifiers = vm["include-identifiers"].as<bool>();
          so.series_description = "mrivol plexus pre";
          dicom::write_segmentation(r.pre.plexus, pre, folder / "pre_plexus.seg.dcm", so);
          so.series_description = "mrivol plexus post";
          dicom::write_segmentation(r.post.plexus, post, folder / "post_plexus.seg.dcm", so);
        }
        segment::write_qc(pre, r.pre, folder / "pre_qc_", false);
        segment::write_qc(post, r.post, folder / "post_qc_", false);
        const Volume registered = registration::resample(post, pre.geom, r.reg.transform,
                                                         registration::Interpolation::linear, c.threads);
        io::write_checkerboard(pre, registered, folder / "qc_registration.png", false);

        ordered_json levels = ordered_json::array();
        for (const auto& l : r.levels) {
          ordered_json j{{"level", l.name}, {"measured", l.measured}};
          if (l.measured) {
            j["pre_mm3"] = l.pre_mm3;
            j["post_mm3"] = l.post_mm3;
            j["change_mm3"] = l.change_mm3;
            j["percent"] = l.percent;
          }
          if (l.sac_area_pre_mm2 >= 0) j["dural_sac_area_pre_mm2"] = l.sac_area_pre_mm2;
          if (l.sac_area_post_mm2 >= 0) j["dural_sac_area_post_mm2"] = l.sac_area_post_mm2;
          levels.push_back(j);
        }
        ordered_json stages = ordered_json::object();
        for (const auto& [k, v] : r.stage_seconds) stages[k] = v;
        const auto& t = r.reg.transform;
        ordered_json starts = ordered_json::array();
        for (const auto& st : r.reg.starts)
          starts.push_back({{"init", st.init}, {"coarse_metric", st.metric}, {"chosen", st.chosen}});
        ordered_json report{
            {"schema", "mrivol.compare/1"},
            {"pre", session_json(pre, r.pre, pre_path, "pre", dicom_seg)},
            {"post", session_json(post, r.post, post_path, "post", dicom_seg)},
            {"change",
             {{"absolute_mm3", r.change_mm3},
              {"percent", r.percent},
              {"percent_binary", r.percent_binary},
              {"interval_percent", {r.percent_low, r.percent_high}},
              {"interval_components",
               {{"threshold_sensitivity_percent", {r.sensitivity_low, r.sensitivity_high}},
                {"bootstrap_95_percent",
                 r.bootstrap_slabs > 0 ? ordered_json{r.bootstrap_low, r.bootstrap_high} : ordered_json()},
                {"bootstrap_slabs", r.bootstrap_slabs}}},
              {"interval_method", r.interval_method}}},
            {"definition",
             "volumes are the partial-volume (soft) plexus volumes over the measured levels and the anatomy "
             "both "
             "scans cover; percent = 100 * (post - pre) / pre"},
            {"levels", levels},
            {"levels_method", r.levels_method},
            {"registration",
             {{"transform", "transform.tfm"},
              {"convention",
               "fixed = pre, moving = post; maps a PRE LPS point to the same anatomical point of POST"},
              {"rotation_deg", t.rotation_deg()},
              {"translation_mm", t.translation},
              {"initialisation", r.reg.init_used},
              {"starts", starts},
              {"metric_before", r.reg.metric_before},
              {"metric_after", r.reg.metric_after},
              {"qc_picture", "qc_registration.png"}}},
            {"warnings", r.warnings},
            {"parameters",
             {{"levels", opt.segment.levels},
              {"contrast", opt.segment.contrast},
              {"veins", opt.segment.veins},
              {"lowest_disc", opt.segment.lowest_disc},
              {"roi", roi_text}}},
            {"software", {{"mrivol", version()}, {"dependencies", dependency_versions()}}},
            {"threads", c.threads},
            {"seconds", r.seconds},
            {"stage_seconds", stages}};
        io::write_text_file(folder / "report.json", report.dump(2) + "\n", false);

        // One row for a cohort table.
        std::ostringstream csv;
        csv << "pre_series_uid,post_series_uid,pre_mm3,post_mm3,change_mm3,percent,percent_low,percent_high,"
               "percent_binary";
        for (const auto& l : r.levels)
          csv << "," << l.name << "_pre_mm3," << l.name << "_post_mm3," << l.name << "_percent," << l.name
              << "_sac_pre_mm2," << l.name << "_sac_post_mm2";
        csv << ",rotation_deg,translation_mm,mask_at_edge,warnings\n";
        csv << pre.meta.acq.series_uid << "," << post.meta.acq.series_uid << "," << fmt(r.pre_mm3, 2) << ","
            << fmt(r.post_mm3, 2) << "," << fmt(r.change_mm3, 2) << "," << fmt(r.percent, 3) << ","
            << fmt(r.percent_low, 3) << "," << fmt(r.percent_high, 3) << "," << fmt(r.percent_binary, 3);
        for (const auto& l : r.levels)
          csv << "," << (l.measured ? fmt(l.pre_mm3, 2) : "") << "," << (l.measured ? fmt(l.post_mm3, 2) : "")
              << "," << (l.measured ? fmt(l.percent, 3) : "") << ","
              << (l.sac_area_pre_mm2 >= 0 ? fmt(l.sac_area_pre_mm2, 1) : "") << ","
              << (l.sac_area_post_mm2 >= 0 ? fmt(l.sac_area_post_mm2, 1) : "");
        const double tr =
            std::sqrt(t.translation[0] * t.translation[0] + t.translation[1] * t.translation[1] +
                      t.translation[2] * t.translation[2]);
        csv << "," << fmt(t.rotation_deg(), 3) << "," << fmt(tr, 3) << ","
            << (r.pre.touches_edge || r.post.touches_edge ? "yes" : "no") << "," << r.warnings.size() << "\n";
        io::write_text_file(folder / "report.csv", csv.str(), false);

        // The page a radiologist reads (self-contained: images inline).
        std::ostringstream h;
        auto img = [&](const std::string& file, const std::string& alt) {
          return "<img alt='" + alt + "' src='data:image/png;base64," + base64_file(folder / file) + "'>";
        };
        h << "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>mrivol: epidural venous "
             "plexus, "
             "pre/post</"
             "title><style>body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:"
             "collapse}td,th{border:1px solid #ccc;padding:4px "
             "8px;text-align:right}th{background:#eee}img{max-"
             "width:100%;border:1px solid #999}.warn{color:#a40}</style></head><body>";
        h << "<h1>Epidural venous plexus: pre / post</h1>";
        h << "<p><b>Change: " << fmt(r.percent) << " %</b> (" << fmt(r.change_mm3, 0)
          << " mm&#179;; interval " << fmt(r.percent_low) << " to " << fmt(r.percent_high) << " %). Pre "
          << fmt(r.pre_mm3, 0) << " mm&#179;, post " << fmt(r.post_mm3, 0)
          << " mm&#179; (partial-volume volumes).</p>";
        h << "<p>Interval: " << html_escape(r.interval_method) << ".</p>";
        h << "<table><tr><th>level</th><th>pre mm&#179;</th><th>post mm&#179;</th><th>change %</th><th>dural "
             "sac pre "
             "mm&#178;</th><th>dural sac post mm&#178;</th></tr>";
        for (const auto& l : r.levels)
          h << "<tr><td>" << l.name << "</td><td>" << (l.measured ? fmt(l.pre_mm3, 0) : "-") << "</td><td>"
            << (l.measured ? fmt(l.post_mm3, 0) : "-") << "</td><td>" << (l.measured ? fmt(l.percent) : "-")
            << "</td><td>" << (l.sac_area_pre_mm2 >= 0 ? fmt(l.sac_area_pre_mm2, 0) : "-") << "</td><td>"
            << (l.sac_area_post_mm2 >= 0 ? fmt(l.sac_area_post_mm2, 0) : "-") << "</td></tr>";
        h << "</table><h2>Per level</h2>" << bar_chart(r);
        h << "<h2>Masks</h2><p>Outlines: plexus red, thecal sac blue, canal green. Sagittal planes through "
             "the right "
             "and left anterior channels; axial planes through each disc.</p>";
        h << "<h3>Pre</h3>" << img("pre_qc_sagittal.png", "pre sagittal")
          << img("pre_qc_axial.png", "pre axial");
        h << "<h3>Post</h3>" << img("post_qc_sagittal.png", "post sagittal")
          << img("post_qc_axial.png", "post axial");
        h << "<h2>Registration</h2><p>Checkerboard of PRE and registered POST (rotation "
          << fmt(t.rotation_deg(), 2) << "&#176;, translation " << fmt(tr, 2) << " mm).</p>"
          << img("qc_registration.png", "registration checkerboard");
        h << "<h2>Warnings</h2>";
        if (r.warnings.empty()) h << "<p>None.</p>";
        for (const auto& w : r.warnings) h << "<p class='warn'>" << html_escape(w) << "</p>";
        // A self-check a browser (or a headless test) can read: every image
        // decoded, no script error.
        h << "<script>var mrivolErrors=0;window.addEventListener('error',function(){mrivolErrors++;});"
             "window.addEventListener('load',function(){var ok=document.images.length>0;"
             "for(var i=0;i<document.images.length;++i){var m=document.images[i];"
             "if(!m.complete||m.naturalWidth===0)ok=false;}"
             "document.body.setAttribute('data-images-loaded',ok?'yes':'no');"
             "document.body.setAttribute('data-script-errors',String(mrivolErrors));});</script>";
        h << "<p><small>mrivol " << version()
          << "; report.json holds every number, the inputs' checksums and the "
          << "parameters.</small></p></body></html>\n";
        io::write_text_file(folder / "report.html", h.str(), false);
        ordered_json prov{{"tool", "mrivol-compare"},
                          {"version", version()},
                          {"dependencies", dependency_versions()},
                          {"command_line", c.command_line},
                          {"threads", c.threads}};
        io::write_text_file(folder / "provenance.json", prov.dump(2) + "\n", false);
        folder.commit();
        char line[240];
        std::snprintf(
            line, sizeof line,
            "plexus pre %.0f mm3, post %.0f mm3: change %+.1f %% (interval %+.1f to %+.1f %%); report: %s",
            r.pre_mm3, r.post_mm3, r.percent, r.percent_low, r.percent_high, (out + "/report.html").c_str());
        rep.info(line);
      });
}
