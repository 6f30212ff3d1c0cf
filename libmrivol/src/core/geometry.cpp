#include "mrivol/core/geometry.hpp"

#include <cmath>

namespace mrivol {

double dot(const Vec3& a, const Vec3& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

Vec3 cross(const Vec3& a, const Vec3& b) {
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}

double norm(const Vec3& a) { return std::sqrt(dot(a, a)); }

Vec3 Geometry::index_to_point(double i, double j, double k) const {
  const double idx[3] = {i * spacing[0], j * spacing[1], k * spacing[2]};
  Vec3 p = origin;
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) p[r] += direction[3 * r + c] * idx[c];
  return p;
}

Vec3 Geometry::point_to_index(const Vec3& p) const {
  // Solve D * diag(s) * idx = p - o with the general 3x3 inverse (the
  // direction need not be orthonormal to be invertible).
  const auto& d = direction;
  const double det = d[0] * (d[4] * d[8] - d[5] * d[7]) - d[1] * (d[3] * d[8] - d[5] * d[6]) +
                     d[2] * (d[3] * d[7] - d[4] * d[6]);
  const double inv[9] = {(d[4] * d[8] - d[5] * d[7]) / det, (d[2] * d[7] - d[1] * d[8]) / det,
                         (d[1] * d[5] - d[2] * d[4]) / det, (d[5] * d[6] - d[3] * d[8]) / det,
                         (d[0] * d[8] - d[2] * d[6]) / det, (d[2] * d[3] - d[0] * d[5]) / det,
                         (d[3] * d[7] - d[4] * d[6]) / det, (d[1] * d[6] - d[0] * d[7]) / det,
                         (d[0] * d[4] - d[1] * d[3]) / det};
  const Vec3 q{p[0] - origin[0], p[1] - origin[1], p[2] - origin[2]};
  Vec3 idx{};
  for (int r = 0; r < 3; ++r)
    idx[r] = (inv[3 * r] * q[0] + inv[3 * r + 1] * q[1] + inv[3 * r + 2] * q[2]) / spacing[r];
  return idx;
}

std::array<char, 4> Geometry::axcodes_ras() const {
  // RAS+ axis codes as nibabel prints them: the letter names where each
  // voxel axis points *to*. LPS x+ = L, so RAS x = -LPS x.
  std::array<char, 4> out{'?', '?', '?', '\0'};
  for (int c = 0; c < 3; ++c) {
    const Vec3 a = axis(c);
    const double ras[3] = {-a[0], -a[1], a[2]};
    int best = 0;
    for (int r = 1; r < 3; ++r)
      if (std::fabs(ras[r]) > std::fabs(ras[best])) best = r;
    static const char pos[3] = {'R', 'A', 'S'}, neg[3] = {'L', 'P', 'I'};
    out[c] = ras[best] >= 0 ? pos[best] : neg[best];
  }
  return out;
}

}  // namespace mrivol
