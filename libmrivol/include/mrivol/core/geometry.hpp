// Image geometry in the DICOM/ITK patient frame: LPS millimetres.
#pragma once

#include <array>
#include <cstddef>

namespace mrivol {

using Vec3 = std::array<double, 3>;

struct Geometry {
  std::array<std::size_t, 3> size{1, 1, 1};
  Vec3 spacing{1, 1, 1};
  Vec3 origin{0, 0, 0};  ///< LPS position of the centre of voxel (0,0,0)
  /// Row-major 3x3; column c is the LPS unit vector of voxel axis c.
  std::array<double, 9> direction{1, 0, 0, 0, 1, 0, 0, 0, 1};

  Vec3 axis(int c) const { return {direction[c], direction[3 + c], direction[6 + c]}; }
  /// LPS point of continuous voxel index (i,j,k).
  Vec3 index_to_point(double i, double j, double k) const;
  /// Continuous voxel index of an LPS point.
  Vec3 point_to_index(const Vec3& p) const;
  std::size_t voxels() const { return size[0] * size[1] * size[2]; }
  /// Three-letter orientation code (ITK/DICOM convention: letters name the
  /// direction each axis points *from*, e.g. "RAI" for a standard LPS axial).
  /// We print the RAS+ convention used by NIfTI tools instead ("LAS", "PSR"...).
  std::array<char, 4> axcodes_ras() const;
};

double dot(const Vec3& a, const Vec3& b);
Vec3 cross(const Vec3& a, const Vec3& b);
double norm(const Vec3& a);

}  // namespace mrivol
