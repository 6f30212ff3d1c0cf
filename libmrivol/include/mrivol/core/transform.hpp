// A spatial transform between two scans, in LPS millimetres.
//
// Convention (as ITK registration): fixed = pre, moving = post; the
// transform maps a physical LPS point of pre to the same anatomical point of
// post: q = A p + t.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "mrivol/core/geometry.hpp"

namespace mrivol {

struct Transform {
  std::array<double, 9> matrix{1, 0, 0, 0, 1, 0, 0, 0, 1};  ///< row-major A
  Vec3 translation{0, 0, 0};                                ///< t
  std::string kind = "rigid";                               ///< rigid, affine

  Vec3 apply(const Vec3& p) const {
    return {matrix[0] * p[0] + matrix[1] * p[1] + matrix[2] * p[2] + translation[0],
            matrix[3] * p[0] + matrix[4] * p[1] + matrix[5] * p[2] + translation[1],
            matrix[6] * p[0] + matrix[7] * p[1] + matrix[8] * p[2] + translation[2]};
  }
  /// Rotation angle (degrees) of the linear part's nearest rotation.
  double rotation_deg() const;
  Transform inverse() const;
  static Transform from_matrix4(const std::array<double, 16>& m);
};

/// The rigid transform that best maps `from` onto `to` in the least-squares
/// sense (Horn's closed form with unit quaternions). Sizes must match (>= 3).
Transform fit_rigid(const std::vector<Vec3>& from, const std::vector<Vec3>& to);

}  // namespace mrivol
