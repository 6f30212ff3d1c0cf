// Rigid registration: tiny exact cases and phantom pairs with known motion.
//
// TRE = distance between where the found transform and the true motion send
// points of the pre scan's spinal canal (truth canal fraction > 0.5).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "mrivol/core/error.hpp"
#include "mrivol/io/transform_file.hpp"
#include "mrivol/phantom/phantom.hpp"
#include "mrivol/registration/register.hpp"
#include "test_support.hpp"

using namespace mrivol;

namespace {

constexpr double kPi = 3.14159265358979323846;

Transform rigid(double rx, double ry, double rz, const Vec3& t, const Vec3& centre) {
  const double a = rx * kPi / 180, b = ry * kPi / 180, c = rz * kPi / 180;
  const double Rx[9] = {1, 0, 0, 0, std::cos(a), -std::sin(a), 0, std::sin(a), std::cos(a)};
  const double Ry[9] = {std::cos(b), 0, std::sin(b), 0, 1, 0, -std::sin(b), 0, std::cos(b)};
  const double Rz[9] = {std::cos(c), -std::sin(c), 0, std::sin(c), std::cos(c), 0, 0, 0, 1};
  double T[9], R[9];
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      T[3 * i + j] = 0;
      for (int k = 0; k < 3; ++k) T[3 * i + j] += Ry[3 * i + k] * Rx[3 * k + j];
    }
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      R[3 * i + j] = 0;
      for (int k = 0; k < 3; ++k) R[3 * i + j] += Rz[3 * i + k] * T[3 * k + j];
    }
  Transform tr;
  for (int i = 0; i < 9; ++i) tr.matrix[i] = R[i];
  for (int i = 0; i < 3; ++i)
    tr.translation[i] =
        centre[i] + t[i] - (R[3 * i] * centre[0] + R[3 * i + 1] * centre[1] + R[3 * i + 2] * centre[2]);
  return tr;
}

/// Smooth blobs: an analytic image, so a moved copy is exact.
double blobs(const Vec3& p) {
  static const double c[6][4] = {{0, 0, 0, 9},   {14, 3, -5, 5},   {-10, 12, 6, 6},
                                 {4, -13, 9, 4}, {-6, -6, -14, 5}, {11, 10, 13, 3}};
  double v = 0;
  for (const auto& b : c) {
    const double d2 = std::pow(p[0] - b[0], 2) + std::pow(p[1] - b[1], 2) + std::pow(p[2] - b[2], 2);
    v += 1000 * std::exp(-d2 / (2 * b[3] * b[3]));
  }
  return v;
}

Volume sample(const Geometry& g, const Transform& world_to_body) {
  Volume v;
  v.geom = g;
  v.data.resize(g.voxels());
  for (std::size_t k = 0; k < g.size[2]; ++k)
    for (std::size_t j = 0; j < g.size[1]; ++j)
      for (std::size_t i = 0; i < g.size[0]; ++i)
        v.data[(k * g.size[1] + j) * g.size[0] + i] =
            static_cast<float>(blobs(world_to_body.apply(g.index_to_point(i, j, k))));
  return v;
}

TEST(Registration, RecoversAKnownRigidMotionOfAnalyticBlobs) {
  Geometry g;
  g.size = {64, 64, 64};
  g.origin = {-31.5, -31.5, -31.5};
  const Transform truth = rigid(3, -2, 4, {2.5, -1.5, 3.0}, {0, 0, 0});  // body (pre) -> post
  const Volume fixed = sample(g, Transform{});
  const Volume moving = sample(g, truth.inverse());
  registration::Config cfg;
  cfg.threads = 2;
  // Three sampling seeds: the error left is sampling noise along the
  // blobs' weakly constrained rotation (0.01-0.07 mm over seeds 1-8), so
  // the typical (median) seed is held tighter than the worst.
  std::vector<double> worst;
  for (std::uint64_t seed : {1, 2, 3}) {
    cfg.seed = seed;
    const auto r = registration::register_images(fixed, moving, nullptr, nullptr, cfg);
    double w = 0;
    for (double x : {-15.0, 15.0})
      for (double y : {-15.0, 15.0})
        for (double z : {-15.0, 15.0}) {
          const Vec3 a = r.transform.apply({x, y, z}), b = truth.apply({x, y, z});
          w = std::max(w, norm({a[0] - b[0], a[1] - b[1], a[2] - b[2]}));
        }
    worst.push_back(w);
    EXPECT_LT(w, 0.1) << "corner TRE (mm), seed " << seed;
    EXPECT_LT(r.metric_after, r.metric_before);
    EXPECT_EQ(r.levels.size(), 3u);
  }
  std::sort(worst.begin(), worst.end());
  EXPECT_LT(worst[1], 0.05) << "median over seeds of the corner TRE (mm)";
}

TEST(Registration, AffineStageRecoversAScaledMotionThatRigidCannot) {
  Geometry g;
  g.size = {64, 64, 64};
  g.origin = {-31.5, -31.5, -31.5};
  Transform truth = rigid(3, -2, 4, {2.5, -1.5, 3.0}, {0, 0, 0});
  const double scale[3] = {1.04, 0.97, 1.0};
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) truth.matrix[3 * r + c] *= scale[c];
  truth.kind = "affine";
  // Blobs on a textured background (as anatomy fills a scan): with a flat
  // empty background, mutual information favours shrinking the overlap.
  auto textured = [&g](const Transform& world_to_body) {
    Volume v = sample(g, world_to_body);
    for (std::size_t k = 0; k < g.size[2]; ++k)
      for (std::size_t j = 0; j < g.size[1]; ++j)
        for (std::size_t i = 0; i < g.size[0]; ++i) {
          const Vec3 p = world_to_body.apply(g.index_to_point(i, j, k));
          v.data[(k * g.size[1] + j) * g.size[0] + i] += static_cast<float>(
              300 + 200 * std::sin(p[0] / 5) * std::cos(p[1] / 6) * std::sin(p[2] / 7 + 1));
        }
    return v;
  };
  const Volume fixed = textured(Transform{});
  const Volume moving = textured(truth.inverse());
  registration::Config cfg;
  cfg.threads = 2;
  auto corner_tre = [&](const Transform& t) {
    double worst = 0;
    for (double x : {-15.0, 15.0})
      for (double y : {-15.0, 15.0})
        for (double z : {-15.0, 15.0}) {
          const Vec3 a = t.apply({x, y, z}), b = truth.apply({x, y, z});
          worst = std::max(worst, norm({a[0] - b[0], a[1] - b[1], a[2] - b[2]}));
        }
    return worst;
  };
  const auto rig = registration::register_images(fixed, moving, nullptr, nullptr, cfg);
  cfg.stages = {"rigid", "affine"};
  const auto aff = registration::register_images(fixed, moving, nullptr, nullptr, cfg);
  std::printf("scaled motion: corner TRE rigid %.3f mm, rigid+affine %.3f mm\n", corner_tre(rig.transform),
              corner_tre(aff.transform));
  EXPECT_EQ(aff.transform.kind, "affine");
  // Measured: rigid 0.84 mm, rigid+affine 0.20 mm (the affine fit is limited
  // by content leaving the 64 mm field of view under the 4% stretch).
  EXPECT_GT(corner_tre(rig.transform), 0.5);
  EXPECT_LT(corner_tre(aff.transform), 0.3);
  EXPECT_LT(corner_tre(aff.transform), corner_tre(rig.transform) / 3);
  EXPECT_EQ(aff.levels.size(), 5u);  // 3 rigid + 2 affine
}

TEST(Registration, StagesMustStartRigidAndKeepTheirOrder) {
  Geometry g;
  g.size = {16, 16, 16};
  const Volume v = sample(g, Transform{});
  for (const std::vector<std::string>& st : std::vector<std::vector<std::string>>{
           {"affine"}, {"rigid", "bspline", "affine"}, {"rigid", "rigid"}, {"rigid", "demons"}, {}}) {
    registration::Config cfg;
    cfg.stages = st;
    EXPECT_THROW(registration::register_images(v, v, nullptr, nullptr, cfg), UsageError);
  }
}

struct PairCase {
  std::string name, contrast, acquisition;
  double deg, mm, snr;
  double median_max, max_max;  ///< asserted bounds (mm)
  double slice_mm = 0;         ///< 2D slice thickness (0 = the acquisition's own)
};

class PhantomRegistration : public ::testing::TestWithParam<PairCase> {};

TEST_P(PhantomRegistration, CanalTreWithinBounds) {
  const PairCase pc = GetParam();
  phantom::Config c;
  c.seed = 5;
  c.contrast = pc.contrast;
  c.acquisition = pc.acquisition;
  c.motion_deg = pc.deg;
  c.motion_mm = pc.mm;
  c.snr = pc.snr;
  c.slice_mm = pc.slice_mm;
  c.supersample = 2;
  const phantom::Pair p = phantom::generate(c, 2);
  registration::Config cfg;
  cfg.threads = 2;
  const auto r = registration::register_images(p.pre.image, p.post.image, nullptr, nullptr, cfg);
  std::vector<double> tre;
  const auto& g = p.pre.canal.geom;
  for (std::size_t k = 0; k < g.size[2]; ++k)
    for (std::size_t j = 0; j < g.size[1]; j += 2)
      for (std::size_t i = 0; i < g.size[0]; i += 2) {
        if (p.pre.canal.at(i, j, k) < 0.5f) continue;
        const Vec3 pt = g.index_to_point(i, j, k);
        const Vec3 a = r.transform.apply(pt), b = phantom::map_pre_to_post(p, pt);
        tre.push_back(norm({a[0] - b[0], a[1] - b[1], a[2] - b[2]}));
      }
  ASSERT_GT(tre.size(), 100u);
  std::sort(tre.begin(), tre.end());
  const double median = tre[tre.size() / 2], max = tre.back();
  RecordProperty("median_tre_mm", std::to_string(median));
  RecordProperty("max_tre_mm", std::to_string(max));
  EXPECT_LE(median, pc.median_max) << pc.name << " max " << max << " time " << r.seconds;
  EXPECT_LE(max, pc.max_max) << pc.name << " median " << median;
}

// Targets from the issue: 3D 1 mm pairs median <= 0.1 mm, max <= 0.5 mm;
// sagittal 2D thick-slice pairs (3.5 and 4 mm) median <= 0.3 mm; motions up to 6 deg and
// 12 mm, both contrasts, a low-SNR pair.
INSTANTIATE_TEST_SUITE_P(
    Phantom, PhantomRegistration,
    ::testing::Values(PairCase{"iso3d_t2_default", "t2", "iso3d", 3, 4, 25, 0.1, 0.5},
                      PairCase{"iso3d_t2_large_motion", "t2", "iso3d", 6, 12, 25, 0.1, 0.5},
                      PairCase{"iso3d_t1c", "t1c", "iso3d", 5, 8, 25, 0.1, 0.5},
                      PairCase{"iso3d_t2_low_snr", "t2", "iso3d", 4, 6, 8, 0.1, 0.5},
                      PairCase{"sag2d_t2_large_motion", "t2", "sag2d", 6, 12, 25, 0.3, 1.5},
                      PairCase{"sag2d_t1c", "t1c", "sag2d", 3, 4, 25, 0.3, 1.5},
                      PairCase{"sag2d_t2_4mm_slices", "t2", "sag2d", 6, 12, 25, 0.3, 1.5, 4.0}),
    [](const auto& i) { return i.param.name; });

TEST(Registration, SameTransformWhenRepeatedAndWhateverTheThreadCount) {
  phantom::Config c = phantom::preset("small");
  const phantom::Pair p = phantom::generate(c, 2);
  registration::Config cfg;
  cfg.threads = 2;
  const auto a = registration::register_images(p.pre.image, p.post.image, nullptr, nullptr, cfg);
  // again, then on one and on three threads (the metric's shares of the
  // samples, and their summation, differ: the result must not)
  for (unsigned threads : {2u, 1u, 3u}) {
    SCOPED_TRACE(threads);
    cfg.threads = threads;
    const auto b = registration::register_images(p.pre.image, p.post.image, nullptr, nullptr, cfg);
    for (int i = 0; i < 9; ++i) EXPECT_NEAR(a.transform.matrix[i], b.transform.matrix[i], 1e-9);
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(a.transform.translation[i], b.transform.translation[i], 1e-6);
    EXPECT_EQ(a.metric_after, b.metric_after);
    ASSERT_EQ(a.levels.size(), b.levels.size());
    for (std::size_t l = 0; l < a.levels.size(); ++l)
      EXPECT_EQ(a.levels[l].iterations, b.levels[l].iterations);
  }
}

TEST(Registration, ImplausibleResultIsAnErrorNotASilentTransform) {
  phantom::Config c = phantom::preset("small");
  const phantom::Pair p = phantom::generate(c, 2);
  registration::Config cfg;
  cfg.threads = 2;
  cfg.max_rotation_deg = 0.5;  // the true motion is 3 degrees
  try {
    registration::register_images(p.pre.image, p.post.image, nullptr, nullptr, cfg);
    FAIL() << "expected a RegistrationError";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::registration);
  }
}

TEST(Registration, FitRigidRecoversAKnownTransform) {
  const Transform t = rigid(7, -3, 11, {1, 2, 3}, {5, 6, 7});
  std::vector<Vec3> a, b;
  for (int i = 0; i < 20; ++i) {
    a.push_back({std::sin(i) * 30, std::cos(1.7 * i) * 20, i - 10.0});
    b.push_back(t.apply(a.back()));
  }
  const Transform f = fit_rigid(a, b);
  for (int i = 0; i < 9; ++i) EXPECT_NEAR(f.matrix[i], t.matrix[i], 1e-9);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(f.translation[i], t.translation[i], 1e-9);
}

TEST(Registration, CanalMaskKeepsTheCanalAlignedUnderAPostureChange) {
  // With a non-rigid posture change no rigid transform is exact; report the
  // canal TRE of the canal-focused registration against the best any rigid
  // transform could reach there (least-squares fit to the true mapping).
  phantom::Config c;
  c.seed = 5;
  c.acquisition = "iso3d";
  c.supersample = 2;
  c.posture_deg = 1.5;
  const phantom::Pair p = phantom::generate(c, 2);
  const auto& g = p.pre.canal.geom;
  // The canal dilated by 8 voxels (separable box): canal plus its bony walls.
  Volume mask = p.pre.canal;
  for (auto& x : mask.data) x = x > 0.5f ? 1.0f : 0.0f;
  const long r = 8;
  for (int axis = 0; axis < 3; ++axis) {
    const Volume in = mask;
    const long n[3] = {static_cast<long>(g.size[0]), static_cast<long>(g.size[1]),
                       static_cast<long>(g.size[2])};
    for (long k = 0; k < n[2]; ++k)
      for (long j = 0; j < n[1]; ++j)
        for (long i = 0; i < n[0]; ++i) {
          long idx[3] = {i, j, k};
          const long at = idx[axis];
          float m = 0;
          for (long d = std::max(0L, at - r); d <= std::min(n[axis] - 1, at + r) && m == 0; ++d) {
            idx[axis] = d;
            m = in.at(idx[0], idx[1], idx[2]);
          }
          mask.data[(k * n[1] + j) * n[0] + i] = m;
        }
  }
  std::vector<Vec3> from, to;
  for (std::size_t k = 0; k < g.size[2]; ++k)
    for (std::size_t j = 0; j < g.size[1]; j += 2)
      for (std::size_t i = 0; i < g.size[0]; i += 2)
        if (p.pre.canal.at(i, j, k) > 0.5f) {
          from.push_back(g.index_to_point(i, j, k));
          to.push_back(phantom::map_pre_to_post(p, from.back()));
        }
  auto median_tre = [&](const Transform& t) {
    std::vector<double> e;
    for (std::size_t i = 0; i < from.size(); ++i) {
      const Vec3 q = t.apply(from[i]);
      e.push_back(norm({q[0] - to[i][0], q[1] - to[i][1], q[2] - to[i][2]}));
    }
    std::sort(e.begin(), e.end());
    return e[e.size() / 2];
  };
  const double best = median_tre(fit_rigid(from, to));
  registration::Config cfg;
  cfg.threads = 2;
  const auto masked = registration::register_images(p.pre.image, p.post.image, &mask, nullptr, cfg);
  const auto whole = registration::register_images(p.pre.image, p.post.image, nullptr, nullptr, cfg);
  const double tm = median_tre(masked.transform), tw = median_tre(whole.transform);
  RecordProperty("best_rigid_canal_tre_mm", std::to_string(best));
  RecordProperty("masked_canal_tre_mm", std::to_string(tm));
  RecordProperty("whole_image_canal_tre_mm", std::to_string(tw));
  std::printf(
      "posture 1.5 deg/level: canal median TRE best rigid %.3f, canal-masked %.3f, whole image %.3f mm\n",
      best, tm, tw);
  EXPECT_GT(best, 0.05) << "the posture change should be visibly non-rigid in the canal";
  EXPECT_LE(tm, best + 0.3) << "canal-focused rigid registration should come close to the best rigid fit";

  // The deformable stage (whole image, no mask) follows the posture change:
  // in the canal it must beat the whole-image rigid result and come close to
  // the best rigid fit; the written transform maps the same points.
  registration::Config dc = cfg;
  dc.stages = {"rigid", "bspline"};
  const auto deformable = registration::register_images(p.pre.image, p.post.image, nullptr, nullptr, dc);
  ASSERT_TRUE(deformable.transform.deformation);
  const double td = median_tre(deformable.transform);
  RecordProperty("bspline_canal_tre_mm", std::to_string(td));
  std::printf("posture 1.5 deg/level: canal median TRE rigid,bspline %.3f mm\n", td);
  EXPECT_LT(td, tw) << "the B-spline stage should improve on the whole-image rigid result in the canal";
  EXPECT_LE(td, best + 0.1);
  mrivol_test::TempDir d("bspline");
  io::write_transform(deformable.transform, d / "t.tfm", false);
  const Transform back = io::read_transform(d / "t.tfm");
  ASSERT_TRUE(back.deformation);
  EXPECT_EQ(back.kind, "bspline");
  for (std::size_t i = 0; i < from.size(); i += 97) {
    const Vec3 a = deformable.transform.apply(from[i]), b = back.apply(from[i]);
    EXPECT_NEAR(norm({a[0] - b[0], a[1] - b[1], a[2] - b[2]}), 0.0, 1e-6);
  }
  // ITK (resampling through the composite) and mrivol (Transform::apply)
  // agree: resample a linear ramp in x and compare with the mapped x.
  Volume ramp = p.post.image;
  for (std::size_t k = 0; k < ramp.geom.size[2]; ++k)
    for (std::size_t j = 0; j < ramp.geom.size[1]; ++j)
      for (std::size_t i = 0; i < ramp.geom.size[0]; ++i)
        ramp.data[(k * ramp.geom.size[1] + j) * ramp.geom.size[0] + i] =
            static_cast<float>(ramp.geom.index_to_point(i, j, k)[0] + 1000.0);
  const Volume warped =
      registration::resample(ramp, g, deformable.transform, registration::Interpolation::linear);
  int checked = 0;
  for (std::size_t i = 0; i < from.size(); i += 53) {
    const Vec3 idx = g.point_to_index(from[i]);
    const float v = warped.at(std::size_t(std::lround(idx[0])), std::size_t(std::lround(idx[1])),
                              std::size_t(std::lround(idx[2])));
    if (v == 0.0f) continue;
    EXPECT_NEAR(v - 1000.0, deformable.transform.apply(from[i])[0], 0.01);
    ++checked;
  }
  EXPECT_GT(checked, 20);
}

TEST(Registration, TransformFileRoundTrip) {
  mrivol_test::TempDir d("tfm");
  const Transform t = rigid(1, 2, 3, {4, 5, 6}, {10, 20, 30});
  io::write_transform(t, d / "t.tfm", false);
  const Transform r = io::read_transform(d / "t.tfm");
  for (int i = 0; i < 9; ++i) EXPECT_NEAR(r.matrix[i], t.matrix[i], 1e-12);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(r.translation[i], t.translation[i], 1e-9);
  EXPECT_NE(mrivol_test::slurp(d / "t.tfm").find("AffineTransform_double_3_3"), std::string::npos);
}

}  // namespace
