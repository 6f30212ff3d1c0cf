#include "mrivol/core/transform.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace mrivol {

double Transform::rotation_deg() const {
  const double tr = matrix[0] + matrix[4] + matrix[8];
  return std::acos(std::clamp((tr - 1) / 2, -1.0, 1.0)) * 180.0 / 3.14159265358979323846;
}

namespace {
/// Cubic B-spline kernel weights for the 4 control points starting at floor(x) - 1.
void cubic_weights(double x, long& start, double w[4]) {
  start = static_cast<long>(std::floor(x)) - 1;
  for (int k = 0; k < 4; ++k) {
    const double u = std::fabs(x - static_cast<double>(start + k));
    w[k] = u < 1 ? (4 - 6 * u * u + 3 * u * u * u) / 6 : u < 2 ? (2 - u) * (2 - u) * (2 - u) / 6 : 0;
  }
}
}  // namespace

Vec3 BSplineField::displacement(const Vec3& p) const {
  const Vec3 c = grid.point_to_index(p);
  long start[3];
  double w[3][4];
  for (int a = 0; a < 3; ++a) {
    // ITK's valid region for order 3: [1, size - 2).
    if (!(c[a] >= 1.0 && c[a] < static_cast<double>(grid.size[a]) - 2.0)) return {0, 0, 0};
    cubic_weights(c[a], start[a], w[a]);
  }
  const std::size_t n = grid.voxels();
  Vec3 d{0, 0, 0};
  for (int k = 0; k < 4; ++k)
    for (int j = 0; j < 4; ++j) {
      const double wjk = w[2][k] * w[1][j];
      const std::size_t row =
          (static_cast<std::size_t>(start[2] + k) * grid.size[1] + static_cast<std::size_t>(start[1] + j)) *
          grid.size[0];
      for (int i = 0; i < 4; ++i) {
        const double wt = wjk * w[0][i];
        const std::size_t at = row + static_cast<std::size_t>(start[0] + i);
        for (int a = 0; a < 3; ++a) d[a] += wt * coefficients[a * n + at];
      }
    }
  return d;
}

Transform Transform::linear() const {
  Transform r = *this;
  r.deformation.reset();
  if (r.kind == "bspline") r.kind = "affine";
  return r;
}

Transform Transform::inverse() const {
  if (deformation) throw std::logic_error("the inverse of a deformable transform is not available");
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

Transform fit_rigid(const std::vector<Vec3>& from, const std::vector<Vec3>& to) {
  const std::size_t n = from.size();
  Vec3 ca{}, cb{};
  for (std::size_t i = 0; i < n; ++i)
    for (int k = 0; k < 3; ++k) {
      ca[k] += from[i][k] / static_cast<double>(n);
      cb[k] += to[i][k] / static_cast<double>(n);
    }
  double S[3][3] = {};
  for (std::size_t i = 0; i < n; ++i)
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c) S[r][c] += (from[i][r] - ca[r]) * (to[i][c] - cb[c]);
  // Horn's symmetric 4x4 matrix; its top eigenvector is the rotation quaternion.
  double N[4][4] = {{S[0][0] + S[1][1] + S[2][2], S[1][2] - S[2][1], S[2][0] - S[0][2], S[0][1] - S[1][0]},
                    {S[1][2] - S[2][1], S[0][0] - S[1][1] - S[2][2], S[0][1] + S[1][0], S[2][0] + S[0][2]},
                    {S[2][0] - S[0][2], S[0][1] + S[1][0], -S[0][0] + S[1][1] - S[2][2], S[1][2] + S[2][1]},
                    {S[0][1] - S[1][0], S[2][0] + S[0][2], S[1][2] + S[2][1], -S[0][0] - S[1][1] + S[2][2]}};
  double V[4][4] = {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}};
  for (int sweep = 0; sweep < 50; ++sweep) {  // cyclic Jacobi
    double off = 0;
    for (int p = 0; p < 4; ++p)
      for (int q = p + 1; q < 4; ++q) off += N[p][q] * N[p][q];
    if (off < 1e-30) break;
    for (int p = 0; p < 4; ++p)
      for (int q = p + 1; q < 4; ++q) {
        if (std::fabs(N[p][q]) < 1e-300) continue;
        const double theta = (N[q][q] - N[p][p]) / (2 * N[p][q]);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int k = 0; k < 4; ++k) {
          const double a = N[k][p], b = N[k][q];
          N[k][p] = c * a - s * b;
          N[k][q] = s * a + c * b;
        }
        for (int k = 0; k < 4; ++k) {
          const double a = N[p][k], b = N[q][k];
          N[p][k] = c * a - s * b;
          N[q][k] = s * a + c * b;
        }
        for (int k = 0; k < 4; ++k) {
          const double a = V[k][p], b = V[k][q];
          V[k][p] = c * a - s * b;
          V[k][q] = s * a + c * b;
        }
      }
  }
  int best = 0;
  for (int i = 1; i < 4; ++i)
    if (N[i][i] > N[best][best]) best = i;
  const double w = V[0][best], x = V[1][best], y = V[2][best], z = V[3][best];
  Transform r;
  r.matrix = {w * w + x * x - y * y - z * z, 2 * (x * y - w * z),           2 * (x * z + w * y),
              2 * (x * y + w * z),           w * w - x * x + y * y - z * z, 2 * (y * z - w * x),
              2 * (x * z - w * y),           2 * (y * z + w * x),           w * w - x * x - y * y + z * z};
  for (int k = 0; k < 3; ++k)
    r.translation[k] =
        cb[k] - (r.matrix[3 * k] * ca[0] + r.matrix[3 * k + 1] * ca[1] + r.matrix[3 * k + 2] * ca[2]);
  return r;
}

}  // namespace mrivol
