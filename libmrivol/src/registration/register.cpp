// Rigid registration with ITK's v4 framework: versor rigid transform, Mattes
// mutual information, multi-resolution with physical voxel targets (so thick
// 2D slices are not shrunk further), seeded random sampling, regular-step
// gradient descent with translation/rotation scales balanced by the image
// radius.
#include "mrivol/registration/register.hpp"

#include <itkAffineTransform.h>
#include <itkCommand.h>
#include <itkImageMaskSpatialObject.h>
#include <itkImageRegistrationMethodv4.h>
#include <itkMattesMutualInformationImageToImageMetricv4.h>
#include <itkMultiThreaderBase.h>
#include <itkRegularStepGradientDescentOptimizerv4.h>
#include <itkVersorRigid3DTransform.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>

#include "../core/itk_bridge.hpp"
#include "../core/parallel.hpp"
#include "mrivol/core/error.hpp"

namespace mrivol {
namespace registration {
namespace {

using Rigid = itk::VersorRigid3DTransform<double>;
using Affine = itk::AffineTransform<double, 3>;
using Metric = itk::MattesMutualInformationImageToImageMetricv4<ItkImage, ItkImage>;
using Optimizer = itk::RegularStepGradientDescentOptimizerv4<double>;
using Method = itk::ImageRegistrationMethodv4<ItkImage, ItkImage, Rigid>;
using MaskImage = itk::Image<unsigned char, 3>;
using Mask = itk::ImageMaskSpatialObject<3>;

Vec3 centre_of(const Geometry& g) {
  return g.index_to_point((g.size[0] - 1) / 2.0, (g.size[1] - 1) / 2.0, (g.size[2] - 1) / 2.0);
}

Vec3 centre_of_mass(const Volume& v) {
  double sx = 0, sy = 0, sz = 0, w = 0;
  const auto& g = v.geom;
  for (std::size_t k = 0; k < g.size[2]; ++k)
    for (std::size_t j = 0; j < g.size[1]; ++j)
      for (std::size_t i = 0; i < g.size[0]; ++i) {
        const double x = std::max(0.0f, v.at(i, j, k));
        if (x == 0) continue;
        const Vec3 p = g.index_to_point(i, j, k);
        sx += x * p[0];
        sy += x * p[1];
        sz += x * p[2];
        w += x;
      }
  if (w == 0) return centre_of(g);
  return {sx / w, sy / w, sz / w};
}

double extent(const Geometry& g) {
  double e = 0;
  for (int i = 0; i < 3; ++i) e += std::pow(g.size[i] * g.spacing[i], 2);
  return std::sqrt(e);
}

}  // namespace

std::string auto_init(const Volume& f, const Volume& m) {
  const auto& ff = f.meta.acq.frame_of_reference_uid;
  const auto& mf = m.meta.acq.frame_of_reference_uid;
  const Vec3 cf = centre_of(f.geom), cm = centre_of(m.geom);
  const double d = norm({cm[0] - cf[0], cm[1] - cf[1], cm[2] - cf[2]});
  if (!ff.empty() && ff == mf) return "header";
  if (d < 0.25 * std::max(extent(f.geom), extent(m.geom))) return "header";
  return "moments";
}

namespace {

Transform choose_init(const Volume& f, const Volume& m, const std::string& mode, std::string& used) {
  Transform t;
  const std::string how = mode == "auto" ? auto_init(f, m) : mode;
  if (how == "header" || how == "identity") {
    used = "header";
  } else if (how == "geometry" || how == "moments") {
    const Vec3 a = how == "geometry" ? centre_of(f.geom) : centre_of_mass(f);
    const Vec3 b = how == "geometry" ? centre_of(m.geom) : centre_of_mass(m);
    t.translation = {b[0] - a[0], b[1] - a[1], b[2] - a[2]};
    used = how;
  } else {
    throw UsageError("--init must be auto, header, moments or geometry (or a transform file), not '" + mode +
                     "'");
  }
  return t;
}

MaskImage::Pointer to_mask(const Volume& v) {
  auto img = MaskImage::New();
  set_itk_geometry(img.GetPointer(), v.geom);
  img->Allocate();
  std::size_t inside = 0;
  for (std::size_t i = 0; i < v.geom.voxels(); ++i) {
    img->GetBufferPointer()[i] = v.data[i] != 0.0f ? 1 : 0;
    inside += v.data[i] != 0.0f;
  }
  if (inside == 0) throw InputError("mask", "registration mask is empty");
  return img;
}

Affine::Pointer to_affine(const Transform& t) { return to_itk_affine(t); }

bool is_rigid(const Transform& t) {
  const auto& a = t.matrix;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      double s = 0;
      for (int k = 0; k < 3; ++k) s += a[3 * k + i] * a[3 * k + j];
      if (std::fabs(s - (i == j)) > 1e-6) return false;
    }
  return a[0] * (a[4] * a[8] - a[5] * a[7]) - a[1] * (a[3] * a[8] - a[5] * a[6]) +
             a[2] * (a[3] * a[7] - a[4] * a[6]) >
         0;
}

/// ITK's threaded Mattes metric reduces per-work-unit derivative buffers in
/// arrival order, so its sums (and the transform) vary from run to run. Its
/// threaders take their number of work units from the global default when
/// the metric is constructed: build it with one, then restore the default so
/// the pyramid filters (deterministic) still use every thread. The result is
/// then identical whatever --threads says.
/// (A mutex: registrations may run concurrently, e.g. the two starts of
/// mrivol-compare; objects another thread builds meanwhile get one thread,
/// which changes speed only.)
std::mutex global_default;  ///< guards ITK's global default thread count

Metric::Pointer single_threaded_metric(unsigned threads) {
  std::lock_guard<std::mutex> lock(global_default);
  itk::MultiThreaderBase::SetGlobalDefaultNumberOfThreads(1);
  Metric::Pointer m = Metric::New();
  m->SetMaximumNumberOfWorkUnits(1);
  itk::MultiThreaderBase::SetGlobalDefaultNumberOfThreads(resolve_threads(threads));
  return m;
}

/// Mattes MI of moving through t against fixed, on a regular subsample.
double metric_value(const ItkImage* f, const ItkImage* m, const Transform& t, int bins, const Mask* fmask,
                    unsigned threads) {
  auto metric = single_threaded_metric(threads);
  metric->SetNumberOfHistogramBins(static_cast<itk::SizeValueType>(bins));
  metric->SetUseMovingImageGradientFilter(false);
  metric->SetUseFixedImageGradientFilter(false);
  metric->SetFixedImage(f);
  metric->SetMovingImage(m);
  if (fmask) metric->SetFixedImageMask(fmask);
  metric->SetMovingTransform(to_affine(t));
  // Every third voxel in each direction: deterministic and cheap.
  auto points = Metric::FixedSampledPointSetType::New();
  const auto size = f->GetLargestPossibleRegion().GetSize();
  itk::IdentifierType id = 0;
  ItkImage::IndexType idx;
  ItkImage::PointType p;
  for (idx[2] = 0; idx[2] < static_cast<long>(size[2]); idx[2] += 3)
    for (idx[1] = 0; idx[1] < static_cast<long>(size[1]); idx[1] += 3)
      for (idx[0] = 0; idx[0] < static_cast<long>(size[0]); idx[0] += 3) {
        f->TransformIndexToPhysicalPoint(idx, p);
        points->SetPoint(id++, p);
      }
  metric->SetFixedSampledPointSet(points);
  metric->SetUseSampledPointSet(true);
  metric->Initialize();
  return metric->GetValue();
}

/// Per-level reporting and progress.
class Observer : public itk::Command {
 public:
  using Self = Observer;
  using Pointer = itk::SmartPointer<Self>;
  itkNewMacro(Self) Method* method = nullptr;
  Optimizer* optimizer = nullptr;
  Reporter* rep = nullptr;
  std::vector<LevelReport>* levels = nullptr;
  std::vector<std::array<double, 3>> voxel;
  int max_iterations = 1;
  void Execute(itk::Object* caller, const itk::EventObject& e) override {
    Execute(static_cast<const itk::Object*>(caller), e);
  }
  void Execute(const itk::Object*, const itk::EventObject& e) override {
    if (itk::IterationEvent().CheckEvent(&e) && optimizer && rep) {
      const std::size_t level = levels->empty() ? 0 : levels->size() - 1;
      const double frac = (level + std::min(1.0, optimizer->GetCurrentIteration() / double(max_iterations))) /
                          std::max<std::size_t>(1, voxel.size());
      rep->progress("register", std::min(frac, 0.999));
    }
    if (itk::MultiResolutionIterationEvent().CheckEvent(&e)) {
      finish_level();
      LevelReport r;
      if (levels->size() < voxel.size()) r.voxel_mm = voxel[levels->size()];
      // First step of each level: half its (largest) voxel size, so the fine
      // levels refine what the coarse ones found instead of jumping away.
      const double vmax = std::max({r.voxel_mm[0], r.voxel_mm[1], r.voxel_mm[2]});
      if (optimizer) optimizer->SetLearningRate(0.5 * vmax);
      levels->push_back(r);
    }
  }
  void finish_level() {
    if (levels->empty() || !optimizer) return;
    LevelReport& r = levels->back();
    r.iterations = static_cast<int>(optimizer->GetCurrentIteration());
    r.metric = optimizer->GetValue();
    r.stop = optimizer->GetStopConditionDescription();
    if (rep) {
      char line[200];
      std::snprintf(line, sizeof line, "level %zu (%.2g mm voxels): %d iterations, metric %.5f",
                    levels->size(), r.voxel_mm[0], r.iterations, r.metric);
      rep->debug(line);
    }
  }
};

}  // namespace

Result register_images(const Volume& fixed, const Volume& moving, const Volume* fixed_mask,
                       const Volume* moving_mask, const Config& cfg, const Transform* initial,
                       Reporter& rep) {
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto& s : cfg.stages)
    if (s != "rigid") throw UsageError("--stages: only 'rigid' is implemented so far, not '" + s + "'");
  if (fixed.timepoints != 1 || moving.timepoints != 1)
    throw InputError("input", "registration needs 3D images (got 4D)");
  if (cfg.shrink_mm.empty() || cfg.shrink_mm.size() != cfg.smooth_mm.size())
    throw UsageError("--shrink and --smooth need the same number of levels");
  if (cfg.bins < 8 || cfg.bins > 256) throw UsageError("--bins must be in [8, 256]");
  if (cfg.samples < 1000) throw UsageError("--samples must be at least 1000");
  {
    std::lock_guard<std::mutex> lock(global_default);
    itk::MultiThreaderBase::SetGlobalDefaultNumberOfThreads(resolve_threads(cfg.threads));
  }

  Result res;
  const ItkImage::Pointer f = to_itk(fixed), m = to_itk(moving);
  Transform init = initial ? *initial : choose_init(fixed, moving, cfg.init, res.init_used);
  if (initial) res.init_used = "file";
  res.initial = init;

  // The optimised rigid transform rotates about the fixed image's centre;
  // a non-rigid initial transform is applied after it, unchanged.
  const Vec3 c = centre_of(fixed.geom);
  auto tx = Rigid::New();
  Rigid::CenterType centre;
  for (int i = 0; i < 3; ++i) centre[i] = c[i];
  tx->SetCenter(centre);
  Transform after = {};  // identity unless the initial transform is not rigid
  const bool rigid_init = is_rigid(init);
  if (rigid_init) {
    Rigid::MatrixType R;
    for (int r = 0; r < 3; ++r)
      for (int k = 0; k < 3; ++k) R[r][k] = init.matrix[3 * r + k];
    tx->SetMatrix(R);
    const Vec3 q = init.apply(c);
    Rigid::OutputVectorType tr;
    for (int i = 0; i < 3; ++i) tr[i] = q[i] - c[i];
    tx->SetTranslation(tr);
  } else {
    after = init;
  }

  auto metric = single_threaded_metric(cfg.threads);
  metric->SetNumberOfHistogramBins(static_cast<itk::SizeValueType>(cfg.bins));
  // Gradients by central differences at the samples: cheaper than a
  // gradient image per level for the few samples used.
  metric->SetUseMovingImageGradientFilter(false);
  metric->SetUseFixedImageGradientFilter(false);
  Mask::Pointer fm, mm;
  if (fixed_mask) {
    fm = Mask::New();
    fm->SetImage(to_mask(*fixed_mask));
    fm->Update();
    metric->SetFixedImageMask(fm);
  }
  if (moving_mask) {
    mm = Mask::New();
    mm->SetImage(to_mask(*moving_mask));
    mm->Update();
    metric->SetMovingImageMask(mm);
  }

  auto opt = Optimizer::New();
  const double radius = 0.5 * extent(fixed.geom) / 2;  // typical distance of image points from the centre
  Optimizer::ScalesType scales(tx->GetNumberOfParameters());
  for (unsigned i = 0; i < 3; ++i) scales[i] = 1.0;
  for (unsigned i = 3; i < 6; ++i) scales[i] = 1.0 / (radius * radius);
  opt->SetScales(scales);
  opt->SetLearningRate(2.0);          // first step: ~2 mm at the image radius
  opt->SetMinimumStepLength(0.0005);  // ~0.5 um
  opt->SetRelaxationFactor(0.6);
  opt->SetNumberOfIterations(static_cast<itk::SizeValueType>(cfg.iterations));
  opt->SetGradientMagnitudeTolerance(1e-8);
  opt->SetReturnBestParametersAndValue(true);

  auto reg = Method::New();
  reg->SetFixedImage(f);
  reg->SetMovingImage(m);
  reg->SetMetric(metric);
  reg->SetOptimizer(opt);
  reg->SetInitialTransform(tx);
  reg->InPlaceOn();
  if (!rigid_init) reg->SetMovingInitialTransform(to_affine(after));
  const unsigned n = static_cast<unsigned>(cfg.shrink_mm.size());
  reg->SetNumberOfLevels(n);
  Method::SmoothingSigmasArrayType sigmas(n);
  Method::MetricSamplingPercentageArrayType percent(n);
  auto obs = Observer::New();
  for (unsigned l = 0; l < n; ++l) {
    Method::ShrinkFactorsPerDimensionContainerType factors;
    std::array<double, 3> vox{};
    for (unsigned d = 0; d < 3; ++d) {
      // Shrink only axes finer than the level's target (thick slices stay).
      const double s = fixed.geom.spacing[d];
      factors[d] = cfg.shrink_mm[l] > s ? static_cast<unsigned>(std::lround(cfg.shrink_mm[l] / s)) : 1u;
      vox[d] = s * factors[d];
    }
    reg->SetShrinkFactorsPerDimension(l, factors);
    double voxels = 1;
    for (unsigned d = 0; d < 3; ++d) voxels *= std::ceil(double(fixed.geom.size[d]) / factors[d]);
    percent[l] = std::min(1.0, cfg.samples / voxels);
    sigmas[l] = cfg.smooth_mm[l];
    obs->voxel.push_back(vox);
  }
  reg->SetSmoothingSigmasPerLevel(sigmas);
  reg->SetSmoothingSigmasAreSpecifiedInPhysicalUnits(true);
  reg->SetMetricSamplingStrategy(Method::MetricSamplingStrategyEnum::RANDOM);
  reg->SetMetricSamplingPercentagePerLevel(percent);
  reg->MetricSamplingReinitializeSeed(static_cast<int>(cfg.seed % 2147483647));

  obs->method = reg;
  obs->optimizer = opt;
  obs->rep = &rep;
  obs->levels = &res.levels;
  obs->max_iterations = cfg.iterations;
  reg->AddObserver(itk::MultiResolutionIterationEvent(), obs);
  opt->AddObserver(itk::IterationEvent(), obs);

  try {
    res.metric_before = metric_value(f, m, init, cfg.bins, fm, cfg.threads);
    reg->Update();
    obs->finish_level();
  } catch (const itk::ExceptionObject& e) {
    throw RegistrationError("registration", std::string("optimisation failed (") + e.GetDescription() + ")");
  }
  const Rigid* out = reg->GetTransform();
  Transform found;
  for (int r = 0; r < 3; ++r) {
    for (int k = 0; k < 3; ++k) found.matrix[3 * r + k] = out->GetMatrix()[r][k];
    found.translation[r] = out->GetOffset()[r];
  }
  if (!rigid_init) {  // initial (applied second) o found
    Transform comp;
    comp.kind = "affine";
    for (int r = 0; r < 3; ++r) {
      for (int k = 0; k < 3; ++k) {
        double s = 0;
        for (int j = 0; j < 3; ++j) s += after.matrix[3 * r + j] * found.matrix[3 * j + k];
        comp.matrix[3 * r + k] = s;
      }
      double s = after.translation[r];
      for (int j = 0; j < 3; ++j) s += after.matrix[3 * r + j] * found.translation[j];
      comp.translation[r] = s;
    }
    found = comp;
  }
  for (double v : found.matrix)
    if (!std::isfinite(v))
      throw RegistrationError("registration", "the optimiser diverged (non-finite parameters)");
  res.transform = found;
  try {
    res.metric_after = metric_value(f, m, found, cfg.bins, fm, cfg.threads);
  } catch (const itk::ExceptionObject& e) {
    throw RegistrationError("registration",
                            std::string("cannot evaluate the result (") + e.GetDescription() + ")");
  }
  // Plausibility: how far the result moves the fixed image's centre from
  // where the scanner coordinates put it, and how much it rotates.
  const Vec3 q = found.apply(c);
  const double shift = norm({q[0] - c[0], q[1] - c[1], q[2] - c[2]});
  char why[256];
  if (found.rotation_deg() > cfg.max_rotation_deg) {
    std::snprintf(why, sizeof why, "implausible result: rotation of %.1f degrees (limit %.0f)",
                  found.rotation_deg(), cfg.max_rotation_deg);
    throw RegistrationError("registration", why);
  }
  if (shift > cfg.max_translation_mm) {
    std::snprintf(why, sizeof why, "implausible result: moves the image centre by %.1f mm (limit %.0f)",
                  shift, cfg.max_translation_mm);
    throw RegistrationError("registration", why);
  }
  if (res.metric_after > res.metric_before + 1e-4) {
    std::snprintf(why, sizeof why, "the optimiser made the match worse (metric %.5f -> %.5f)",
                  res.metric_before, res.metric_after);
    throw RegistrationError("registration", why);
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  rep.progress("register", 1.0);
  return res;
}

}  // namespace registration
}  // namespace mrivol
