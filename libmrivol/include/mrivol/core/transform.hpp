// A spatial transform between two scans, in LPS millimetres.
//
// Convention (as ITK registration): fixed = pre, moving = post; the
// transform maps a physical LPS point of pre to the same anatomical point of
// post: q = A p + t.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "mrivol/core/geometry.hpp"

namespace mrivol {

/// A cubic B-spline displacement field as ITK's BSplineTransform stores it:
/// control points on `grid` (the coefficient image), coefficients of x for
/// every control point (x fastest), then of y, then of z. Zero outside the
/// region where all 4x4x4 supporting control points exist (as ITK).
struct BSplineField {
  Geometry grid;
  std::vector<double> coefficients;  ///< 3 * grid.voxels()
  Vec3 displacement(const Vec3& p) const;
};

struct Transform {
  std::array<double, 9> matrix{1, 0, 0, 0, 1, 0, 0, 0, 1};  ///< row-major A
  Vec3 translation{0, 0, 0};                                ///< t
  std::string kind = "rigid";                               ///< rigid, affine, bspline
  /// Deformable part, applied first: q = A (p + D(p)) + t (ITK composite
  /// [affine, B-spline]). Null for rigid and affine transforms.
  std::shared_ptr<const BSplineField> deformation;

  Vec3 apply(const Vec3& p0) const {
    Vec3 p = p0;
    if (deformation) {
      const Vec3 d = deformation->displacement(p0);
      p = {p0[0] + d[0], p0[1] + d[1], p0[2] + d[2]};
    }
    return {matrix[0] * p[0] + matrix[1] * p[1] + matrix[2] * p[2] + translation[0],
            matrix[3] * p[0] + matrix[4] * p[1] + matrix[5] * p[2] + translation[1],
            matrix[6] * p[0] + matrix[7] * p[1] + matrix[8] * p[2] + translation[2]};
  }
  /// Rotation angle (degrees) of the linear part's nearest rotation.
  double rotation_deg() const;
  /// Inverse of the linear part; throws for deformable transforms.
  Transform inverse() const;
  /// The linear part alone (A, t).
  Transform linear() const;
  static Transform from_matrix4(const std::array<double, 16>& m);
};

/// The rigid transform that best maps `from` onto `to` in the least-squares
/// sense (Horn's closed form with unit quaternions). Sizes must match (>= 3).
Transform fit_rigid(const std::vector<Vec3>& from, const std::vector<Vec3>& to);

}  // namespace mrivol
