// Internal: small deterministic image operations on float/uint8 grids used
// by the segmentation (smoothing, normalised convolution, morphology,
// connected components, convex hulls). Index = i + n0 * (j + n1 * k).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace mrivol {
namespace segment {

struct Dims {
  std::array<long, 3> n{1, 1, 1};
  std::array<double, 3> s{1, 1, 1};  ///< spacing, mm
  std::size_t count() const { return static_cast<std::size_t>(n[0] * n[1] * n[2]); }
  std::size_t index(long i, long j, long k) const {
    return static_cast<std::size_t>(i + n[0] * (j + n[1] * k));
  }
  bool inside(long i, long j, long k) const {
    return i >= 0 && j >= 0 && k >= 0 && i < n[0] && j < n[1] && k < n[2];
  }
};

using Mask = std::vector<std::uint8_t>;

/// Separable Gaussian (sigma in mm per axis; axes with sigma < 0.25 voxel are
/// left alone), truncated at 3 sigma, normalised at the borders.
std::vector<float> gaussian(const std::vector<float>& in, const Dims& d,
                            const std::array<double, 3>& sigma_mm, unsigned threads);
/// Normalised convolution: G*(v w) / G*(w); `fallback` where G*w < min_weight.
std::vector<float> normalized_convolution(const std::vector<float>& v, const Mask& w, const Dims& d,
                                          double sigma_mm, float fallback, unsigned threads,
                                          double min_weight = 1e-3);
/// Box dilation/erosion by `r` voxels along every axis (26-neighbourhood for r = 1).
Mask dilate(const Mask& m, const Dims& d, int r);
Mask erode(const Mask& m, const Dims& d, int r);
/// Erosion/dilation with an ellipsoid of radius r_mm (axes whose spacing
/// exceeds r_mm are not eroded along).
Mask erode_mm(const Mask& m, const Dims& d, double r_mm);
Mask dilate_mm(const Mask& m, const Dims& d, double r_mm);
/// Dilation by r_mm, and by at least one voxel along every axis (thick slices).
Mask dilate_at_least_one(const Mask& m, const Dims& d, double r_mm);
/// 26-connected components: labels (0 = background) and the voxel count of each label (index 0 unused).
std::vector<int> components(const Mask& m, const Dims& d, std::vector<std::size_t>& sizes);
/// Keep the components of at least min_voxels voxels.
Mask remove_small(const Mask& m, const Dims& d, std::size_t min_voxels);

/// 2D helpers on one plane (w x h pixels, pixel size sx, sy mm).
struct Plane2 {
  long w = 0, h = 0;
  double sx = 1, sy = 1;
};
/// 4-connected flood fill from (x, y) over `on` pixels.
std::vector<std::uint8_t> flood(const std::vector<std::uint8_t>& on, const Plane2& p, long x, long y);
/// Fill the holes (background not 4-connected to the border).
std::vector<std::uint8_t> fill_holes(const std::vector<std::uint8_t>& m, const Plane2& p);
/// Convex hull (of pixel centres) rasterised: pixels whose centre is inside.
/// `extra`: more points (mm, same frame as pixel centres x*sx, y*sy).
std::vector<std::uint8_t> convex_hull(const std::vector<std::uint8_t>& m, const Plane2& p,
                                      const std::vector<std::pair<double, double>>& extra = {});

double percentile(std::vector<float> v, double pct);
double percentile(std::vector<double> v, double pct);

}  // namespace segment
}  // namespace mrivol
