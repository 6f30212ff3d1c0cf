// The phantom pair: configuration, random draws, session geometry, truth.
#include "mrivol/phantom/phantom.hpp"

#include <atomic>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "../core/parallel.hpp"
#include "anatomy.hpp"
#include "mrivol/core/error.hpp"
#include "render.hpp"

namespace mrivol {
namespace phantom {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr double kPi = 3.14159265358979323846;

// ---------------------------------------------------------------- config

namespace {

ordered_json anatomy_json(const Anatomy& a) {
  return ordered_json{{"body_height", a.body_height},
                      {"disc_height", a.disc_height},
                      {"body_half_width", a.body_half_width},
                      {"body_half_depth", a.body_half_depth},
                      {"cortex", a.cortex},
                      {"canal_half_width", a.canal_half_width},
                      {"canal_depth", a.canal_depth},
                      {"sac_half_width", a.sac_half_width},
                      {"sac_half_depth", a.sac_half_depth},
                      {"sac_offset", a.sac_offset},
                      {"root_radius", a.root_radius},
                      {"vein_radius", a.vein_radius},
                      {"vein_radius_var", a.vein_radius_var},
                      {"vein_offset", a.vein_offset},
                      {"vein_tortuosity", a.vein_tortuosity},
                      {"transverse_radius", a.transverse_radius},
                      {"draining_radius", a.draining_radius},
                      {"draining_side", a.draining_side},
                      {"lordosis", a.lordosis},
                      {"abdomen_half_width", a.abdomen_half_width},
                      {"abdomen_half_depth", a.abdomen_half_depth},
                      {"subcutaneous_fat", a.subcutaneous_fat},
                      {"phase1", a.phase1},
                      {"phase2", a.phase2},
                      {"phase3", a.phase3}};
}

template <class T>
void get(const json& j, const char* key, T& out) {
  if (j.contains(key)) out = j.at(key).get<T>();
}

void anatomy_from(const json& j, Anatomy& a) {
  get(j, "body_height", a.body_height);
  get(j, "disc_height", a.disc_height);
  get(j, "body_half_width", a.body_half_width);
  get(j, "body_half_depth", a.body_half_depth);
  get(j, "cortex", a.cortex);
  get(j, "canal_half_width", a.canal_half_width);
  get(j, "canal_depth", a.canal_depth);
  get(j, "sac_half_width", a.sac_half_width);
  get(j, "sac_half_depth", a.sac_half_depth);
  get(j, "sac_offset", a.sac_offset);
  get(j, "root_radius", a.root_radius);
  get(j, "vein_radius", a.vein_radius);
  get(j, "vein_radius_var", a.vein_radius_var);
  get(j, "vein_offset", a.vein_offset);
  get(j, "vein_tortuosity", a.vein_tortuosity);
  get(j, "transverse_radius", a.transverse_radius);
  get(j, "draining_radius", a.draining_radius);
  get(j, "draining_side", a.draining_side);
  get(j, "lordosis", a.lordosis);
  get(j, "abdomen_half_width", a.abdomen_half_width);
  get(j, "abdomen_half_depth", a.abdomen_half_depth);
  get(j, "subcutaneous_fat", a.subcutaneous_fat);
  get(j, "phase1", a.phase1);
  get(j, "phase2", a.phase2);
  get(j, "phase3", a.phase3);
}

/// Portable uniform draws (std distributions differ between libraries).
struct Draw {
  std::mt19937_64 rng;
  explicit Draw(std::uint64_t seed) : rng(mix(seed ^ 0x6d7269766f6cULL)) {}
  double u() { return (static_cast<double>(rng() >> 11) + 0.5) * (1.0 / 9007199254740992.0); }
  double in(double lo, double hi) { return lo + (hi - lo) * u(); }
};

}  // namespace

std::string to_json(const Config& c) {
  ordered_json j{{"schema", "mrivol.phantom.config/1"},
                 {"seed", c.seed},
                 {"random_anatomy", c.random_anatomy},
                 {"contrast", c.contrast},
                 {"veins", c.veins},
                 {"acquisition", c.acquisition},
                 {"engorgement", c.engorgement},
                 {"motion_deg", c.motion_deg},
                 {"motion_mm", c.motion_mm},
                 {"recentre_mm", c.recentre_mm},
                 {"snr", c.snr},
                 {"bias", c.bias},
                 {"post_scale", c.post_scale},
                 {"tissue_jitter", c.tissue_jitter},
                 {"posture_deg", c.posture_deg},
                 {"supersample", c.supersample},
                 {"coarsen", c.coarsen},
                 {"slice_mm", c.slice_mm},
                 {"anatomy", anatomy_json(c.anatomy)}};
  return j.dump(2) + "\n";
}

Config config_from_json(const std::string& text, const std::string& origin) {
  Config c;
  try {
    const json j = json::parse(text);
    if (j.contains("preset")) c = preset(j.at("preset").get<std::string>());
    get(j, "seed", c.seed);
    get(j, "random_anatomy", c.random_anatomy);
    get(j, "contrast", c.contrast);
    get(j, "veins", c.veins);
    get(j, "acquisition", c.acquisition);
    get(j, "engorgement", c.engorgement);
    get(j, "motion_deg", c.motion_deg);
    get(j, "motion_mm", c.motion_mm);
    get(j, "recentre_mm", c.recentre_mm);
    get(j, "snr", c.snr);
    get(j, "bias", c.bias);
    get(j, "post_scale", c.post_scale);
    get(j, "tissue_jitter", c.tissue_jitter);
    get(j, "posture_deg", c.posture_deg);
    get(j, "supersample", c.supersample);
    get(j, "coarsen", c.coarsen);
    get(j, "slice_mm", c.slice_mm);
    if (j.contains("anatomy")) anatomy_from(j.at("anatomy"), c.anatomy);
  } catch (const json::exception& e) {
    throw InputError(origin, std::string("invalid phantom configuration (") + e.what() + ")");
  }
  validate(c);
  return c;
}

Config preset(const std::string& name) {
  Config c;
  if (name == "default" || name.empty()) return c;
  if (name == "case") {
    // The motivating case: T2 sagittal lumbar, large L4 foraminal draining
    // vein, clear engorgement after exercise.
    c.contrast = "t2";
    c.acquisition = "sag2d";
    c.engorgement = 1.2;
    c.anatomy.draining_radius = 3.2;
    c.anatomy.draining_side = 1;
    return c;
  }
  if (name == "null") {
    c.engorgement = 1.0;
    return c;
  }
  if (name == "small") {  // quick pairs for tests: sagittal 2D at 1.4 mm in-plane
    c.supersample = 2;
    c.coarsen = 2;
    return c;
  }
  std::ifstream f(name);
  if (!f) throw InputError(name, "no such preset (default, case, null, small) or preset file");
  std::stringstream s;
  s << f.rdbuf();
  return config_from_json(s.str(), name);
}

void validate(const Config& c) {
  auto bad = [](const std::string& what) { throw InputError("phantom configuration", what); };
  if (c.contrast != "t2" && c.contrast != "t1c") bad("contrast must be t2 or t1c, not '" + c.contrast + "'");
  if (c.veins != "dark" && c.veins != "bright") bad("veins must be dark or bright, not '" + c.veins + "'");
  if (c.acquisition != "sag2d" && c.acquisition != "ax2d" && c.acquisition != "iso3d")
    bad("acquisition must be sag2d, ax2d or iso3d, not '" + c.acquisition + "'");
  if (!(c.engorgement >= 0.5 && c.engorgement <= 2.0)) bad("engorgement must be in [0.5, 2]");
  if (!(c.motion_deg >= 0 && c.motion_deg <= 30)) bad("motion-deg must be in [0, 30]");
  if (!(c.motion_mm >= 0 && c.motion_mm <= 50)) bad("motion-mm must be in [0, 50]");
  if (!(c.recentre_mm >= 0 && c.recentre_mm <= 50)) bad("recentre-mm must be in [0, 50]");
  if (!(c.snr > 0 && c.snr <= 1e6)) bad("snr must be positive");
  if (!(c.bias >= 0 && c.bias <= 1)) bad("bias must be in [0, 1]");
  if (!(c.post_scale > 0 && c.post_scale <= 10)) bad("post-scale must be in (0, 10]");
  if (!(c.tissue_jitter >= 0 && c.tissue_jitter <= 0.3)) bad("tissue-jitter must be in [0, 0.3]");
  if (c.supersample < 1 || c.supersample > 8) bad("supersample must be in [1, 8]");
  if (c.coarsen < 1 || c.coarsen > 4) bad("coarsen must be in [1, 4]");
  if (!(c.slice_mm == 0 || (c.slice_mm >= 1 && c.slice_mm <= 10))) bad("slice-mm must be 0 or in [1, 10]");
  if (c.slice_mm != 0 && c.acquisition == "iso3d") bad("slice-mm applies to sag2d and ax2d only");
  if (!(c.posture_deg >= 0 && c.posture_deg <= 3)) bad("posture-deg must be in [0, 3]");
  if (!(c.anatomy.lordosis >= 0 && c.anatomy.lordosis <= 0.0016)) bad("lordosis must be in [0, 0.0016] 1/mm");
  const Anatomy& a = c.anatomy;
  if (!(a.vein_radius > 0.3 && a.vein_radius < 5)) bad("vein_radius must be in (0.3, 5) mm");
  if (a.vein_radius_var < 0 || a.vein_radius_var >= a.vein_radius)
    bad("vein_radius_var must be in [0, vein_radius)");
  if (a.sac_half_width >= a.canal_half_width || a.sac_offset + a.sac_half_depth >= a.canal_depth)
    bad("the thecal sac must fit inside the canal");
  for (double h : a.body_height)
    if (!(h > 10 && h < 50)) bad("body heights must be in (10, 50) mm");
  for (double h : a.disc_height)
    if (!(h > 2 && h < 20)) bad("disc heights must be in (2, 20) mm");
}

// ---------------------------------------------------------------- truth

namespace {

/// Integrates the plexus over the canal box by stratified sampling: one
/// point per fine-grid cell, placed at a hashed (deterministic) random
/// position inside the cell. Unbiased, unlike cell centres, which count
/// lattice points and err by a few percent on tubes aligned with the grid.
std::vector<double> plexus_counts(const Model& m, double h, unsigned threads, double& total) {
  Vec3 lo, hi;
  m.canal_box(lo, hi);
  const std::size_t nx = static_cast<std::size_t>(std::ceil((hi[0] - lo[0]) / h));
  const std::size_t ny = static_cast<std::size_t>(std::ceil((hi[1] - lo[1]) / h));
  const std::size_t nz = static_cast<std::size_t>(std::ceil((hi[2] - lo[2]) / h));
  std::vector<std::array<std::uint64_t, 6>> per_slab(nz);
  parallel_for(nz, threads, [&](std::size_t k) {
    std::array<std::uint64_t, 6> cnt{};
    for (std::size_t j = 0; j < ny; ++j) {
      for (std::size_t i = 0; i < nx; ++i) {
        // One hash per cell, 21 bits per coordinate.
        const std::uint64_t r = mix(0x5a17 ^ ((k * ny + j) * nx + i));
        constexpr double s = 1.0 / 2097152.0;
        const Vec3 b{lo[0] + (i + ((r & 0x1fffff) + 0.5) * s) * h,
                     lo[1] + (j + (((r >> 21) & 0x1fffff) + 0.5) * s) * h,
                     lo[2] + (k + (((r >> 42) & 0x1fffff) + 0.5) * s) * h};
        if (m.plexus(b)) {
          const int lev = m.level_of(m.local(b).t);
          ++cnt[lev >= 0 ? lev : 5];
        }
      }
    }
    per_slab[k] = cnt;
  });
  std::vector<double> levels(6, 0.0);
  for (const auto& c : per_slab)
    for (int l = 0; l < 6; ++l) levels[l] += static_cast<double>(c[l]) * h * h * h;
  total = 0;
  for (double v : levels) total += v;
  return levels;
}

double sac_area(const Model& m, const Anatomy& a, double t, double h) {
  const double c = a.body_half_depth + a.sac_offset;
  std::uint64_t n = 0, cell = 0;  // stratified, as for the volumes
  for (double v = c - a.sac_half_depth; v < c + a.sac_half_depth; v += h)
    for (double u = -a.sac_half_width; u < a.sac_half_width; u += h, ++cell)
      n += m.sac_local({u + h * uniform01(0x5ac, 2 * cell), v + h * uniform01(0x5ac, 2 * cell + 1), t});
  return static_cast<double>(n) * h * h;
}

std::array<double, 9> rotation(const Vec3& axis, double deg) {
  const double th = deg * kPi / 180, c = std::cos(th), s = std::sin(th), C = 1 - c;
  const double x = axis[0], y = axis[1], z = axis[2];
  return {c + x * x * C,     x * y * C - z * s, x * z * C + y * s, y * x * C + z * s, c + y * y * C,
          y * z * C - x * s, z * x * C - y * s, z * y * C + x * s, c + z * z * C};
}

Vec3 random_unit(Draw& d) {
  const double z = d.in(-1, 1), phi = d.in(0, 2 * kPi), r = std::sqrt(1 - z * z);
  return {r * std::cos(phi), r * std::sin(phi), z};
}

Geometry session_grid(const Config& c, const Vec3& centre) {
  Geometry g;
  if (c.acquisition == "sag2d") {
    g.size = {384, 384, 17};
    g.spacing = {0.7, 0.7, 3.5};
    g.direction = {0, 0, -1, 1, 0, 0, 0, -1, 0};  // rows A->P, columns S->I, slices R<-L
  } else if (c.acquisition == "ax2d") {
    g.size = {288, 288, 48};
    g.spacing = {0.7, 0.7, 4.0};
    g.direction = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  } else {
    g.size = {256, 256, 80};
    g.spacing = {1.0, 1.0, 1.0};
    g.direction = {0, 0, -1, 1, 0, 0, 0, -1, 0};
  }
  if (c.slice_mm > 0 && c.acquisition != "iso3d") {
    const double extent = g.size[2] * g.spacing[2];
    g.size[2] = static_cast<std::size_t>(std::lround(extent / c.slice_mm));
    g.spacing[2] = c.slice_mm;
  }
  const int n = std::max(1, c.coarsen);
  for (int a = 0; a < (c.acquisition == "iso3d" ? 3 : 2); ++a) {
    g.size[a] = (g.size[a] + n - 1) / n;
    g.spacing[a] *= n;
  }
  // Origin so that the grid's centre sits on `centre`.
  const Vec3 half = g.index_to_point((g.size[0] - 1) / 2.0, (g.size[1] - 1) / 2.0, (g.size[2] - 1) / 2.0);
  for (int i = 0; i < 3; ++i) g.origin[i] = centre[i] - (half[i] - g.origin[i]);
  return g;
}

/// Post-session anatomy: the lordotic curve changes by posture_deg per level
/// (a level is about 37 mm of spine: d(slope) = 2 dk * 37 mm).
Anatomy post_anatomy(const Config& c) {
  Anatomy a = c.anatomy;
  a.lordosis += std::tan(c.posture_deg * kPi / 180) / (2 * 37.0);
  return a;
}

}  // namespace

Vec3 map_pre_to_post(const Pair& p, const Vec3& b) {
  Vec3 q = b;
  if (p.config.posture_deg > 0) {
    const Model pre(p.config.anatomy, 1.0), post(post_anatomy(p.config), 1.0);
    q = post.body(pre.local(b));
  }
  const auto& M = p.truth.pre_to_post;
  return {M[0] * q[0] + M[1] * q[1] + M[2] * q[2] + M[3], M[4] * q[0] + M[5] * q[1] + M[6] * q[2] + M[7],
          M[8] * q[0] + M[9] * q[1] + M[10] * q[2] + M[11]};
}

double plexus_volume(const Config& c, double radius_scale, double grid_mm, unsigned threads) {
  const Model m(c.anatomy, radius_scale);
  double total = 0;
  plexus_counts(m, grid_mm, threads, total);
  return total;
}

Pair generate(const Config& in, unsigned threads, Reporter& rep) {
  validate(in);
  Pair p;
  p.config = in;
  Config& c = p.config;
  Draw d(c.seed);
  if (c.random_anatomy) {
    Anatomy& a = c.anatomy;
    a.vein_radius = d.in(1.5, 2.5);
    a.vein_radius_var = d.in(0.15, 0.45);
    a.vein_offset = d.in(6.5, 8.5);
    a.vein_tortuosity = d.in(0.4, 1.5);
    a.transverse_radius = d.in(0.9, 1.4);
    a.draining_radius = d.in(2.2, 3.2);
    a.draining_side = d.u() < 0.5 ? -1 : 1;
    a.sac_half_width = d.in(7.5, 9.5);
    a.sac_half_depth = d.in(6.2, 7.4);
    a.lordosis = d.in(0.0008, 0.0016);
    a.phase1 = d.in(0, 2 * kPi);
    a.phase2 = d.in(0, 2 * kPi);
    a.phase3 = d.in(0, 2 * kPi);
    c.engorgement = d.in(1.025, 1.20);  // about 5 to 45 % volume change
    validate(c);
  }
  // Motion: rotation about a random axis through the spine centre, then a
  // translation in a random direction; the post field of view is re-centred
  // on the moved spine with a small error.
  const Model pre_model(c.anatomy, 1.0);
  const double tmid = 0.5 * (pre_model.plexus_top() + pre_model.plexus_bottom());
  const Vec3 centre = pre_model.body({0, c.anatomy.body_half_depth + 5, tmid});
  const Vec3 axis = random_unit(d), dir = random_unit(d), rc = random_unit(d);
  const auto R = rotation(axis, c.motion_deg);
  std::array<double, 16> M{};
  for (int r = 0; r < 3; ++r) {
    double t = centre[r] + c.motion_mm * dir[r];
    for (int k = 0; k < 3; ++k) {
      M[4 * r + k] = R[3 * r + k];
      t -= R[3 * r + k] * centre[k];
    }
    M[4 * r + 3] = t;
  }
  M[15] = 1;
  std::array<double, 16> Minv{};  // rigid inverse: R^T, -R^T t
  for (int r = 0; r < 3; ++r) {
    double t = 0;
    for (int k = 0; k < 3; ++k) {
      Minv[4 * r + k] = M[4 * k + r];
      t -= M[4 * k + r] * M[4 * k + 3];
    }
    Minv[4 * r + 3] = t;
  }
  Minv[15] = 1;
  p.truth.pre_to_post = M;
  p.truth.rotation_deg = c.motion_deg;
  p.truth.translation_mm = c.motion_mm;
  p.truth.non_rigid = c.posture_deg > 0;

  SessionSpec pre, post;
  pre.grid = session_grid(c, centre);
  pre.body_from_world = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
  Vec3 moved{};
  for (int r = 0; r < 3; ++r)
    moved[r] = M[4 * r] * centre[0] + M[4 * r + 1] * centre[1] + M[4 * r + 2] * centre[2] + M[4 * r + 3] +
               c.recentre_mm * rc[r];
  post.grid = session_grid(c, moved);
  post.body_from_world = Minv;
  post.radius_scale = c.engorgement;
  post.anatomy = post_anatomy(c);
  pre.anatomy = c.anatomy;
  post.scale = c.post_scale;
  post.fat_gain = 1 + d.in(-c.tissue_jitter, c.tissue_jitter);
  post.muscle_gain = 1 + d.in(-c.tissue_jitter, c.tissue_jitter);
  for (auto* s : {&pre, &post}) {
    for (auto& ph : s->bias_phase) ph = d.in(0, 2 * kPi);
    s->noise_key = mix(c.seed * 2 + (s == &post));
    s->thick_slices = c.acquisition != "iso3d";
  }
  render(c, pre, p.pre, threads, rep, "pre");
  render(c, post, p.post, threads, rep, "post");

  // Truth on a fine grid (0.2 mm, 10 points across a 2 mm vein radius; the
  // midpoint rule on smooth surfaces is far more accurate than 1 %): volumes
  // are rigid-motion invariant, so both sessions are integrated in body
  // coordinates.
  const double h = 0.2;
  double vpre = 0, vpost = 0;
  const Model post_model(post_anatomy(c), c.engorgement);
  const auto lpre = plexus_counts(pre_model, h, threads, vpre);
  const auto lpost = plexus_counts(post_model, h, threads, vpost);
  p.truth.grid_mm = h;
  p.truth.pre_mm3 = vpre;
  p.truth.post_mm3 = vpost;
  p.truth.percent_change = vpre > 0 ? 100.0 * (vpost - vpre) / vpre : 0.0;
  static const char* names[5] = {"L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"};
  for (int l = 0; l < 5; ++l) {
    LevelTruth lt;
    lt.name = names[l];
    lt.pre_mm3 = lpre[l];
    lt.post_mm3 = lpost[l];
    const double t = pre_model.disc_centres()[l + 1];
    lt.sac_area_pre_mm2 = sac_area(pre_model, c.anatomy, t, 0.05);
    lt.sac_area_post_mm2 = sac_area(post_model, c.anatomy, t, 0.05);
    lt.disc_centre_lps = pre_model.body({0, 0, t});
    p.truth.levels.push_back(lt);
  }
  if (p.truth.non_rigid) {
    // The exact mapping as a displacement field on the pre grid.
    Volume& dv = p.displacement;
    dv.geom = p.pre.image.geom;
    dv.timepoints = 3;
    const std::size_t n = dv.geom.voxels();
    dv.data.resize(3 * n);
    const Model pm(c.anatomy, 1.0), qm(post_anatomy(c), 1.0);
    parallel_for(dv.geom.size[2], threads, [&](std::size_t k) {
      for (std::size_t j = 0; j < dv.geom.size[1]; ++j)
        for (std::size_t i = 0; i < dv.geom.size[0]; ++i) {
          const Vec3 b = dv.geom.index_to_point(i, j, k);
          const Vec3 q = qm.body(pm.local(b));
          const std::size_t idx = (k * dv.geom.size[1] + j) * dv.geom.size[0] + i;
          for (int r = 0; r < 3; ++r)
            dv.data[r * n + idx] = static_cast<float>(M[4 * r] * q[0] + M[4 * r + 1] * q[1] +
                                                      M[4 * r + 2] * q[2] + M[4 * r + 3] - b[r]);
        }
    });
  }
  return p;
}

}  // namespace phantom
}  // namespace mrivol
