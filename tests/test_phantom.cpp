// The phantom: truth against analytic and independent estimates, round trip
// through the DICOM loader, determinism, the motion convention.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "mrivol/core/error.hpp"
#include "mrivol/dicom/series.hpp"
#include "mrivol/io/image.hpp"
#include "mrivol/phantom/phantom.hpp"
#include "phantom/anatomy.hpp"
#include "phantom/render.hpp"
#include "test_support.hpp"

using namespace mrivol;
namespace fs = std::filesystem;

namespace {

constexpr double kPi = 3.14159265358979323846;

phantom::Config quick() {
  phantom::Config c = phantom::preset("small");
  c.seed = 11;
  return c;
}

/// One generated pair shared by the tests of this file (generation is the slow part).
const phantom::Pair& pair() {
  static const phantom::Pair p = phantom::generate(quick(), 2);
  return p;
}

TEST(PhantomTruth, StraightTubesMatchTheAnalyticVolume) {
  // Two straight channels of constant radius, nothing else: V = 2 pi r^2 L.
  phantom::Config c;
  auto& a = c.anatomy;
  a.vein_tortuosity = 0;
  a.vein_radius_var = 0;
  a.transverse_radius = 0;
  a.draining_radius = 0;
  a.lordosis = 0;
  const phantom::Model m(a, 1.0);
  const double length = m.plexus_top() - m.plexus_bottom();
  for (double f : {1.0, 1.2}) {
    const double r = a.vein_radius * f;
    const double analytic = 2 * kPi * r * r * length;
    const double grid = phantom::plexus_volume(c, f, 0.2, 2);
    EXPECT_NEAR(grid, analytic, 0.01 * analytic) << "radius scale " << f;
  }
}

TEST(PhantomTruth, MonteCarloAgreesWithTheFineGrid) {
  // An independent estimate of the full plexus (tortuous channels,
  // transverse connections, draining vein, lordosis): uniform random points
  // in the canal box. 4e6 points give a standard error of about 0.3 %.
  phantom::Config c;
  const phantom::Model m(c.anatomy, c.engorgement);
  Vec3 lo, hi;
  m.canal_box(lo, hi);
  const std::uint64_t n = 4000000;
  std::uint64_t inside = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    const Vec3 p{lo[0] + (hi[0] - lo[0]) * phantom::uniform01(99, 3 * i),
                 lo[1] + (hi[1] - lo[1]) * phantom::uniform01(99, 3 * i + 1),
                 lo[2] + (hi[2] - lo[2]) * phantom::uniform01(99, 3 * i + 2)};
    inside += m.plexus(p);
  }
  const double box = (hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2]);
  const double mc = box * static_cast<double>(inside) / static_cast<double>(n);
  const double grid = phantom::plexus_volume(c, c.engorgement, 0.2, 2);
  EXPECT_NEAR(grid, mc, 0.01 * mc);
}

TEST(PhantomTruth, NullPairHasExactlyZeroChange) {
  phantom::Config c = quick();
  c.engorgement = 1.0;
  c.supersample = 1;
  const phantom::Pair p = phantom::generate(c, 2);
  EXPECT_EQ(p.truth.pre_mm3, p.truth.post_mm3);
  EXPECT_EQ(p.truth.percent_change, 0.0);
  for (const auto& l : p.truth.levels) EXPECT_EQ(l.pre_mm3, l.post_mm3);
}

TEST(PhantomTruth, EngorgementGrowsThePlexusAndIndentsTheSac) {
  const auto& t = pair().truth;
  EXPECT_GT(t.percent_change, 5.0);
  EXPECT_LT(t.percent_change, 45.0);
  double sum = 0;
  for (const auto& l : t.levels) {
    sum += l.pre_mm3;
    EXPECT_GT(l.post_mm3, l.pre_mm3) << l.name;
    EXPECT_LE(l.sac_area_post_mm2, l.sac_area_pre_mm2) << l.name;
    EXPECT_GT(l.sac_area_pre_mm2, 120.0) << l.name;  // adult lumbar dural sac: ~150-200 mm^2
    EXPECT_LT(l.sac_area_pre_mm2, 250.0) << l.name;
  }
  EXPECT_NEAR(sum, t.pre_mm3, 1e-6 * t.pre_mm3) << "levels must sum to the total";
  bool some_indent = false;
  for (const auto& l : t.levels) some_indent = some_indent || l.sac_area_post_mm2 < l.sac_area_pre_mm2 - 1.0;
  EXPECT_TRUE(some_indent);
}

TEST(PhantomTruth, RandomDrawsCoverTheRealisticRange) {
  double lo = 1e9, hi = -1e9;
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    phantom::Config c;
    c.seed = seed;
    c.random_anatomy = true;
    // Draws happen in generate(); replicate them through a tiny pair.
    c.coarsen = 4;
    c.supersample = 1;
    c.acquisition = "sag2d";
    const auto p = phantom::generate(c, 2);
    lo = std::min(lo, p.truth.percent_change);
    hi = std::max(hi, p.truth.percent_change);
  }
  EXPECT_GT(lo, 3.0);
  EXPECT_LT(hi, 50.0);
  EXPECT_GT(hi - lo, 15.0) << "draws should spread over the 5-45 % range";
}

TEST(PhantomImage, DeterministicWhateverTheThreadCount) {
  phantom::Config c = quick();
  c.supersample = 1;
  const auto a = phantom::generate(c, 1);
  const auto b = phantom::generate(c, 2);
  EXPECT_EQ(a.pre.image.data, b.pre.image.data);
  EXPECT_EQ(a.post.image.data, b.post.image.data);
  EXPECT_EQ(a.truth.post_mm3, b.truth.post_mm3);
}

TEST(PhantomImage, FractionMapsAgreeWithTheTruthVolume) {
  const auto& p = pair();
  for (const phantom::Session* s : {&p.pre, &p.post}) {
    const auto& g = s->plexus.geom;
    double sum = 0;
    for (float x : s->plexus.data) sum += x;
    const double v = sum * g.spacing[0] * g.spacing[1] * g.spacing[2];
    const double truth = s == &p.pre ? p.truth.pre_mm3 : p.truth.post_mm3;
    // Supersampling 2x2x(slice) samples per voxel: a few percent.
    EXPECT_NEAR(v, truth, 0.05 * truth);
  }
}

TEST(PhantomImage, MotionMatrixMapsPreAnatomyOntoPost) {
  // Canal points of the pre scan, mapped by the truth matrix, must fall in
  // the canal of the post scan (the transform convention of the toolkit).
  const auto& p = pair();
  const auto& M = p.truth.pre_to_post;
  int checked = 0, hits = 0;
  for (const auto& l : p.truth.levels) {
    const Vec3 c = l.disc_centre_lps;
    const Vec3 in_canal{c[0], c[1] + p.config.anatomy.body_half_depth + 9, c[2]};
    const Vec3 q{M[0] * in_canal[0] + M[1] * in_canal[1] + M[2] * in_canal[2] + M[3],
                 M[4] * in_canal[0] + M[5] * in_canal[1] + M[6] * in_canal[2] + M[7],
                 M[8] * in_canal[0] + M[9] * in_canal[1] + M[10] * in_canal[2] + M[11]};
    auto value = [](const Volume& v, const Vec3& pt) {
      const Vec3 i = v.geom.point_to_index(pt);
      return v.at(std::lround(i[0]), std::lround(i[1]), std::lround(i[2]));
    };
    ++checked;
    hits += value(p.pre.canal, in_canal) > 0.5f && value(p.post.canal, q) > 0.5f;
  }
  EXPECT_EQ(hits, checked);
  // And the post grid is not simply the pre grid: the anatomy moved.
  double moved = 0;
  for (int r = 0; r < 3; ++r) moved += std::fabs(M[4 * r + 3]);
  EXPECT_GT(moved, 0.5);
}

TEST(PhantomImage, PostureChangeIsNonRigidAndItsFieldIsExact) {
  phantom::Config c = quick();
  c.supersample = 1;
  c.posture_deg = 1.5;
  const phantom::Pair p = phantom::generate(c, 2);
  ASSERT_TRUE(p.truth.non_rigid);
  ASSERT_EQ(p.displacement.timepoints, 3u);
  const auto& M = p.truth.pre_to_post;
  double worst_rigid = 0;
  int hits = 0, checked = 0;
  for (const auto& l : p.truth.levels) {
    const Vec3 c0 = l.disc_centre_lps;
    const Vec3 pt{c0[0], c0[1] + p.config.anatomy.body_half_depth + 9, c0[2]};  // in the thecal sac
    const Vec3 q = phantom::map_pre_to_post(p, pt);
    const Vec3 r{M[0] * pt[0] + M[1] * pt[1] + M[2] * pt[2] + M[3],
                 M[4] * pt[0] + M[5] * pt[1] + M[6] * pt[2] + M[7],
                 M[8] * pt[0] + M[9] * pt[1] + M[10] * pt[2] + M[11]};
    worst_rigid = std::max(worst_rigid, norm({q[0] - r[0], q[1] - r[1], q[2] - r[2]}));
    const Vec3 iq = p.post.sac.geom.point_to_index(q);
    ++checked;
    hits += p.post.sac.at(std::lround(iq[0]), std::lround(iq[1]), std::lround(iq[2])) > 0.5f;
  }
  EXPECT_EQ(hits, checked) << "sac points must map into the post sac";
  EXPECT_GT(worst_rigid, 0.3) << "the posture change should move the canal beyond the rigid part";
  EXPECT_LT(worst_rigid, 10.0);
  // The written field equals the mapping at voxel centres (float storage).
  mrivol_test::TempDir d("posture_field");
  phantom::WriteOptions wo;
  wo.previews = false;
  phantom::write_pair(p, d / "pair", wo);
  const Volume f = io::read_image(d / "pair/truth/displacement_pre_to_post.nii.gz");
  ASSERT_EQ(f.timepoints, 3u);
  const auto& g = f.geom;
  for (std::size_t k = 0; k < g.size[2]; k += 4)
    for (std::size_t j = 0; j < g.size[1]; j += 37)
      for (std::size_t i = 0; i < g.size[0]; i += 41) {
        const Vec3 b = g.index_to_point(i, j, k);
        const Vec3 q = phantom::map_pre_to_post(p, b);
        for (int a = 0; a < 3; ++a)
          ASSERT_NEAR(f.at(i, j, k, a), q[a] - b[a], 1e-3) << i << "," << j << "," << k;
      }
}

TEST(PhantomFiles, RoundTripThroughTheLoader) {
  mrivol_test::TempDir d("phantom_rt");
  const std::string out = d / "pair";
  phantom::WriteOptions wo;
  phantom::write_pair(pair(), out, wo);
  for (const char* who : {"pre", "post"}) {
    const Volume& ref = std::string(who) == "pre" ? pair().pre.image : pair().post.image;
    const auto scan = dicom::scan(out + "/" + who);
    ASSERT_EQ(scan.series.size(), 1u) << who;
    const Volume v = dicom::load(scan.series[0]);
    ASSERT_EQ(v.geom.size, ref.geom.size);
    for (int i = 0; i < 3; ++i) {
      EXPECT_NEAR(v.geom.origin[i], ref.geom.origin[i], 1e-3);
      EXPECT_NEAR(v.geom.spacing[i], ref.geom.spacing[i], 1e-6);
    }
    for (int i = 0; i < 9; ++i) EXPECT_NEAR(v.geom.direction[i], ref.geom.direction[i], 1e-6);
    EXPECT_EQ(v.data, ref.data) << who;
    EXPECT_EQ(v.meta.acq.body_part, "LSPINE");
    // File names are not in slice order.
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(out + "/" + who))
      names.push_back(e.path().filename().string());
    EXPECT_EQ(names.size(), ref.geom.size[2]);
  }
  // Truth masks on each session's own grid.
  const Volume m = io::read_image(out + "/truth/post_plexus.nii.gz");
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(m.geom.origin[i], pair().post.image.geom.origin[i], 1e-3);
  std::ifstream f(out + "/truth/truth.json");
  const auto j = nlohmann::json::parse(f);
  EXPECT_EQ(j["schema"], "mrivol.phantom.truth/1");
  EXPECT_EQ(j["levels"].size(), 5u);
  EXPECT_DOUBLE_EQ(j["plexus_volume_mm3"]["pre"].get<double>(), pair().truth.pre_mm3);
  EXPECT_TRUE(fs::exists(out + "/truth/pre_sagittal.png"));
  // Both sessions: same patient and frame of reference, different studies.
  const auto a = dicom::scan(out + "/pre"), b = dicom::scan(out + "/post");
  const Volume va = dicom::load(a.series[0]), vb = dicom::load(b.series[0]);
  EXPECT_EQ(va.meta.acq.frame_of_reference_uid, vb.meta.acq.frame_of_reference_uid);
  EXPECT_NE(va.meta.acq.study_uid, vb.meta.acq.study_uid);
  EXPECT_EQ(va.meta.patient.id, vb.meta.patient.id);
  // No half-written folder, and an existing one is kept without overwrite.
  EXPECT_THROW(phantom::write_pair(pair(), out, wo), Error);
  EXPECT_TRUE(fs::exists(out + "/truth/truth.json"));
  for (const auto& e : fs::directory_iterator(d.str()))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos);
}

TEST(PhantomConfig, CommittedPresetsMatchTheBuiltIns) {
  // test_data/phantom/*.json are the built-in presets as editable files
  // (mrivol-phantom --preset test_data/phantom/case.json == --preset case).
  for (const char* name : {"default", "case", "null", "small"}) {
    const std::string file = std::string(MRIVOL_SOURCE_DIR) + "/test_data/phantom/" + name + ".json";
    EXPECT_EQ(mrivol_test::slurp(file), phantom::to_json(phantom::preset(name))) << file;
    EXPECT_EQ(phantom::to_json(phantom::preset(file)), phantom::to_json(phantom::preset(name))) << file;
  }
}

TEST(PhantomConfig, JsonRoundTripAndValidation) {
  phantom::Config c = phantom::preset("case");
  c.seed = 42;
  c.anatomy.vein_radius = 1.7;
  const phantom::Config back = phantom::config_from_json(phantom::to_json(c));
  EXPECT_EQ(phantom::to_json(back), phantom::to_json(c));
  phantom::Config bad = c;
  bad.engorgement = 7;
  EXPECT_THROW(phantom::validate(bad), InputError);
  EXPECT_THROW(phantom::config_from_json("{not json"), InputError);
  EXPECT_THROW(phantom::preset("no-such-preset"), InputError);
}

}  // namespace
