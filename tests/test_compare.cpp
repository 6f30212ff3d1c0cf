// The whole comparison on a matrix of phantom pairs with a known change
// (issue 6): both contrasts and both T2 vein appearances, the three
// acquisitions, motions up to 6 deg / 12 mm, the non-rigid posture change,
// session contrast changes, SNR down to 12, true changes from 0 to about
// 45 %. The comparison never reads the truth; in-process images carry no
// metadata, so the contrast is given (as --contrast would be for NIfTI).
//
// Each pair states the limit (3 points for 3D, 5 for 2D, |change|
// <= 2 % for null pairs) and the bound the test holds. They differ only
// where the limit is not reached yet (README, mrivol-compare accuracy): the
// test then holds what is measured, so that a regression shows, and prints
// both.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "mrivol/compare/compare.hpp"
#include "mrivol/phantom/phantom.hpp"

using namespace mrivol;

namespace {

struct Case {
  std::string name, preset, contrast, veins, acquisition;
  double motion_deg, motion_mm;
  std::uint64_t seed;
  double snr = 25, posture_deg = 0, engorgement = 0;  ///< engorgement 0 = the preset's
  double tissue_jitter = -1, post_scale = -1;         ///< -1 = the preset's
  double limit = 3;                                   ///< the issue's limit (points)
  double held = 3;                                    ///< what the test asserts (points)
};

std::ostream& operator<<(std::ostream& o, const Case& c) { return o << c.name; }

class CompareMatrix : public ::testing::TestWithParam<Case> {};

TEST_P(CompareMatrix, MeasuredChangeIsCloseToTheTruth) {
  const Case k = GetParam();
  phantom::Config c = phantom::preset(k.preset);
  c.contrast = k.contrast;
  c.veins = k.veins;
  c.acquisition = k.acquisition;
  c.motion_deg = k.motion_deg;
  c.motion_mm = k.motion_mm;
  c.seed = k.seed;
  c.snr = k.snr;
  c.posture_deg = k.posture_deg;
  if (k.engorgement > 0) c.engorgement = k.engorgement;
  if (k.tissue_jitter >= 0) c.tissue_jitter = k.tissue_jitter;
  if (k.post_scale > 0) c.post_scale = k.post_scale;
  const phantom::Pair p = phantom::generate(c, 2);
  compare::Options o;
  o.threads = 2;
  o.segment.contrast = k.contrast;
  const auto r = compare::compare(p.pre.image, p.post.image, o);
  const double err = r.percent - p.truth.percent_change;
  const bool covered = r.percent_low <= p.truth.percent_change && p.truth.percent_change <= r.percent_high;
  std::printf(
      "%s: measured %+.2f %% (interval %+.2f..%+.2f, truth %s), truth %+.2f %%, error %+.2f points "
      "(issue limit %.0f, held %.1f); pre %.0f/%.0f post %.0f/%.0f mm3\n",
      k.name.c_str(), r.percent, r.percent_low, r.percent_high, covered ? "inside" : "outside",
      p.truth.percent_change, err, k.limit, k.held, r.pre_mm3, p.truth.pre_mm3, r.post_mm3, p.truth.post_mm3);
  for (std::size_t l = 0; l < r.levels.size(); ++l)
    std::printf("  %s pre %.0f (truth %.0f) post %.0f (truth %.0f)\n", r.levels[l].name.c_str(),
                r.levels[l].pre_mm3, p.truth.levels[l].pre_mm3, r.levels[l].post_mm3,
                p.truth.levels[l].post_mm3);
  RecordProperty("measured_percent", std::to_string(r.percent));
  RecordProperty("true_percent", std::to_string(p.truth.percent_change));
  RecordProperty("error_points", std::to_string(err));
  RecordProperty("truth_inside_interval", covered ? "yes" : "no");
  RecordProperty("meets_issue_limit", std::fabs(err) <= k.limit ? "yes" : "no");
  EXPECT_NEAR(r.percent, p.truth.percent_change, k.held);
  EXPECT_LE(r.percent_low, r.percent);
  EXPECT_GE(r.percent_high, r.percent);
  // Levels carried from pre to post: every level measured in both.
  for (const auto& l : r.levels) EXPECT_TRUE(l.measured) << l.name;
  // The motion found (rigid pairs: the true rotation).
  if (k.posture_deg == 0) {
    EXPECT_NEAR(r.reg.transform.rotation_deg(), p.truth.rotation_deg, 0.3);
  }
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Phantom, CompareMatrix, ::testing::Values(
    //   name                       preset     contrast veins    acq      deg  mm  seed snr posture eng  jit   scale limit held
    Case{"iso3d_t2_dark_6deg12mm",  "default", "t2",  "dark",   "iso3d", 6,  12,  8},
    Case{"iso3d_t1c",               "default", "t1c", "dark",   "iso3d", 3,   4,  9},
    Case{"iso3d_t1c_5deg8mm",       "default", "t1c", "dark",   "iso3d", 5,   8,  4},
    Case{"iso3d_t2_bright",         "default", "t2",  "bright", "iso3d", 3,   4,  3, 25, 0,   0,   -1,   -1,   3, 3},
    Case{"iso3d_t2_dark_small_10pct", "default", "t2", "dark",  "iso3d", 3,   4, 17, 25, 0,   1.05},
    Case{"iso3d_t2_posture_snr12_jitter_45pct", "default", "t2", "dark", "iso3d", 4, 8, 16, 12, 1.0, 1.2, 0.15, 0.9, 3, 3},
    Case{"sag2d_t2_dark",           "default", "t2",  "dark",   "sag2d", 3,   4, 10, 25, 0,   0,   -1,   -1,   5, 5},
    Case{"sag2d_t1c_posture_6deg12mm_45pct", "default", "t1c", "dark", "sag2d", 6, 12, 19, 25, 1.0, 1.2, -1, -1, 5, 5},
    Case{"ax2d_t2_dark",            "default", "t2",  "dark",   "ax2d",  4,   6, 15, 25, 0,   0,   -1,   -1,   5, 5},
    Case{"null_iso3d_t2",           "null",    "t2",  "dark",   "iso3d", 3,   4, 11, 25, 0,   0,   -1,   -1,   2, 2},
    Case{"null_sag2d_t2_snr12",     "null",    "t2",  "dark",   "sag2d", 5,  10, 18, 12, 0,   0,   -1,   -1,   2, 2}),
    [](const auto& i) { return i.param.name; });
// clang-format on

// No session is favoured: swapping PRE and POST gives the inverse change,
// (1 + p)(1 + q) = 1, whatever the truth (the comparison registers the other
// way round, takes its contrast from the other scan, and meets the same
// half-way levels). The truth is not read.
TEST(CompareSymmetry, SwappingTheSessionsInvertsTheChange) {
  phantom::Config c = phantom::preset("default");
  c.contrast = "t2";
  c.motion_deg = 5;
  c.motion_mm = 8;
  c.seed = 21;
  const phantom::Pair p = phantom::generate(c, 2);
  compare::Options o;
  o.threads = 2;
  o.segment.contrast = "t2";
  const auto ab = compare::compare(p.pre.image, p.post.image, o);
  const auto ba = compare::compare(p.post.image, p.pre.image, o);
  const double product = (1 + ab.percent / 100) * (1 + ba.percent / 100);
  std::printf("pre->post %+.2f %%, post->pre %+.2f %% (inverse of the first: %+.2f %%), product %.4f\n",
              ab.percent, ba.percent, 100 * (1 / (1 + ab.percent / 100) - 1), product);
  EXPECT_NEAR(product, 1.0, 0.01);
  EXPECT_NEAR(ab.pre_mm3, ba.post_mm3, 0.01 * ab.pre_mm3);
  EXPECT_NEAR(ab.post_mm3, ba.pre_mm3, 0.01 * ab.post_mm3);
}

}  // namespace
