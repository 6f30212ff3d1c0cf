// Plexus segmentation on phantom scans with known truth. The segmentation
// never sees the truth: it gets the image (and the acquisition metadata a
// scanner would write); the truth is only used to score the result.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "mrivol/core/error.hpp"
#include "mrivol/phantom/phantom.hpp"
#include "mrivol/segment/segment.hpp"

using namespace mrivol;

namespace {

phantom::Pair make_pair(const std::string& contrast, const std::string& veins, const std::string& acquisition,
                        std::uint64_t seed) {
  phantom::Config c = phantom::preset("default");
  c.contrast = contrast;
  c.veins = veins;
  c.acquisition = acquisition;
  c.seed = seed;
  return phantom::generate(c, 2);
}

double dice(const Volume& mask, const Volume& truth_fraction) {
  double inter = 0, a = 0, b = 0;
  for (std::size_t i = 0; i < mask.geom.voxels(); ++i) {
    const bool x = mask.data[i] > 0.5f, y = truth_fraction.data[i] >= 0.5f;
    inter += x && y;
    a += x;
    b += y;
  }
  return 2 * inter / (a + b);
}

struct Scores {
  double dice, error_pct, volume;
};

Scores score(const segment::Result& r, const phantom::Session& s, double truth_mm3) {
  return {dice(r.plexus, s.plexus), 100 * (r.volume_soft_mm3 - truth_mm3) / truth_mm3, r.volume_soft_mm3};
}

// Both sessions of a pair: Dice, soft-volume error and the change ratio.
void check_pair(const phantom::Pair& p, double min_dice, double max_error_pct, bool check_ratio = true) {
  // In-process images carry no acquisition metadata: the contrast is given,
  // as a user gives --contrast for a NIfTI without its sidecar.
  segment::Options o;
  o.contrast = p.config.contrast;
  const auto pre = segment::segment(p.pre.image, o);
  const auto post = segment::segment(p.post.image, o);
  const Scores a = score(pre, p.pre, p.truth.pre_mm3), b = score(post, p.post, p.truth.post_mm3);
  std::printf("dice %.4f %.4f, soft volume error %+.2f%% %+.2f%%\n", a.dice, b.dice, a.error_pct,
              b.error_pct);
  EXPECT_GE(a.dice, min_dice) << "pre";
  EXPECT_GE(b.dice, min_dice) << "post";
  EXPECT_LE(std::fabs(a.error_pct), max_error_pct) << "pre " << a.volume << " vs " << p.truth.pre_mm3;
  EXPECT_LE(std::fabs(b.error_pct), max_error_pct) << "post " << b.volume << " vs " << p.truth.post_mm3;
  // Engorged / not engorged: the measured ratio within 3 percentage points.
  const double measured = 100 * b.volume / a.volume, truth = 100 * p.truth.post_mm3 / p.truth.pre_mm3;
  std::printf("post/pre %.2f %% (truth %.2f %%)\n", measured, truth);
  if (check_ratio) {
    EXPECT_NEAR(measured, truth, 3.0);
  }
  // All five levels found and named right: each level's volume within 15 %
  // of the truth (the limits are vertebral centres found from the discs),
  // the dural sac area at each disc within 10 %.
  ASSERT_TRUE(pre.levels_found);
  for (std::size_t l = 0; l < 5; ++l) {
    const auto& m = pre.level_results[l];
    const auto& t = p.truth.levels[l];
    EXPECT_TRUE(m.present) << t.name;
    EXPECT_EQ(m.name, t.name);
    EXPECT_NEAR(m.volume_soft_mm3, t.pre_mm3, 0.15 * t.pre_mm3) << t.name;
    EXPECT_NEAR(m.sac_area_mm2, t.sac_area_pre_mm2, 0.10 * t.sac_area_pre_mm2) << t.name;
    // The disc's plane crosses the canal within 4 mm (along S-I) of the
    // true disc centre (which lies on the spine axis, in front of the canal).
    EXPECT_NEAR(m.disc_point[2], t.disc_centre_lps[2], 4.0) << t.name;
  }
}

TEST(SegmentAccuracy, T2DarkVeins3D) {
  const auto p = make_pair("t2", "dark", "iso3d", 3);
  check_pair(p, 0.85, 5.0);
}

TEST(SegmentAccuracy, ContrastEnhancedT1_3D) {
  const auto p = make_pair("t1c", "dark", "iso3d", 4);
  check_pair(p, 0.85, 5.0);
}

// Slow-flow (bright) veins on T2 lie between fat and CSF in brightness, as
// does the sac's wall: the sac is modelled and what it does not explain is
// vein. The goals: Dice 0.85, soft volume within 5 %, ratio within
// 3 points (the default anatomy; see the README for random anatomies).
TEST(SegmentAccuracy, T2BrightVeins3D) {
  const auto p = make_pair("t2", "bright", "iso3d", 3);
  segment::Options o;
  o.contrast = "t2";
  double vol[2] = {0, 0};
  for (const phantom::Session* s : {&p.pre, &p.post}) {
    const auto r = segment::segment(s->image, o);
    EXPECT_EQ(r.veins, "bright") << r.veins_source;
    const double truth = s == &p.pre ? p.truth.pre_mm3 : p.truth.post_mm3;
    const Scores sc = score(r, *s, truth);
    std::printf("bright: dice %.4f, soft volume error %+.2f%%\n", sc.dice, sc.error_pct);
    EXPECT_GE(sc.dice, 0.85);
    EXPECT_LE(std::fabs(sc.error_pct), 5.0);
    vol[s == &p.pre ? 0 : 1] = sc.volume;
  }
  const double measured = 100 * vol[1] / vol[0], truth = 100 * p.truth.post_mm3 / p.truth.pre_mm3;
  std::printf("bright: post/pre %.2f %% (truth %.2f %%)\n", measured, truth);
  EXPECT_NEAR(measured, truth, 3.0);
}

TEST(SegmentAccuracy, T2DarkVeinsSagittal2D) {
  const auto p = make_pair("t2", "dark", "sag2d", 5);
  // Thick slices: the ratio is not asserted here (see the README's limits).
  check_pair(p, 0.75, 8.0, false);
}

TEST(SegmentBehaviour, DeterministicWhateverTheThreadCountAndRegionOptionsAgree) {
  const auto p = make_pair("t2", "dark", "iso3d", 6);
  segment::Options one, two;
  one.contrast = two.contrast = "t2";
  one.threads = 1;
  two.threads = 2;
  const auto a = segment::segment(p.pre.image, one), b = segment::segment(p.pre.image, two);
  EXPECT_EQ(a.volume_mm3, b.volume_mm3);
  EXPECT_NEAR(a.volume_soft_mm3, b.volume_soft_mm3, 1e-6 * a.volume_soft_mm3);
  for (std::size_t i = 0; i < a.plexus.geom.voxels(); ++i) ASSERT_EQ(a.plexus.data[i], b.plexus.data[i]);

  // --levels restricts the measurement to the levels named.
  segment::Options lower = two;
  lower.levels = "L3-S1";
  const auto c = segment::segment(p.pre.image, lower);
  double sum = 0;
  for (std::size_t l = 2; l < 5; ++l) sum += a.level_results[l].volume_soft_mm3;
  EXPECT_NEAR(c.volume_soft_mm3, sum, 1e-6 * sum);
  EXPECT_FALSE(c.level_results[0].present);

  // A user canal (here: the automatic one, written back as a mask) gives
  // the same plexus; seeds in the sac give the same canal.
  segment::Options user = two;
  user.region.mask = a.canal;
  const auto d = segment::segment(p.pre.image, user);
  EXPECT_EQ(d.region_source, "mask");
  EXPECT_NEAR(d.volume_soft_mm3, a.volume_soft_mm3, 0.02 * a.volume_soft_mm3);
  segment::Options seeds = two;
  seeds.region.seeds = {a.centreline[a.centreline.size() / 3], a.centreline[2 * a.centreline.size() / 3]};
  const auto e = segment::segment(p.pre.image, seeds);
  EXPECT_NEAR(e.volume_soft_mm3, a.volume_soft_mm3, 0.03 * a.volume_soft_mm3);

  // Measuring the segmentation's own soft map gives its numbers back.
  const auto m = segment::measure(a.plexus_soft, &p.pre.image, two);
  EXPECT_NEAR(m.volume_soft_mm3, a.volume_soft_mm3, 1e-3 * a.volume_soft_mm3);
  for (std::size_t l = 0; l < 5; ++l)
    EXPECT_NEAR(m.level_results[l].volume_soft_mm3, a.level_results[l].volume_soft_mm3,
                1e-3 * a.volume_soft_mm3);
}

TEST(SegmentBehaviour, MeasureCountsLabelsAndFractionsExactly) {
  Volume mask;
  mask.geom.size = {20, 10, 5};
  mask.geom.spacing = {0.5, 2.0, 3.0};
  mask.data.assign(mask.geom.voxels(), 0.0f);
  for (std::size_t i = 0; i < 37; ++i) mask.data[i * 13 % mask.data.size()] = 3.0f;  // a label value
  const auto r = segment::measure(mask, nullptr, {});
  EXPECT_DOUBLE_EQ(r.volume_mm3, 37 * 3.0);
  EXPECT_DOUBLE_EQ(r.volume_soft_mm3, 37 * 3.0);
  EXPECT_FALSE(r.levels_found);
  mask.data.assign(mask.geom.voxels(), 0.25f);  // fractions
  const auto f = segment::measure(mask, nullptr, {});
  EXPECT_NEAR(f.volume_soft_mm3, 0.25 * 1000 * 3.0, 1e-6);
  EXPECT_DOUBLE_EQ(f.volume_mm3, 0.0);
}

TEST(SegmentBehaviour, LevelSpansParse) {
  EXPECT_EQ(segment::parse_levels("all"), std::make_pair(0, 4));
  EXPECT_EQ(segment::parse_levels("L3-S1"), std::make_pair(2, 4));
  EXPECT_EQ(segment::parse_levels("L1-L2"), std::make_pair(0, 0));
  EXPECT_EQ(segment::parse_levels("L2-L5"), std::make_pair(1, 3));
  EXPECT_THROW(segment::parse_levels("S1-L3"), UsageError);
  EXPECT_THROW(segment::parse_levels("L6-S1"), UsageError);
  EXPECT_THROW(segment::parse_levels("L3"), UsageError);
}

TEST(SegmentBehaviour, NoSpineIsAQualityFailure) {
  // Smooth noise with no tube in it: refused with exit code 5, not a guess.
  Volume v;
  v.geom.size = {96, 96, 60};
  v.geom.spacing = {2, 2, 2};
  v.data.assign(v.geom.voxels(), 0.0f);
  std::uint64_t s = 7;
  for (auto& x : v.data) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = 400.0f + static_cast<float>((s >> 40) % 100);
  }
  segment::Options o;
  o.contrast = "t2";
  try {
    segment::segment(v, o);
    FAIL() << "expected a quality error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::registration);
  }
}

}  // namespace
