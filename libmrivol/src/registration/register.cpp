// Rigid registration with ITK's v4 framework: versor rigid transform, Mattes
// mutual information, multi-resolution with physical voxel targets (so thick
// 2D slices are not shrunk further), seeded random sampling, regular-step
// gradient descent with translation/rotation scales balanced by the image
// radius.
#include "mrivol/registration/register.hpp"

#include <itkAffineTransform.h>
#include <itkBSplineTransform.h>
#include <itkBinShrinkImageFilter.h>
#include <itkCommand.h>
#include <itkConjugateGradientLineSearchOptimizerv4.h>
#include <itkImageMaskSpatialObject.h>
#include <itkImageRegistrationMethodv4.h>
#include <itkLBFGSBOptimizerv4.h>
#include <itkMattesMutualInformationImageToImageMetricv4.h>
#include <itkMultiThreaderBase.h>
#include <itkRecursiveGaussianImageFilter.h>
#include <itkRegistrationParameterScalesFromPhysicalShift.h>
#include <itkRegularStepGradientDescentOptimizerv4.h>
#include <itkVersorRigid3DTransform.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <mutex>

#include "../core/itk_bridge.hpp"
#include "../core/parallel.hpp"
#include "../core/splitmix.hpp"
#include "mrivol/core/error.hpp"

namespace mrivol {
namespace registration {
namespace {

using Rigid = itk::VersorRigid3DTransform<double>;
using Affine = itk::AffineTransform<double, 3>;
using MattesBase = itk::MattesMutualInformationImageToImageMetricv4<ItkImage, ItkImage>;

/// Mattes MI whose results do not depend on the threads that compute it.
/// ITK splits the samples into one work unit per thread, sums the units'
/// histograms (a different grouping for another thread count) and adds the
/// units' derivative contributions into one buffer in the order the units
/// finish (a different order from run to run): both change the last bits
/// of the value and derivative (measured: four runs, four transforms). The
/// value is therefore rounded to 2^-32 of its magnitude and the derivative
/// to 2^-24 of its largest component, far below anything the optimisers
/// resolve: those last-bit differences vanish and every run takes the same
/// steps, whatever --threads says. (A difference straddling a rounding
/// boundary would still show, with a probability of about 1e-8 per
/// evaluation.)
class Metric : public MattesBase {
 public:
  using Self = Metric;
  using Superclass = MattesBase;
  using Pointer = itk::SmartPointer<Self>;
  using ConstPointer = itk::SmartPointer<const Self>;
  itkNewMacro(Self) itkTypeMacro(Metric, MattesBase)

      /// One work unit per thread: never more threads at once than asked
      /// for (ITK's pool may hold more).
      void set_threads(itk::ThreadIdType threads) {
    this->m_SparseGetValueAndDerivativeThreader->SetNumberOfWorkUnits(threads);
    this->m_DenseGetValueAndDerivativeThreader->SetNumberOfWorkUnits(threads);
    this->SetMaximumNumberOfWorkUnits(threads);
  }

  MeasureType GetValue() const override { return round_to(Superclass::GetValue(), 32); }
  void GetValueAndDerivative(MeasureType& value, DerivativeType& derivative) const override {
    Superclass::GetValueAndDerivative(value, derivative);
    value = round_to(value, 32);
    double largest = 0;
    for (unsigned i = 0; i < derivative.GetSize(); ++i) largest = std::max(largest, std::fabs(derivative[i]));
    if (!(largest > 0) || !std::isfinite(largest)) return;
    int e = 0;
    std::frexp(largest, &e);
    const double quantum = std::ldexp(1.0, e - 24);
    for (unsigned i = 0; i < derivative.GetSize(); ++i)
      derivative[i] = std::nearbyint(derivative[i] / quantum) * quantum;
  }
  void GetDerivative(DerivativeType& derivative) const override {
    MeasureType value;
    GetValueAndDerivative(value, derivative);
  }

 private:
  /// x rounded to a multiple of 2^-bits of its magnitude.
  static double round_to(double x, int bits) {
    if (!(x != 0) || !std::isfinite(x)) return x;
    int e = 0;
    std::frexp(x, &e);
    const double quantum = std::ldexp(1.0, e - bits);
    return std::nearbyint(x / quantum) * quantum;
  }
};
using Optimizer = itk::RegularStepGradientDescentOptimizerv4<double>;
using BSpline = itk::BSplineTransform<double, 3, 3>;
using LBFGSB = itk::LBFGSBOptimizerv4;
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

/// Guards ITK's global default thread count (registrations may run
/// concurrently, e.g. the two starts of mrivol-compare).
std::mutex global_default;

/// A metric on `threads` threads whose results do not depend on them (see
/// Metric above).
Metric::Pointer make_metric(unsigned threads) {
  Metric::Pointer m = Metric::New();
  m->set_threads(resolve_threads(threads));
  return m;
}

/// Mattes MI of moving (through t) against fixed on a regular subsample of
/// the fixed image (at most ~100k points): deterministic and cheap.
double metric_value(const ItkImage* f, const ItkImage* m, const Transform& t, int bins, const Mask* fmask,
                    unsigned threads) {
  auto metric = make_metric(threads);
  metric->SetNumberOfHistogramBins(static_cast<itk::SizeValueType>(bins));
  metric->SetUseMovingImageGradientFilter(false);
  metric->SetUseFixedImageGradientFilter(false);
  metric->SetFixedImage(f);
  metric->SetMovingImage(m);
  if (fmask) metric->SetFixedImageMask(fmask);
  metric->SetMovingTransform(to_itk_transform(t));
  auto points = Metric::FixedSampledPointSetType::New();
  const auto size = f->GetLargestPossibleRegion().GetSize();
  long step = 1;  // the smallest stride giving at most ~100k points
  while (double(size[0]) * size[1] * size[2] / double(step * step * step) > 100000) ++step;
  itk::IdentifierType id = 0;
  ItkImage::IndexType idx;
  ItkImage::PointType p;
  for (idx[2] = 0; idx[2] < static_cast<long>(size[2]); idx[2] += step)
    for (idx[1] = 0; idx[1] < static_cast<long>(size[1]); idx[1] += step)
      for (idx[0] = 0; idx[0] < static_cast<long>(size[0]); idx[0] += step) {
        f->TransformIndexToPhysicalPoint(idx, p);
        points->SetPoint(id++, p);
      }
  metric->SetFixedSampledPointSet(points);
  metric->SetUseSampledPointSet(true);
  metric->Initialize();
  return metric->GetValue();
}

/// Sampled Gaussian (radius 3 sigma, sigma <= 2 voxels) along axis d, in
/// place, edge voxels repeated: for the small sigmas of the fine levels this
/// is several times cheaper than the recursive filter on the full image.
void fir_gaussian(ItkImage* img, unsigned d, double sigma_vox, unsigned threads) {
  const auto size = img->GetLargestPossibleRegion().GetSize();
  const long r = std::max(1L, static_cast<long>(std::ceil(3 * sigma_vox)));
  std::vector<double> k(static_cast<std::size_t>(2 * r + 1));
  double sum = 0;
  for (long i = -r; i <= r; ++i)
    sum += k[static_cast<std::size_t>(i + r)] = std::exp(-0.5 * i * i / (sigma_vox * sigma_vox));
  for (double& v : k) v /= sum;
  const std::size_t n[3] = {size[0], size[1], size[2]};
  const std::size_t stride[3] = {1, n[0], n[0] * n[1]};
  const unsigned a = d == 0 ? 1 : 0, b = d == 2 ? 1 : 2;  // the other two axes
  float* data = img->GetBufferPointer();
  const long len = static_cast<long>(n[d]);
  parallel_for(n[b], threads, [&](std::size_t jb) {
    std::vector<float> line(n[d]);
    for (std::size_t ja = 0; ja < n[a]; ++ja) {
      float* p = data + ja * stride[a] + jb * stride[b];
      for (long i = 0; i < len; ++i) line[static_cast<std::size_t>(i)] = p[i * static_cast<long>(stride[d])];
      for (long i = 0; i < len; ++i) {
        double acc = 0;
        for (long t = -r; t <= r; ++t)
          acc += k[static_cast<std::size_t>(t + r)] *
                 line[static_cast<std::size_t>(std::clamp(i + t, 0L, len - 1))];
        p[i * static_cast<long>(stride[d])] = static_cast<float>(acc);
      }
    }
  });
}

/// One pyramid level of an image: block averages over whole voxels up to
/// the target voxel size (axes already coarser stay, so thick 2D slices are
/// never merged), then a Gaussian with what remains of the requested sigma
/// (a block of width w already blurs with variance w^2/12). Only the block
/// averaging touches the full-resolution image, once per level.
ItkImage::Pointer pyramid_image(const ItkImage::Pointer& img, double target_mm, double sigma_mm,
                                unsigned threads) {
  using Shrink = itk::BinShrinkImageFilter<ItkImage, ItkImage>;
  using Gauss = itk::RecursiveGaussianImageFilter<ItkImage, ItkImage>;
  const auto sp = img->GetSpacing();
  Shrink::ShrinkFactorsType factors;
  bool any = false;
  for (unsigned d = 0; d < 3; ++d) {
    factors[d] = target_mm > sp[d] ? static_cast<unsigned>(std::max(1L, std::lround(target_mm / sp[d]))) : 1u;
    any = any || factors[d] > 1;
  }
  ItkImage::Pointer out = img;
  if (any) {
    auto s = Shrink::New();
    s->SetInput(img);
    s->SetShrinkFactors(factors);
    s->Update();
    out = s->GetOutput();
    out->DisconnectPipeline();
  }
  for (unsigned d = 0; d < 3; ++d) {
    const double w = factors[d] > 1 ? factors[d] * sp[d] : 0.0;
    const double var = sigma_mm * sigma_mm - w * w / 12.0;
    const double spacing = out->GetSpacing()[d];
    if (var <= 0 || std::sqrt(var) < 0.25 * spacing || out->GetLargestPossibleRegion().GetSize()[d] < 4)
      continue;
    if (std::sqrt(var) <= 2 * spacing) {
      if (out == img) {  // never smooth the caller's image
        auto copy = ItkImage::New();
        copy->CopyInformation(img);
        copy->SetRegions(img->GetLargestPossibleRegion());
        copy->Allocate();
        std::copy_n(img->GetBufferPointer(), img->GetLargestPossibleRegion().GetNumberOfPixels(),
                    copy->GetBufferPointer());
        out = copy;
      }
      fir_gaussian(out.GetPointer(), d, std::sqrt(var) / spacing, threads);
      continue;
    }
    auto g = Gauss::New();
    g->SetInput(out);
    g->SetDirection(d);
    g->SetSigma(std::sqrt(var));
    g->SetOrder(itk::GaussianOrderEnum::ZeroOrder);
    g->SetNormalizeAcrossScale(false);
    g->Update();
    out = g->GetOutput();
    out->DisconnectPipeline();
  }
  return out;
}

/// The metric's sample points on one level: each voxel of the fixed image
/// is taken with probability samples/voxels and moved by a uniform jitter
/// within its voxel (no grid aliasing of the interpolation), from a
/// splitmix64 stream of (seed, level); points outside the mask are dropped.
/// The points stay in raster order, so the interpolations walk both images
/// nearly sequentially. (Stratified points, one per cell of a regular
/// partition, were tried: on the phantom pairs as accurate, on smooth
/// analytic blobs occasionally stuck 0.4 mm off in a weakly constrained
/// rotation.)
Metric::FixedSampledPointSetType::Pointer sample_points(const ItkImage* f, const Mask* mask, int samples,
                                                        std::uint64_t seed, unsigned level) {
  auto points = Metric::FixedSampledPointSetType::New();
  const auto size = f->GetLargestPossibleRegion().GetSize();
  const double voxels = double(size[0]) * double(size[1]) * double(size[2]);
  const double p = std::min(1.0, samples / voxels);
  const auto threshold = static_cast<std::uint64_t>(p * 18446744073709551615.0);
  SplitMix64 rng{seed * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL * (level + 1)};
  auto next = [&rng] { return rng.next(); };
  auto unit = [&rng] { return rng.unit(); };
  itk::IdentifierType id = 0;
  itk::ContinuousIndex<double, 3> ci;
  ItkImage::PointType q;
  for (std::size_t k = 0; k < size[2]; ++k)
    for (std::size_t j = 0; j < size[1]; ++j)
      for (std::size_t i = 0; i < size[0]; ++i) {
        if (p < 1.0 && next() > threshold) continue;
        const std::size_t at[3] = {i, j, k};
        for (unsigned d = 0; d < 3; ++d) {
          // within the voxel, and never past the outer voxel centres
          const double lo = at[d] == 0 ? 0.0 : -0.5, hi = at[d] + 1 == size[d] ? 0.0 : 0.5;
          ci[d] = double(at[d]) + lo + (hi - lo) * unit();
        }
        f->TransformContinuousIndexToPhysicalPoint(ci, q);
        if (mask && !mask->IsInsideInWorldSpace(q)) continue;
        points->SetPoint(id++, q);
      }
  return points;
}

/// Progress of the current level's optimiser.
class Progress : public itk::Command {
 public:
  using Self = Progress;
  using Pointer = itk::SmartPointer<Self>;
  itkNewMacro(Self) const itk::ObjectToObjectOptimizerBaseTemplate<double>* optimizer = nullptr;
  Reporter* rep = nullptr;
  double from = 0, span = 1;
  int max_iterations = 1;
  void Execute(itk::Object* caller, const itk::EventObject& e) override {
    Execute(static_cast<const itk::Object*>(caller), e);
  }
  void Execute(const itk::Object*, const itk::EventObject& e) override {
    if (!itk::IterationEvent().CheckEvent(&e) || !optimizer || !rep) return;
    const double frac = std::min(1.0, optimizer->GetCurrentIteration() / double(max_iterations));
    rep->progress("register", std::min(from + span * frac, 0.999));
  }
};

/// What every level shares.
struct Common {
  int bins = 32;
  int samples = 50000;
  std::uint64_t seed = 1;
  unsigned threads = 0;
  const Mask* fixed_mask = nullptr;
  const Mask* moving_mask = nullptr;
  Reporter* rep = nullptr;
};

/// Optimises `tx` in place on one pyramid level (the images are that
/// level's; the registration method itself neither shrinks nor smooths).
template <class TX, class TOpt>
void run_level(const ItkImage* f, const ItkImage* m, TX* tx, const itk::Transform<double, 3, 3>* moving_init,
               TOpt* opt, const Common& c, unsigned level, double from, double span, int max_iterations,
               LevelReport& r, bool estimate_scales = false) {
  using Method = itk::ImageRegistrationMethodv4<ItkImage, ItkImage, TX>;
  auto metric = make_metric(c.threads);
  metric->SetNumberOfHistogramBins(static_cast<itk::SizeValueType>(c.bins));
  // Gradients by central differences at the samples: cheaper than a
  // gradient image per level for the few samples used.
  metric->SetUseMovingImageGradientFilter(false);
  metric->SetUseFixedImageGradientFilter(false);
  if (c.fixed_mask) metric->SetFixedImageMask(c.fixed_mask);
  if (c.moving_mask) metric->SetMovingImageMask(c.moving_mask);
  using Estimator = itk::RegistrationParameterScalesFromPhysicalShift<Metric>;
  typename Estimator::Pointer estimator;
  if (estimate_scales) {  // scales (and step sizes) from the physical shift each parameter causes
    estimator = Estimator::New();
    estimator->SetMetric(metric);
    estimator->SetTransformForward(true);
    opt->SetScalesEstimator(estimator);
  }
  auto reg = Method::New();
  reg->SetFixedImage(f);
  reg->SetMovingImage(m);
  reg->SetMetric(metric);
  reg->SetOptimizer(opt);
  reg->SetInitialTransform(tx);
  reg->InPlaceOn();
  if (moving_init) reg->SetMovingInitialTransform(moving_init);
  reg->SetNumberOfLevels(1);
  typename Method::ShrinkFactorsArrayType shrink(1);
  shrink[0] = 1;
  reg->SetShrinkFactorsPerLevel(shrink);
  typename Method::SmoothingSigmasArrayType sigma(1);
  sigma[0] = 0;
  reg->SetSmoothingSigmasPerLevel(sigma);
  // Our own sample points (see sample_points); the method adds none.
  reg->SetMetricSamplingStrategy(Method::MetricSamplingStrategyEnum::NONE);
  const auto points = sample_points(f, c.fixed_mask, c.samples, c.seed, level);
  if (points->GetNumberOfPoints() < 100)
    throw RegistrationError("registration", "too few metric sample points (is the fixed mask tiny?)");
  metric->SetFixedSampledPointSet(points);
  metric->SetUseSampledPointSet(true);
  auto prog = Progress::New();
  prog->optimizer = opt;
  prog->rep = c.rep;
  prog->from = from;
  prog->span = span;
  prog->max_iterations = max_iterations;
  opt->AddObserver(itk::IterationEvent(), prog);
  const auto t0 = std::chrono::steady_clock::now();
  reg->Update();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (unsigned d = 0; d < 3; ++d) r.voxel_mm[d] = f->GetSpacing()[d];
  r.iterations = static_cast<int>(opt->GetCurrentIteration());
  r.metric = opt->GetValue();
  r.stop = opt->GetStopConditionDescription();
  if (c.rep) {
    char line[200];
    std::snprintf(line, sizeof line, "%s level %u (%.2g mm voxels): %d iterations, metric %.5f (%.2f s)",
                  r.stage.c_str(), level + 1, r.voxel_mm[0], r.iterations, r.metric, r.seconds);
    c.rep->debug(line);
  }
}

LBFGSB::Pointer make_lbfgsb(unsigned parameters, int iterations) {
  auto opt = LBFGSB::New();
  LBFGSB::BoundSelectionType none(parameters);
  none.Fill(0);  // unbounded
  LBFGSB::BoundValueType bound(parameters);
  bound.Fill(0.0);
  opt->SetBoundSelection(none);
  opt->SetLowerBound(bound);
  opt->SetUpperBound(bound);
  opt->SetCostFunctionConvergenceFactor(1e7);
  opt->SetGradientConvergenceTolerance(1e-6);
  opt->SetNumberOfIterations(static_cast<itk::SizeValueType>(iterations));
  opt->SetMaximumNumberOfFunctionEvaluations(static_cast<itk::SizeValueType>(2 * iterations));
  opt->SetMaximumNumberOfCorrections(5);
  return opt;
}

Transform from_matrix_offset(const itk::MatrixOffsetTransformBase<double, 3, 3>* t, const char* kind) {
  Transform out;
  out.kind = kind;
  for (int r = 0; r < 3; ++r) {
    for (int k = 0; k < 3; ++k) out.matrix[3 * r + k] = t->GetMatrix()[r][k];
    out.translation[r] = t->GetOffset()[r];
  }
  return out;
}

/// after o inner (inner applied first), both linear.
Transform compose(const Transform& after, const Transform& inner) {
  Transform comp;
  comp.kind = "affine";
  for (int r = 0; r < 3; ++r) {
    for (int k = 0; k < 3; ++k) {
      double s = 0;
      for (int j = 0; j < 3; ++j) s += after.matrix[3 * r + j] * inner.matrix[3 * j + k];
      comp.matrix[3 * r + k] = s;
    }
    double s = after.translation[r];
    for (int j = 0; j < 3; ++j) s += after.matrix[3 * r + j] * inner.translation[j];
    comp.translation[r] = s;
  }
  return comp;
}

}  // namespace

void validate(const Config& cfg) {
  if (cfg.stages.empty() || cfg.stages.front() != "rigid")
    throw UsageError("--stages must start with 'rigid' (e.g. rigid,affine,bspline)");
  bool affine = false, bspline = false;
  for (std::size_t i = 1; i < cfg.stages.size(); ++i) {
    const auto& s = cfg.stages[i];
    if (s == "affine" && !affine && !bspline)
      affine = true;
    else if (s == "bspline" && !bspline)
      bspline = true;
    else
      throw UsageError("--stages: '" + s +
                       "' is not allowed here (rigid, then optionally affine, then bspline)");
  }
  if (cfg.shrink_mm.empty() || cfg.shrink_mm.size() != cfg.smooth_mm.size())
    throw UsageError("--shrink and --smooth need the same number of levels");
  for (double v : cfg.shrink_mm)
    if (!(v >= 0 && v <= 50)) throw UsageError("--shrink: voxel sizes must be in [0, 50] mm");
  for (double v : cfg.smooth_mm)
    if (!(v >= 0 && v <= 50)) throw UsageError("--smooth: sigmas must be in [0, 50] mm");
  if (cfg.bins < 8 || cfg.bins > 256) throw UsageError("--bins must be in [8, 256]");
  if (cfg.samples < 1000) throw UsageError("--samples must be at least 1000");
  if (cfg.iterations < 1) throw UsageError("--iterations must be at least 1");
  if (bspline && !(cfg.bspline_spacing_mm >= 10 && cfg.bspline_spacing_mm <= 500))
    throw UsageError("--bspline-spacing must be in [10, 500] mm");
  if (bspline && cfg.bspline_iterations < 1) throw UsageError("--bspline-iterations must be at least 1");
}

Result register_images(const Volume& fixed, const Volume& moving, const Volume* fixed_mask,
                       const Volume* moving_mask, const Config& cfg, const Transform* initial,
                       Reporter& rep) {
  const auto t0 = std::chrono::steady_clock::now();
  validate(cfg);
  const bool want_affine = std::find(cfg.stages.begin(), cfg.stages.end(), "affine") != cfg.stages.end();
  const bool want_bspline = std::find(cfg.stages.begin(), cfg.stages.end(), "bspline") != cfg.stages.end();
  if (fixed.timepoints != 1 || moving.timepoints != 1)
    throw InputError("input", "registration needs 3D images (got 4D)");
  {
    std::lock_guard<std::mutex> lock(global_default);
    itk::MultiThreaderBase::SetGlobalDefaultNumberOfThreads(resolve_threads(cfg.threads));
  }

  Result res;
  const ItkImage::Pointer f = to_itk(fixed), m = to_itk(moving);
  Transform init = initial ? *initial : choose_init(fixed, moving, cfg.init, res.init_used);
  if (initial) res.init_used = "file";
  if (init.deformation) throw UsageError("--init: a deformable initial transform is not supported");
  res.initial = init;

  // The pyramid: each level's images built once from the full-resolution ones.
  const unsigned n = static_cast<unsigned>(cfg.shrink_mm.size());
  std::vector<ItkImage::Pointer> fl(n), ml(n);
  try {
    for (unsigned l = 0; l < n; ++l) {
      fl[l] = pyramid_image(f, cfg.shrink_mm[l], cfg.smooth_mm[l], cfg.threads);
      ml[l] = pyramid_image(m, cfg.shrink_mm[l], cfg.smooth_mm[l], cfg.threads);
    }
  } catch (const itk::ExceptionObject& e) {
    throw RegistrationError("registration",
                            std::string("cannot build the image pyramid (") + e.GetDescription() + ")");
  }
  res.pyramid_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  Mask::Pointer fm, mm;
  Common common;
  common.bins = cfg.bins;
  common.samples = cfg.samples;
  common.seed = cfg.seed;
  common.threads = cfg.threads;
  common.rep = &rep;
  if (fixed_mask) {
    fm = Mask::New();
    fm->SetImage(to_mask(*fixed_mask));
    fm->Update();
    common.fixed_mask = fm;
  }
  if (moving_mask) {
    mm = Mask::New();
    mm->SetImage(to_mask(*moving_mask));
    mm->Update();
    common.moving_mask = mm;
  }
  // Progress: the rigid stage is one unit, the others one each.
  const double units = 1.0 + want_affine + want_bspline;
  double done = 0;

  // The optimised rigid transform rotates about the fixed image's centre;
  // a non-rigid initial transform is applied after it, unchanged.
  const Vec3 c = centre_of(fixed.geom);
  const double radius = 0.5 * extent(fixed.geom) / 2;  // typical distance of image points from the centre
  struct Start {
    std::string init;
    Transform initial;
    Rigid::Pointer tx;
    Transform after;  // identity unless the initial transform is not rigid
    Affine::Pointer after_itk;
    std::vector<LevelReport> levels;
  };
  auto make_start = [&](const Transform& start_tx, const std::string& used) {
    Start s;
    s.init = used;
    s.initial = start_tx;
    s.tx = Rigid::New();
    Rigid::CenterType centre;
    for (int i = 0; i < 3; ++i) centre[i] = c[i];
    s.tx->SetCenter(centre);
    if (is_rigid(start_tx)) {
      Rigid::MatrixType R;
      for (int r = 0; r < 3; ++r)
        for (int k = 0; k < 3; ++k) R[r][k] = start_tx.matrix[3 * r + k];
      s.tx->SetMatrix(R);
      const Vec3 q = start_tx.apply(c);
      Rigid::OutputVectorType tr;
      for (int i = 0; i < 3; ++i) tr[i] = q[i] - c[i];
      s.tx->SetTranslation(tr);
    } else {
      s.after = start_tx;
      s.after_itk = to_affine(start_tx);
    }
    return s;
  };
  auto current = [&](const Start& s) {
    Transform t = from_matrix_offset(s.tx, "rigid");
    return s.after_itk ? compose(s.after, t) : t;
  };
  // Levels [from, to) of the rigid stage on one start; progress spans
  // [p0, p0 + span) of the whole run.
  auto run_rigid = [&](Start& s, unsigned from, unsigned to, double p0, double span) {
    for (unsigned l = from; l < to; ++l) {
      auto opt = Optimizer::New();
      Optimizer::ScalesType scales(s.tx->GetNumberOfParameters());
      for (unsigned i = 0; i < 3; ++i) scales[i] = 1.0;
      for (unsigned i = 3; i < 6; ++i) scales[i] = 1.0 / (radius * radius);
      opt->SetScales(scales);
      const auto sp = fl[l]->GetSpacing();
      // First step of each level: half (coarsest) or a quarter (finer
      // levels, which refine what the coarser found) of its smallest voxel
      // size, so no level jumps away from the previous level's answer.
      const double finest_mm = std::min({sp[0], sp[1], sp[2]});
      opt->SetLearningRate((l == 0 ? 0.5 : 0.25) * finest_mm);
      opt->SetMinimumStepLength(0.001);  // 1 um
      opt->SetRelaxationFactor(0.6);
      opt->SetNumberOfIterations(static_cast<itk::SizeValueType>(cfg.iterations));
      opt->SetGradientMagnitudeTolerance(1e-8);
      opt->SetReturnBestParametersAndValue(true);
      LevelReport r;
      r.stage = "rigid";
      run_level(fl[l].GetPointer(), ml[l].GetPointer(), s.tx.GetPointer(), s.after_itk.GetPointer(),
                opt.GetPointer(), common, l, p0 + span * double(l - from) / double(to - from),
                span / double(to - from), cfg.iterations, r);
      s.levels.push_back(r);
    }
  };

  Start chosen = make_start(init, res.init_used);
  try {
    res.metric_before = metric_value(fl[n - 1], ml[n - 1], init, cfg.bins, fm, cfg.threads);
    std::vector<Start> starts{chosen};
    if (!initial)
      for (const auto& e : cfg.extra_starts) {
        std::string used;
        const Transform start_tx = choose_init(fixed, moving, e, used);
        bool seen = false;
        for (const auto& s : starts) seen = seen || s.init == used;
        if (!seen) starts.push_back(make_start(start_tx, used));
      }
    if (starts.size() > 1 && n >= 2) {
      // Coarse levels from every start; the best metric on the second-finest
      // level's images (regular points, the same for every start) goes on.
      const double coarse = 0.5 / units;
      double best = 0;
      std::size_t pick = 0;
      for (std::size_t s = 0; s < starts.size(); ++s) {
        run_rigid(starts[s], 0, n - 1, coarse * double(s) / double(starts.size()),
                  coarse / double(starts.size()));
        StartReport sr;
        sr.init = starts[s].init;
        sr.metric = metric_value(fl[n - 2], ml[n - 2], current(starts[s]), cfg.bins, fm, cfg.threads);
        if (s == 0 || sr.metric < best) {
          best = sr.metric;
          pick = s;
        }
        res.starts.push_back(sr);
        rep.debug("start " + sr.init + ": metric " + std::to_string(sr.metric) + " after the coarse levels");
      }
      res.starts[pick].chosen = true;
      chosen = starts[pick];
      res.init_used = chosen.init;
      res.initial = chosen.initial;
      run_rigid(chosen, n - 1, n, coarse, 1.0 / units - coarse);
    } else {
      run_rigid(chosen, 0, n, 0, 1.0 / units);
    }
  } catch (const itk::ExceptionObject& e) {
    throw RegistrationError("registration", std::string("optimisation failed (") + e.GetDescription() + ")");
  }
  res.levels = chosen.levels;
  done += 1.0 / units;
  Transform found = current(chosen);

  // Optional affine stage on the finer levels (at most the last two),
  // starting from the rigid result.
  const unsigned fine_from = n >= 2 ? n - 2 : 0;
  // L-BFGS-B (affine, B-spline) ignores parameter scales and says so on
  // stderr at every level: not news to the user.
  struct Restore {
    bool on;
    ~Restore() { itk::Object::SetGlobalWarningDisplay(on); }
  } restore{itk::Object::GetGlobalWarningDisplay()};
  if (want_affine || want_bspline) itk::Object::GlobalWarningDisplayOff();
  if (want_affine) {
    auto ax = Affine::New();
    Affine::CenterType ac;
    for (int i = 0; i < 3; ++i) ac[i] = c[i];
    ax->SetCenter(ac);
    Affine::MatrixType A;
    for (int r = 0; r < 3; ++r)
      for (int k = 0; k < 3; ++k) A[r][k] = found.matrix[3 * r + k];
    ax->SetMatrix(A);
    const Vec3 q = found.apply(c);
    Affine::OutputVectorType tr;
    for (int i = 0; i < 3; ++i) tr[i] = q[i] - c[i];
    ax->SetTranslation(tr);
    try {
      for (unsigned l = fine_from; l < n; ++l) {
        // Twelve coupled parameters of mixed units: plain gradient descent
        // stalls before the scale terms converge. Conjugate gradients with a
        // line search, scales from the physical shift of each parameter, and
        // steps of at most a quarter voxel.
        auto opt = itk::ConjugateGradientLineSearchOptimizerv4Template<double>::New();
        const auto sp = fl[l]->GetSpacing();
        opt->SetLowerLimit(0);
        opt->SetUpperLimit(2);
        opt->SetEpsilon(0.2);
        opt->SetMaximumLineSearchIterations(20);
        opt->SetLearningRate(1.0);
        opt->SetDoEstimateLearningRateOnce(false);
        opt->SetDoEstimateLearningRateAtEachIteration(true);
        opt->SetMaximumStepSizeInPhysicalUnits(0.25 * std::max({sp[0], sp[1], sp[2]}));
        // Each iteration is a line search (several metric evaluations).
        opt->SetNumberOfIterations(static_cast<itk::SizeValueType>(std::min(cfg.iterations, 60)));
        opt->SetMinimumConvergenceValue(1e-6);
        opt->SetConvergenceWindowSize(10);
        opt->SetReturnBestParametersAndValue(true);
        LevelReport r;
        r.stage = "affine";
        run_level(fl[l].GetPointer(), ml[l].GetPointer(), ax.GetPointer(), nullptr, opt.GetPointer(), common,
                  l, done + double(l - fine_from) / (n - fine_from) / units, 1.0 / (n - fine_from) / units,
                  cfg.iterations, r, true);
        res.levels.push_back(r);
      }
    } catch (const itk::ExceptionObject& e) {
      throw RegistrationError("registration",
                              std::string("affine optimisation failed (") + e.GetDescription() + ")");
    }
    done += 1.0 / units;
    found = from_matrix_offset(ax, "affine");
  }

  // Optional B-spline stage (cubic, control points every
  // bspline_spacing_mm over the fixed image), in the fixed space before the
  // linear transform: q = A (p + D(p)) + t. L-BFGS-B on the second finest
  // level (a posture change is smooth at the control point spacing, and the
  // metric's cost is per sample, so finer levels add time, not accuracy).
  if (want_bspline) {
    auto bx = BSpline::New();
    BSpline::MeshSizeType mesh;
    BSpline::PhysicalDimensionsType dims;
    BSpline::OriginType origin;
    BSpline::DirectionType dir;
    // The domain: the fixed image's voxel-edge box, in its own axes.
    const Vec3 corner = fixed.geom.index_to_point(-0.5, -0.5, -0.5);
    for (unsigned d = 0; d < 3; ++d) {
      dims[d] = fixed.geom.spacing[d] * fixed.geom.size[d];
      mesh[d] = static_cast<unsigned>(std::max(1L, std::lround(dims[d] / cfg.bspline_spacing_mm)));
      origin[d] = corner[d];
      for (unsigned k = 0; k < 3; ++k) dir[d][k] = fixed.geom.direction[3 * d + k];
    }
    bx->SetTransformDomainOrigin(origin);
    bx->SetTransformDomainPhysicalDimensions(dims);
    bx->SetTransformDomainDirection(dir);
    bx->SetTransformDomainMeshSize(mesh);
    BSpline::ParametersType zero(bx->GetNumberOfParameters());
    zero.Fill(0.0);
    bx->SetParameters(zero);
    const auto linear_itk = to_affine(found);
    try {
      Common bc = common;
      bc.samples = std::min(common.samples, cfg.bspline_samples);
      for (unsigned l = fine_from; l < fine_from + 1; ++l) {
        auto opt = make_lbfgsb(bx->GetNumberOfParameters(), cfg.bspline_iterations);
        LevelReport r;
        r.stage = "bspline";
        run_level(fl[l].GetPointer(), ml[l].GetPointer(), bx.GetPointer(), linear_itk.GetPointer(),
                  opt.GetPointer(), bc, l, done, 1.0 / units, cfg.bspline_iterations, r);
        res.levels.push_back(r);
      }
    } catch (const itk::ExceptionObject& e) {
      throw RegistrationError("registration",
                              std::string("B-spline optimisation failed (") + e.GetDescription() + ")");
    }
    auto field = std::make_shared<BSplineField>();
    const auto* coef = bx->GetCoefficientImages()[0].GetPointer();
    field->grid = geometry_from_itk(coef);
    const auto& params = bx->GetParameters();
    field->coefficients.assign(params.begin(), params.end());
    for (double v : field->coefficients)
      if (!std::isfinite(v)) throw RegistrationError("registration", "the B-spline stage diverged");
    double largest = 0;
    for (double v : field->coefficients) largest = std::max(largest, std::fabs(v));
    if (largest > cfg.max_translation_mm) {
      char why[160];
      std::snprintf(why, sizeof why,
                    "implausible B-spline deformation: a control point moves %.1f mm (limit %.0f)", largest,
                    cfg.max_translation_mm);
      throw RegistrationError("registration", why);
    }
    found.kind = "bspline";
    found.deformation = field;
  }

  for (double v : found.matrix)
    if (!std::isfinite(v))
      throw RegistrationError("registration", "the optimiser diverged (non-finite parameters)");
  for (double v : found.translation)
    if (!std::isfinite(v))
      throw RegistrationError("registration", "the optimiser diverged (non-finite parameters)");
  res.transform = found;
  try {
    res.metric_after = metric_value(fl[n - 1], ml[n - 1], found, cfg.bins, fm, cfg.threads);
  } catch (const itk::ExceptionObject& e) {
    throw RegistrationError("registration",
                            std::string("cannot evaluate the result (") + e.GetDescription() + ")");
  }
  // Plausibility: how far the result moves the fixed image's centre from
  // where the scanner coordinates put it, how much it rotates, and (affine)
  // how much it scales or shears.
  const Transform lin = found.linear();
  const Vec3 q = lin.apply(c);
  const double shift = norm({q[0] - c[0], q[1] - c[1], q[2] - c[2]});
  char why[256];
  if (lin.rotation_deg() > cfg.max_rotation_deg) {
    std::snprintf(why, sizeof why, "implausible result: rotation of %.1f degrees (limit %.0f)",
                  lin.rotation_deg(), cfg.max_rotation_deg);
    throw RegistrationError("registration", why);
  }
  if (shift > cfg.max_translation_mm) {
    std::snprintf(why, sizeof why, "implausible result: moves the image centre by %.1f mm (limit %.0f)",
                  shift, cfg.max_translation_mm);
    throw RegistrationError("registration", why);
  }
  if (want_affine) {
    // Column lengths of A: scale factors along each axis.
    for (int k = 0; k < 3; ++k) {
      const double s = std::sqrt(lin.matrix[k] * lin.matrix[k] + lin.matrix[3 + k] * lin.matrix[3 + k] +
                                 lin.matrix[6 + k] * lin.matrix[6 + k]);
      if (s < 0.8 || s > 1.25) {
        std::snprintf(why, sizeof why, "implausible affine result: scales axis %d by %.3f (limit 0.8-1.25)",
                      k, s);
        throw RegistrationError("registration", why);
      }
    }
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
