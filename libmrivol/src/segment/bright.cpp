// Slow-flow (bright) epidural veins on T2.
//
// The vein signal lies between epidural fat and CSF, and so does every voxel
// that straddles the thecal sac's wall: a threshold cannot tell them apart.
// The sac is therefore modelled: its wall is found on the rays from its
// centre where the profile steps cleanly from CSF to fat (a vein in the way
// puts a plateau of vein signal between them), a smooth closed curve is
// fitted to those points in each cross-section and smoothed along the canal,
// and its partial volume is rendered at the scan's voxel size (thick slices
// included). What the sac and the local fat level do not explain is vein:
// brighter than expected outside the sac (vein replacing fat), darker than
// expected just inside its front (vein pressing into the sac, where no nerve
// roots lie in a supine patient). A vein displaces whatever the voxel held,
// CSF and fat alike, so its fraction is the residual over the vein's contrast
// to that expected mixture; where the mixture is as bright as a vein (on the
// sac's wall) or the canal's cortex shares the voxel, the voxel's own value
// is weighted down and its neighbours fill in. Noise is reduced by smoothing
// along the canal, which the veins follow.
#include <algorithm>
#include <array>
#include <cmath>

#include "../core/parallel.hpp"
#include "internal.hpp"
#include "mrivol/core/error.hpp"

namespace mrivol {
namespace segment {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int kOrder = 3;              // harmonics of the sac's radial curve
constexpr int kCoef = 2 * kOrder + 1;  // plus the centre (2 more)
constexpr int kRays = 90;
// Vein fractions are divided by the vein's contrast to the expected
// CSF/fat mixture, never by less than this share of its contrast to fat.
constexpr double kMinContrast = 0.1;
// Weight of a voxel's own value at the canal's wall (cortex shares the
// voxel and reads darker than fat or vein): the rest comes from neighbours.
constexpr double kWallWeight = 0.6;
// Outside the sac's curve, what reads beyond this share of the way from
// fat to CSF is CSF.
constexpr double kCsfShare = 0.6;
// How far beyond the sac mask's edge the rays look for its wall (mm).
constexpr double kRayBeyond = 6.0;

double median_of(std::vector<float> v) { return v.empty() ? 0.0 : percentile(std::move(v), 50); }

// Two-class split of values (Otsu, 256 bins): the threshold and both class means.
struct Split {
  double threshold = 0, low = 0, high = 0;
};
Split otsu(const std::vector<float>& x) {
  Split s;
  if (x.empty()) return s;
  const auto [mn, mx] = std::minmax_element(x.begin(), x.end());
  const double a = *mn, b = *mx, wbin = (b - a) / 256;
  if (!(wbin > 0)) {
    s.threshold = s.low = s.high = a;
    return s;
  }
  std::array<double, 256> h{};
  for (float v : x) h[std::min<std::size_t>(255, std::size_t((v - a) / wbin))] += 1;
  double best = -1;
  for (int t = 1; t < 256; ++t) {
    double w0 = 0, w1 = 0, m0 = 0, m1 = 0;
    for (int i = 0; i < 256; ++i) {
      const double c = a + (i + 0.5) * wbin;
      (i < t ? w0 : w1) += h[std::size_t(i)];
      (i < t ? m0 : m1) += h[std::size_t(i)] * c;
    }
    if (w0 == 0 || w1 == 0) continue;
    m0 /= w0;
    m1 /= w1;
    const double v = w0 * w1 * (m0 - m1) * (m0 - m1);
    if (v > best) {
      best = v;
      s = {a + t * wbin, m0, m1};
    }
  }
  return s;
}

// The mode of values (64 bins between the 2nd and 98th percentiles, smoothed).
double mode_of(const std::vector<float>& x) {
  const double a = percentile(x, 2), b = percentile(x, 98), wbin = (b - a) / 64;
  if (!(wbin > 0)) return a;
  std::array<double, 64> h{};
  for (float v : x)
    if (v >= a && v < b) h[std::min<std::size_t>(63, std::size_t((v - a) / wbin))] += 1;
  double best = -1, m = a;
  for (int i = 0; i < 64; ++i) {
    double acc = 0;
    for (int o = -2; o <= 2; ++o)
      if (i + o >= 0 && i + o < 64) acc += (3 - std::abs(o)) * h[std::size_t(i + o)];
    if (acc > best) {
      best = acc;
      m = a + (i + 0.5) * wbin;
    }
  }
  return m;
}

// Least squares by normal equations (small, well-conditioned systems).
bool solve(std::vector<std::array<double, kCoef>>& rows, std::vector<double>& rhs,
           std::array<double, kCoef>& x) {
  std::array<std::array<double, kCoef + 1>, kCoef> A{};
  for (std::size_t r = 0; r < rows.size(); ++r)
    for (int i = 0; i < kCoef; ++i) {
      for (int j = 0; j < kCoef; ++j)
        A[std::size_t(i)][std::size_t(j)] += rows[r][std::size_t(i)] * rows[r][std::size_t(j)];
      A[std::size_t(i)][kCoef] += rows[r][std::size_t(i)] * rhs[r];
    }
  for (int i = 0; i < kCoef; ++i) A[std::size_t(i)][std::size_t(i)] += 1e-6;
  for (int i = 0; i < kCoef; ++i) {
    int p = i;
    for (int j = i + 1; j < kCoef; ++j)
      if (std::fabs(A[std::size_t(j)][std::size_t(i)]) > std::fabs(A[std::size_t(p)][std::size_t(i)])) p = j;
    std::swap(A[std::size_t(i)], A[std::size_t(p)]);
    const double d = A[std::size_t(i)][std::size_t(i)];
    if (std::fabs(d) < 1e-12) return false;
    for (int j = 0; j < kCoef; ++j) {
      if (j == i) continue;
      const double f = A[std::size_t(j)][std::size_t(i)] / d;
      for (int k = i; k <= kCoef; ++k)
        A[std::size_t(j)][std::size_t(k)] -= f * A[std::size_t(i)][std::size_t(k)];
    }
  }
  for (int i = 0; i < kCoef; ++i)
    x[std::size_t(i)] = A[std::size_t(i)][kCoef] / A[std::size_t(i)][std::size_t(i)];
  return true;
}

std::array<double, kCoef> basis(double t) {
  std::array<double, kCoef> b{};
  b[0] = 1;
  for (int n = 1; n <= kOrder; ++n) {
    b[std::size_t(2 * n - 1)] = std::cos(n * t);
    b[std::size_t(2 * n)] = std::sin(n * t);
  }
  return b;
}

// The sac's wall in one cross-section: centre (mm) and radial curve.
struct Curve {
  bool ok = false;
  double cx = 0, cy = 0;
  std::array<double, kCoef> a{};
  double radius(double t) const {
    const auto b = basis(t);
    double r = 0;
    for (int i = 0; i < kCoef; ++i) r += a[std::size_t(i)] * b[std::size_t(i)];
    return r;
  }
};

}  // namespace

void bright_t2_veins(const BrightInput& in, std::vector<float>& f, Mask& M, std::vector<float>& vein_at,
                     std::vector<float>& fat_at) {
  const Dims& c = in.c;
  const std::vector<float>& I = in.I;
  const Mask& canal = in.canal;
  const Mask& sac = in.sac;
  const std::vector<float>& csf0 = in.csf;
  const std::size_t nc = c.count();
  const double vox = c.s[0] * c.s[1] * c.s[2];
  std::array<double, 3> sig_s{0.4, 0.4, 0.4}, sig_l{0, 0, 0};
  sig_s[std::size_t(in.si)] = 2.5;
  sig_l[std::size_t(in.si)] = 1.0;
  const auto Is = gaussian(I, c, sig_s, in.threads);
  const auto Il = gaussian(I, c, sig_l, in.threads);
  const Mask sac_near = dilate_mm(sac, c, 3.0);
  const Mask canal_in = erode_mm(canal, c, 1.0);
  const int si = in.si, a1 = in.a1, a2 = in.a2;
  const long ns = c.n[si], n1 = c.n[a1], n2 = c.n[a2];
  const double s1 = c.s[a1], s2 = c.s[a2];
  auto at = [&](long x, long y, long k) {
    long p[3];
    p[si] = k;
    p[a1] = x;
    p[a2] = y;
    return c.index(p[0], p[1], p[2]);
  };
  // Fat and vein levels: the epidural space away from the sac and the walls
  // is mostly fat, so fat is its mode; the vein class is Otsu's upper one.
  Mask far(nc, 0);
  std::vector<float> fv;
  for (std::size_t v = 0; v < nc; ++v) {
    far[v] = canal[v] && canal_in[v] && !sac_near[v];
    if (far[v]) fv.push_back(Is[v]);
  }
  if (fv.size() < 50) throw QualityError("", "the epidural space found is too small to measure");
  const Split sp = otsu(fv);
  const double fat = mode_of(fv);
  // First guess of the vein's contrast over fat: half of CSF's (the mask's
  // core refines it below); Otsu's upper class when that is larger.
  std::vector<float> cs0;
  for (std::size_t v = 0; v < nc; ++v)
    if (sac[v]) cs0.push_back(csf0[v]);
  const double csf_med = cs0.empty() ? fat : median_of(cs0);
  double contrast = std::max({sp.high - fat, 0.5 * (csf_med - fat), 1e-3 * std::fabs(fat) + 1e-6});
  // Local fat level (receive bias): start from the whole space and drop the
  // brighter class relative to the current local level, three times.
  std::vector<float> B = normalized_convolution(Is, far, c, 8.0, float(fat), in.threads);
  for (int it = 0; it < 3; ++it) {
    Mask fat_m(nc, 0);
    for (std::size_t v = 0; v < nc; ++v) fat_m[v] = far[v] && Is[v] < B[v] + 0.5 * contrast * B[v] / fat;
    B = normalized_convolution(Is, fat_m, c, 8.0, float(fat), in.threads);
  }

  // Local CSF level: the sac's interior without the nerve roots.
  const Mask inner = erode_mm(sac, c, 2.0);
  std::vector<float> csf;
  {
    Mask cm(nc, 0);
    for (std::size_t v = 0; v < nc; ++v) cm[v] = inner[v] && Is[v] > B[v] + 0.75 * (csf0[v] - B[v]);
    csf = normalized_convolution(Is, cm, c, 6.0, -1e30f, in.threads, 0.05);
    for (std::size_t v = 0; v < nc; ++v)
      if (csf[v] < -1e29f) csf[v] = csf0[v];
  }
  // The sac's wall, section by section.
  std::vector<Curve> curves(static_cast<std::size_t>(ns));
  parallel_for(static_cast<std::size_t>(ns), in.threads, [&](std::size_t kk) {
    const long k = static_cast<long>(kk);
    double sx = 0, sy = 0, cnt = 0;
    std::vector<float> cs, fs;
    for (long y = 0; y < n2; ++y)
      for (long x = 0; x < n1; ++x) {
        const std::size_t v = at(x, y, k);
        if (sac[v]) {
          sx += x * s1;
          sy += y * s2;
          cnt += 1;
          if (inner[v]) cs.push_back(csf[v]);
        } else if (canal[v]) {
          fs.push_back(B[v]);
        }
      }
    if (cnt * s1 * s2 < 30 || fs.empty()) return;
    Curve cu;
    cu.cx = sx / cnt;
    cu.cy = sy / cnt;
    const double C = median_of(cs), F = median_of(fs), level = 0.5 * (C + F), q = 0.3 * (C - F);
    if (!(C - F > 0)) return;
    auto val = [&](double px, double py) {
      const double fx = std::clamp(px / s1, 0.0, double(n1 - 1)),
                   fy = std::clamp(py / s2, 0.0, double(n2 - 1));
      const long x0 = std::min(long(fx), n1 - 2 >= 0 ? n1 - 2 : 0),
                 y0 = std::min(long(fy), n2 - 2 >= 0 ? n2 - 2 : 0);
      const long x1 = std::min(x0 + 1, n1 - 1), y1 = std::min(y0 + 1, n2 - 1);
      const double wx = fx - x0, wy = fy - y0;
      return (1 - wy) * ((1 - wx) * Is[at(x0, y0, k)] + wx * Is[at(x1, y0, k)]) +
             wy * ((1 - wx) * Is[at(x0, y1, k)] + wx * Is[at(x1, y1, k)]);
    };
    std::vector<double> th, rr;
    for (int j = 0; j < kRays; ++j) {
      const double t = 2 * kPi * j / kRays, dx = std::cos(t), dy = std::sin(t);
      // Resolution along this ray decides what a clean step is.
      const double d = 0.5 * (std::fabs(dx) * s1 + std::fabs(dy) * s2) + 0.6;
      // Near the sac mask's edge on this ray (the nerve roots inside the
      // sac make dark dips farther in).
      double r_mask = -1;
      for (double r = 0; r <= 20.0; r += 0.1) {
        const long x = std::lround((cu.cx + r * dx) / s1), y = std::lround((cu.cy + r * dy) / s2);
        if (x < 0 || y < 0 || x >= n1 || y >= n2) break;
        if (sac[at(x, y, k)]) r_mask = r;
      }
      if (r_mask < 1.0) continue;
      const double r0 = std::max(0.2, r_mask - 2.5);
      auto at_r = [&](double r) { return val(cu.cx + r * dx, cu.cy + r * dy); };
      const double qf = 0.25 * (C - F);
      // The first step down from CSF that stays below the half-way level.
      double prev = at_r(r0 - 0.1), found = -1;
      for (double r = r0; r <= r_mask + kRayBeyond; r += 0.1) {
        const double cur = at_r(r);
        if (prev >= level && cur < level) {
          bool stays = true;
          for (double r2 = r; r2 <= r + 2.0 && stays; r2 += 0.25) stays = at_r(r2) < level;
          if (stays) {
            found = r - 0.1 + 0.1 * (prev - level) / std::max(1e-9, prev - cur);
            break;
          }
        }
        prev = cur;
      }
      if (found < 1.0) continue;
      // A clean step: CSF just inside (or, with a nerve root close inside,
      // a thin layer of CSF between the root and the wall).
      double inside_max = at_r(found - d);
      for (double r2 = found - d; r2 <= found - 0.3; r2 += 0.1) inside_max = std::max(inside_max, at_r(r2));
      if (inside_max < level + q) continue;
      if (at_r(found + d) < F - qf) {
        // Darker than fat beyond: a nerve root against the wall (supine,
        // the roots settle there). The wall is the root's edge to fat.
        double vmin = at_r(found + d), rmin = found + d;
        for (double r = found; r <= found + 4.0; r += 0.1)
          if (at_r(r) < vmin) {
            vmin = at_r(r);
            rmin = r;
          }
        const double lv = 0.5 * (vmin + F);
        double edge = -1;
        for (double r = rmin; r <= rmin + 3.0; r += 0.05)
          if (at_r(r) < lv && at_r(r + 0.05) >= lv) {
            edge = r + 0.05 * (lv - at_r(r)) / std::max(1e-9, at_r(r + 0.05) - at_r(r));
            break;
          }
        if (edge < 0 || std::fabs(at_r(edge + d) - F) > qf) continue;
        found = edge;
      } else if (at_r(found + d) > level - q) {
        continue;
      }
      th.push_back(t);
      rr.push_back(found);
    }
    if (th.size() < 24) return;
    // Rays in at least three quadrants.
    int quad = 0;
    for (int qd = 0; qd < 4; ++qd)
      quad += std::any_of(th.begin(), th.end(), [&](double t) { return int(t / (kPi / 2)) == qd; });
    if (quad < 3) return;
    std::vector<char> use(th.size(), 1);
    for (int it = 0; it < 3; ++it) {
      std::vector<std::array<double, kCoef>> rows;
      std::vector<double> rhs;
      for (std::size_t i = 0; i < th.size(); ++i)
        if (use[i]) {
          rows.push_back(basis(th[i]));
          rhs.push_back(rr[i]);
        }
      if (rows.size() < 2 * kCoef || !solve(rows, rhs, cu.a)) return;
      std::vector<double> res;
      for (std::size_t i = 0; i < th.size(); ++i) res.push_back(std::fabs(rr[i] - cu.radius(th[i])));
      const double sd = std::max(0.3, 1.4826 * percentile(res, 50));
      for (std::size_t i = 0; i < th.size(); ++i) use[i] = res[i] <= 3 * sd;
    }
    cu.ok = true;
    curves[kk] = cu;
  });
  // Smooth along the canal: the median of each parameter over +-4 mm.
  std::vector<Curve> sm(curves.size());
  const long rk = std::max(1L, std::lround(4.0 / c.s[si]));
  for (long k = 0; k < ns; ++k) {
    std::vector<double> vals[kCoef + 2];
    for (long q = std::max(0L, k - rk); q <= std::min(ns - 1, k + rk); ++q) {
      const Curve& cu = curves[std::size_t(q)];
      if (!cu.ok) continue;
      vals[0].push_back(cu.cx);
      vals[1].push_back(cu.cy);
      for (int i = 0; i < kCoef; ++i) vals[i + 2].push_back(cu.a[std::size_t(i)]);
    }
    if (vals[0].empty()) continue;
    Curve& o = sm[std::size_t(k)];
    o.ok = true;
    o.cx = percentile(vals[0], 50);
    o.cy = percentile(vals[1], 50);
    for (int i = 0; i < kCoef; ++i) o.a[std::size_t(i)] = percentile(vals[i + 2], 50);
  }
  // The sac's partial volume: the share of each voxel's area inside the
  // curve (sections without a curve keep their mask).
  std::vector<float> s(nc, 0.0f);
  const int m1 = std::clamp(int(std::ceil(s1 / 0.2)), 1, 12),
            m2 = std::clamp(int(std::ceil(s2 / 0.2)), 1, 12);
  const Mask near_canal = dilate_at_least_one(canal, c, 1.0);
  parallel_for(static_cast<std::size_t>(ns), in.threads, [&](std::size_t kk) {
    const long k = static_cast<long>(kk);
    const Curve& cu = sm[kk];
    for (long y = 0; y < n2; ++y)
      for (long x = 0; x < n1; ++x) {
        const std::size_t v = at(x, y, k);
        if (!cu.ok) {
          s[v] = sac[v];
          continue;
        }
        if (!near_canal[v]) continue;
        int inside = 0;
        for (int b = 0; b < m2; ++b)
          for (int a = 0; a < m1; ++a) {
            const double px = (x + (a + 0.5) / m1 - 0.5) * s1 - cu.cx,
                         py = (y + (b + 0.5) / m2 - 0.5) * s2 - cu.cy;
            inside += std::hypot(px, py) <=
                      cu.radius(std::atan2(py, px) < 0 ? std::atan2(py, px) + 2 * kPi : std::atan2(py, px));
          }
        s[v] = float(inside) / float(m1 * m2);
      }
  });
  // A vein is never brighter than the vein level: what reads well above it
  // towards CSF, outside the curve (CSF behind nerve roots that hid the
  // wall from the rays, a bulge the curve's few harmonics miss), is sac.
  for (std::size_t v = 0; v < nc; ++v) {
    if (!near_canal[v] || s[v] >= 1.0f) continue;
    const double Cv = csf[v];
    if (!(Cv > B[v])) continue;
    const double q = (Is[v] - B[v]) / (Cv - B[v]);
    if (q > kCsfShare) s[v] = std::max(s[v], static_cast<float>(std::clamp(2 * q - 1, 0.0, 1.0)));
  }
  // The local fat level again, now that the sac's partial volume is
  // modelled: the fat beside and behind the sac (within 3 mm of the sac
  // mask, left out above) is most of the fat in a wide sac's sections, and
  // the level extrapolated there from further away missed the bias field
  // by a few percent, which is half the vein's contrast (seen: +10 % of
  // the volume, fat read as vein behind the sac). Fine voxels only: on thick
  // slices the curve's partial volume is too coarse for this (seen: +9 % ->
  // +22 % on 3.5 mm sagittal slices).
  if (std::max({c.s[0], c.s[1], c.s[2]}) <= 1.2) {
    Mask sac_pv(nc, 0);
    for (std::size_t v = 0; v < nc; ++v) sac_pv[v] = s[v] > 0.001f;
    const Mask sac_pv_near = dilate_mm(sac_pv, c, 1.0);
    Mask far2(nc, 0);
    for (std::size_t v = 0; v < nc; ++v) far2[v] = canal[v] && canal_in[v] && !sac_pv_near[v];
    for (int it = 0; it < 3; ++it) {
      Mask fat_m(nc, 0);
      for (std::size_t v = 0; v < nc; ++v) fat_m[v] = far2[v] && Is[v] < B[v] + 0.5 * contrast * B[v] / fat;
      B = normalized_convolution(Is, fat_m, c, 8.0, float(fat), in.threads);
    }
  }
  // Distance inside the curve along the anterior direction's half: veins
  // press into the sac's front only.
  auto front = [&](std::size_t kk, long x, long y) {
    const Curve& cu = sm[kk];
    if (!cu.ok) return false;
    const double px = x * s1 - cu.cx, py = y * s2 - cu.cy;
    return px * in.anterior[0] + py * in.anterior[1] > 0;
  };
  Mask front_m(nc, 0);
  for (long k = 0; k < ns; ++k)
    for (long y = 0; y < n2; ++y)
      for (long x = 0; x < n1; ++x) front_m[at(x, y, k)] = front(std::size_t(k), x, y);

  // Vein fraction from what the sac and fat do not explain.
  const std::size_t min_vox = static_cast<std::size_t>(std::max(1.0, in.min_mm3 / vox));
  // The fraction field of `img`; `sb`: the sac's fractions blurred as `img`
  // was (the model of what the image shows without veins); `csf_side`:
  // whether a vein may also replace CSF. Where the sac's share makes the expected
  // mixture as bright as a vein (near its wall, s about 1/2), a voxel's own
  // value cannot tell vein from wall: its fraction is weighted by the
  // vein's contrast to the mixture (relative to fat) and the rest is taken
  // from its neighbours, weighted the same way.
  Mask wall(nc, 0);
  for (long z = 0; z < c.n[2]; ++z)
    for (long y = 0; y < c.n[1]; ++y)
      for (long x = 0; x < c.n[0]; ++x) {
        const std::size_t v = c.index(x, y, z);
        if (!canal[v]) continue;
        const long nb[6][3] = {{x - 1, y, z}, {x + 1, y, z}, {x, y - 1, z},
                               {x, y + 1, z}, {x, y, z - 1}, {x, y, z + 1}};
        for (const auto& q : nb)
          if (!c.inside(q[0], q[1], q[2]) || !canal[c.index(q[0], q[1], q[2])]) wall[v] = 1;
      }
  auto field = [&](const std::vector<float>& img, const std::vector<float>& sb, bool csf_side, double vc) {
    std::vector<float> fr(nc, 0.0f), w(nc, 0.0f), out(nc, 0.0f);
    for (std::size_t v = 0; v < nc; ++v) {
      if (!canal[v]) continue;
      const double Bv = B[v], Vv = Bv + vc * Bv / fat, Cv = csf[v];
      const double expect = sb[v] * Cv + (1 - sb[v]) * Bv;
      const double R = img[v] - expect, D = Vv - expect, VB = std::max(1e-6, Vv - Bv);
      double x = 0, conf = 1;
      if (D > 0) {
        if (sb[v] < 0.999) {
          conf = std::min(1.0, D / VB);
          x = R / std::max(kMinContrast * VB, D);
        }
      } else if (csf_side && s[v] > 0.001 && front_m[v] && !inner[v]) {
        conf = std::min(1.0, -D / VB);
        x = R / std::min(-kMinContrast * VB, D);
      }
      fr[v] = static_cast<float>(std::clamp(x, 0.0, 1.5));
      w[v] = static_cast<float>(conf * (wall[v] ? kWallWeight : 1.0));
    }
    for (long z = 0; z < c.n[2]; ++z)
      for (long y = 0; y < c.n[1]; ++y)
        for (long x = 0; x < c.n[0]; ++x) {
          const std::size_t v = c.index(x, y, z);
          if (!canal[v]) continue;
          if (w[v] >= 1.0f) {
            out[v] = fr[v];
            continue;
          }
          double sw = 0, sf = 0;
          for (long dz = -1; dz <= 1; ++dz)
            for (long dy = -1; dy <= 1; ++dy)
              for (long dx = -1; dx <= 1; ++dx) {
                if (!c.inside(x + dx, y + dy, z + dz) || (dx == 0 && dy == 0 && dz == 0)) continue;
                const std::size_t u = c.index(x + dx, y + dy, z + dz);
                if (!canal[u]) continue;
                sw += w[u];
                sf += double(w[u]) * fr[u];
              }
          const double nb = sw > 1e-6 ? sf / sw : fr[v];
          out[v] = static_cast<float>(w[v] * fr[v] + (1 - w[v]) * nb);
        }
    return out;
  };
  const auto s_si = gaussian(s, c, sig_s, in.threads), s_l = gaussian(s, c, sig_l, in.threads);
  // The transverse connections run across the canal: smoothing along it
  // would blur them away, so the fraction is also taken with smoothing
  // along each fine in-plane axis, and the largest counts.
  struct Dir {
    std::vector<float> img, sb;
    bool csf_side;
  };
  std::vector<Dir> dirs;
  for (int a : {a1, a2}) {
    if (c.s[a] > 1.2) continue;
    std::array<double, 3> sg{0.4, 0.4, 0.4};
    sg[std::size_t(a)] = 2.5;
    // Along the anterior direction the blur would carry the nerve roots'
    // darkness to the sac's front: the CSF side only across it.
    const double ant = std::fabs(a == a1 ? in.anterior[0] : in.anterior[1]);
    dirs.push_back({gaussian(I, c, sg, in.threads), gaussian(s, c, sg, in.threads), ant < 0.5});
  }
  Mask m;
  for (int pass = 0; pass < 3; ++pass) {
    m.assign(nc, 0);
    std::vector<float> best = field(Is, s_si, true, contrast);
    for (const auto& dr : dirs) {
      const auto fd = field(dr.img, dr.sb, dr.csf_side, contrast);
      for (std::size_t v = 0; v < nc; ++v) best[v] = std::max(best[v], fd[v]);
    }
    for (std::size_t v = 0; v < nc; ++v) m[v] = canal[v] && best[v] >= 0.5f;
    m = remove_small(m, c, min_vox);
    const Mask core = erode_mm(m, c, 1.0);
    std::vector<float> cv;
    for (std::size_t v = 0; v < nc; ++v)
      if (core[v] && s[v] < 0.01)
        cv.push_back(static_cast<float>((Il[v] - B[v]) * fat / std::max(1e-6, double(B[v]))));
    if (cv.size() < 20) break;
    contrast = std::max(median_of(cv), 1e-3 * std::fabs(fat) + 1e-6);
  }
  const Mask core = erode_mm(m, c, 1.0);
  const Mask band = dilate_at_least_one(m, c, 1.0);
  f.assign(nc, 0.0f);
  vein_at.assign(nc, 0.0f);
  fat_at = B;
  const auto fl = field(Il, s_l, true, contrast);
  for (std::size_t v = 0; v < nc; ++v) {
    vein_at[v] = static_cast<float>(B[v] + contrast * B[v] / fat);
    if (!band[v] || !canal[v]) continue;
    f[v] = core[v] ? 1.0f : std::min(1.0f, fl[v]);
  }
  // The binary mask is the fraction map's half-way level (the detection
  // mask above takes the largest of several smoothings, which widens it).
  for (std::size_t v = 0; v < nc; ++v) m[v] = f[v] >= 0.5f;
  m = remove_small(m, c, min_vox);
  M = m;
}

}  // namespace segment
}  // namespace mrivol
