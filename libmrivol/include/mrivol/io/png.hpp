// PNG pictures (QC and previews) and oblique plane sampling of volumes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mrivol/core/volume.hpp"

namespace mrivol {
namespace io {

/// 8-bit greyscale (channels = 1) or RGB (channels = 3), written atomically.
void write_png(const std::string& path, unsigned width, unsigned height,
               const std::vector<std::uint8_t>& pixels, int channels, bool overwrite);

/// A picture plane in LPS: centre, unit vectors along the picture's columns
/// (to the right) and rows (downwards), pixel size and dimensions.
struct Plane {
  Vec3 centre{}, right{1, 0, 0}, down{0, 1, 0};
  double pixel_mm = 1.0;
  unsigned width = 256, height = 256;
};

/// Radiological views through an LPS point: sagittal (anterior left,
/// superior up) and axial (patient right on the left, anterior up).
Plane sagittal_plane(const Vec3& centre, double pixel_mm, unsigned width, unsigned height);
Plane axial_plane(const Vec3& centre, double pixel_mm, unsigned width, unsigned height);

/// Trilinear samples of volume t = 0 (0 outside the volume).
std::vector<float> sample_plane(const Volume& v, const Plane& p);

/// Map to 8 bits between two percentiles of the (non-zero) values.
std::vector<std::uint8_t> window(const std::vector<float>& values, double lo_pct = 0.5, double hi_pct = 99.5);

/// Checkerboard QC picture: sagittal and axial planes through the centre of
/// `a`'s grid, alternating 16-pixel tiles of a and b (each windowed on its
/// own, so intensity differences between sessions do not hide edges).
void write_checkerboard(const Volume& a, const Volume& b, const std::string& path, bool overwrite);

}  // namespace io
}  // namespace mrivol
