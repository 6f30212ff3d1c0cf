// Pre/post registration (ITK v4 framework inside).
//
// fixed = pre, moving = post. The result maps a physical LPS point of pre to
// the same anatomical point of post (ITK's convention for the transform a
// registration of moving onto fixed produces).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mrivol/core/reporter.hpp"
#include "mrivol/core/transform.hpp"
#include "mrivol/core/volume.hpp"

namespace mrivol {
namespace registration {

struct Config {
  /// rigid, then optionally affine, then optionally bspline
  std::vector<std::string> stages{"rigid"};
  /// auto: header when both scans share a frame of reference (or their grids
  /// overlap), else moments; header: scanner coordinates (identity); moments:
  /// centres of mass; geometry: image centres.
  std::string init = "auto";
  /// Further starts to try (header, moments, geometry): each runs the coarse
  /// levels (all but the finest) from its own initialisation on the same
  /// pyramid, and only the one with the best metric there goes on to the
  /// finest level. Guards against a wrong local minimum from one start at
  /// little cost (the coarse levels are cheap). Ignored with an initial
  /// transform file.
  std::vector<std::string> extra_starts;
  std::vector<double> shrink_mm{6.0, 3.0, 0.0};  ///< target voxel size per level (0 = native)
  /// Gaussian sigma per level (mm); a little smoothing at the finest level
  /// keeps low-SNR pairs from wandering.
  std::vector<double> smooth_mm{3.0, 1.5, 0.5};
  int bins = 32;
  int samples = 50000;  ///< random metric samples per level (seeded; at most every voxel)
  std::uint64_t seed = 1;
  int iterations = 250;  ///< per level (rigid and affine)
  /// B-spline stage: control point spacing (mm), L-BFGS-B iterations and
  /// metric samples.
  double bspline_spacing_mm = 40;
  int bspline_iterations = 50;
  int bspline_samples = 10000;
  double max_translation_mm = 80, max_rotation_deg = 30;  ///< plausibility limits
  unsigned threads = 0;
};

struct LevelReport {
  std::string stage;  ///< rigid, affine or bspline
  std::array<double, 3> voxel_mm{};
  int iterations = 0;
  double metric = 0;
  std::string stop;
  double seconds = 0;  ///< wall time of this level's optimisation
};

struct StartReport {
  std::string init;   ///< header, moments or geometry
  double metric = 0;  ///< Mattes MI after the coarse levels (lower is better)
  bool chosen = false;
};

struct Result {
  Transform transform;  ///< pre point -> post point
  Transform initial;
  std::string init_used;
  double metric_before = 0, metric_after = 0;  ///< Mattes MI (ITK sign: lower is better)
  std::vector<LevelReport> levels;             ///< the chosen start's
  std::vector<StartReport> starts;             ///< empty with a single start
  double seconds = 0;
  double pyramid_seconds = 0;  ///< building every level's images (both scans)
};

/// Throws UsageError (exit 2) for a configuration register_images refuses
/// (stage order, levels, bins, samples...): tools check before reading inputs.
void validate(const Config& cfg);

/// Registers moving (post) onto fixed (pre). Masks (optional, non-zero =
/// inside) restrict the metric. Throws RegistrationError (exit 5) when the
/// optimiser diverges or the result is implausible.
Result register_images(const Volume& fixed, const Volume& moving, const Volume* fixed_mask,
                       const Volume* moving_mask, const Config& cfg, const Transform* initial = nullptr,
                       Reporter& rep = null_reporter());

/// The start `--init auto` takes for this pair: "header" (same frame of
/// reference, or centres within a quarter of the field of view) or "moments".
std::string auto_init(const Volume& fixed, const Volume& moving);

enum class Interpolation { nearest, linear, bspline };

/// moving resampled on `grid` through `t` (grid point -> moving point); 0 outside.
Volume resample(const Volume& moving, const Geometry& grid, const Transform& t, Interpolation interp,
                unsigned threads = 0);

}  // namespace registration
}  // namespace mrivol
