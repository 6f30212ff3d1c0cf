#include "mrivol/core/transform.hpp"

#include <algorithm>
#include <cmath>

namespace mrivol {

double Transform::rotation_deg() const {
  const double tr = matrix[0] + matrix[4] + matrix[8];
  return std::acos(std::clamp((tr - 1) / 2, -1.0, 1.0)) * 180.0 / 3.14159265358979323846;
}

Transform Transform::inverse() const {
  const auto& m = matrix;
  const double det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) +
                     m[2] * (m[3] * m[7] - m[4] * m[6]);
  Transform r;
  r.kind = kind;
  r.matrix = {(m[4] * m[8] - m[5] * m[7]) / det, (m[2] * m[7] - m[1] * m[8]) / det,
              (m[1] * m[5] - m[2] * m[4]) / det, (m[5] * m[6] - m[3] * m[8]) / det,
              (m[0] * m[8] - m[2] * m[6]) / det, (m[2] * m[3] - m[0] * m[5]) / det,
              (m[3] * m[7] - m[4] * m[6]) / det, (m[1] * m[6] - m[0] * m[7]) / det,
              (m[0] * m[4] - m[1] * m[3]) / det};
  for (int i = 0; i < 3; ++i)
    r.translation[i] = -(r.matrix[3 * i] * translation[0] + r.matrix[3 * i + 1] * translation[1] +
                         r.matrix[3 * i + 2] * translation[2]);
  return r;
}

Transform Transform::from_matrix4(const std::array<double, 16>& m) {
  Transform t;
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) t.matrix[3 * r + c] = m[4 * r + c];
    t.translation[r] = m[4 * r + 3];
  }
  return t;
}

}  // namespace mrivol
