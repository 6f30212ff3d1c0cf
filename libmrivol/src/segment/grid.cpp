#include "grid.hpp"

#include <algorithm>
#include <cmath>
#include <deque>

#include "core/parallel.hpp"

namespace mrivol {
namespace segment {
namespace {

// One axis of a separable filter, lines distributed over threads.
void convolve_axis(const std::vector<float>& in, std::vector<float>& out, const Dims& d, int axis,
                   const std::vector<double>& kernel, unsigned threads) {
  const long r = static_cast<long>(kernel.size() / 2);
  const long n = d.n[axis];
  const long stride = axis == 0 ? 1 : axis == 1 ? d.n[0] : d.n[0] * d.n[1];
  const int a1 = axis == 0 ? 1 : 0, a2 = axis == 2 ? 1 : 2;
  const long lines = d.n[a1] * d.n[a2];
  parallel_for(static_cast<std::size_t>(lines), threads, [&](std::size_t li) {
    const long p = static_cast<long>(li) % d.n[a1], q = static_cast<long>(li) / d.n[a1];
    std::array<long, 3> idx{0, 0, 0};
    idx[a1] = p;
    idx[a2] = q;
    const std::size_t base = d.index(idx[0], idx[1], idx[2]);
    for (long x = 0; x < n; ++x) {
      double acc = 0, wsum = 0;
      const long lo = std::max(0L, x - r), hi = std::min(n - 1, x + r);
      for (long y = lo; y <= hi; ++y) {
        const double w = kernel[static_cast<std::size_t>(y - x + r)];
        acc += w * in[base + static_cast<std::size_t>(y * stride)];
        wsum += w;
      }
      out[base + static_cast<std::size_t>(x * stride)] = static_cast<float>(acc / wsum);
    }
  });
}

std::vector<double> gaussian_kernel(double sigma_vox) {
  const long r = std::max(1L, static_cast<long>(std::ceil(3 * sigma_vox)));
  std::vector<double> k(static_cast<std::size_t>(2 * r + 1));
  for (long i = -r; i <= r; ++i)
    k[static_cast<std::size_t>(i + r)] = std::exp(-0.5 * i * i / (sigma_vox * sigma_vox));
  return k;
}

// Box morphology along one axis at a time (separable for boxes).
Mask box(const Mask& m, const Dims& d, int r, bool dil) {
  Mask cur = m, next(m.size());
  for (int axis = 0; axis < 3; ++axis) {
    if (d.n[axis] == 1) continue;
    const long stride = axis == 0 ? 1 : axis == 1 ? d.n[0] : d.n[0] * d.n[1];
    for (std::size_t v = 0; v < cur.size(); ++v) {
      const long x = axis == 0   ? static_cast<long>(v) % d.n[0]
                     : axis == 1 ? (static_cast<long>(v) / d.n[0]) % d.n[1]
                                 : static_cast<long>(v) / (d.n[0] * d.n[1]);
      bool acc = !dil;
      for (long o = -r; o <= r; ++o) {
        const long y = x + o;
        if (y < 0 || y >= d.n[axis]) {
          if (!dil) acc = false;  // outside counts as background for erosion
          continue;
        }
        const bool on = cur[static_cast<std::size_t>(static_cast<long>(v) + o * stride)] != 0;
        if (dil && on) acc = true;
        if (!dil && !on) acc = false;
      }
      next[v] = acc ? 1 : 0;
    }
    std::swap(cur, next);
  }
  return cur;
}

Mask ellipsoid(const Mask& m, const Dims& d, const std::array<double, 3>& rad, bool dil) {
  std::vector<std::array<long, 3>> offs;
  std::array<long, 3> r{};
  for (int a = 0; a < 3; ++a) r[a] = static_cast<long>(std::floor(rad[a] / d.s[a] + 1e-9));
  for (long k = -r[2]; k <= r[2]; ++k)
    for (long j = -r[1]; j <= r[1]; ++j)
      for (long i = -r[0]; i <= r[0]; ++i) {
        const double x = i * d.s[0] / rad[0], y = j * d.s[1] / rad[1], z = k * d.s[2] / rad[2];
        if (x * x + y * y + z * z <= 1 + 1e-9 && (i || j || k)) offs.push_back({i, j, k});
      }
  Mask out(m.size());
  for (long k = 0; k < d.n[2]; ++k)
    for (long j = 0; j < d.n[1]; ++j)
      for (long i = 0; i < d.n[0]; ++i) {
        const std::size_t v = d.index(i, j, k);
        bool acc = m[v] != 0;
        if (acc != dil) {  // only voxels that may change
          for (const auto& o : offs) {
            const long a = i + o[0], b = j + o[1], c = k + o[2];
            const bool on = d.inside(a, b, c) && m[d.index(a, b, c)] != 0;
            if (dil && on) {
              acc = true;
              break;
            }
            if (!dil && !on) {
              acc = false;
              break;
            }
          }
        }
        out[v] = acc ? 1 : 0;
      }
  return out;
}

}  // namespace

std::vector<float> gaussian(const std::vector<float>& in, const Dims& d,
                            const std::array<double, 3>& sigma_mm, unsigned threads) {
  std::vector<float> a = in, b(in.size());
  for (int axis = 0; axis < 3; ++axis) {
    const double sv = sigma_mm[axis] / d.s[axis];
    if (sv < 0.25 || d.n[axis] == 1) continue;
    convolve_axis(a, b, d, axis, gaussian_kernel(sv), threads);
    std::swap(a, b);
  }
  return a;
}

std::vector<float> normalized_convolution(const std::vector<float>& v, const Mask& w, const Dims& d,
                                          double sigma_mm, float fallback, unsigned threads,
                                          double min_weight) {
  std::vector<float> vw(v.size()), ww(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    ww[i] = w[i] ? 1.0f : 0.0f;
    vw[i] = w[i] ? v[i] : 0.0f;
  }
  const std::array<double, 3> s{sigma_mm, sigma_mm, sigma_mm};
  vw = gaussian(vw, d, s, threads);
  ww = gaussian(ww, d, s, threads);
  for (std::size_t i = 0; i < v.size(); ++i) vw[i] = ww[i] > min_weight ? vw[i] / ww[i] : fallback;
  return vw;
}

Mask dilate(const Mask& m, const Dims& d, int r) { return box(m, d, r, true); }
Mask erode(const Mask& m, const Dims& d, int r) { return box(m, d, r, false); }
Mask erode_mm(const Mask& m, const Dims& d, double r_mm) {
  return ellipsoid(m, d, {r_mm, r_mm, r_mm}, false);
}
Mask dilate_mm(const Mask& m, const Dims& d, double r_mm) {
  return ellipsoid(m, d, {r_mm, r_mm, r_mm}, true);
}
Mask dilate_at_least_one(const Mask& m, const Dims& d, double r_mm) {
  std::array<double, 3> rad{};
  for (int a = 0; a < 3; ++a) rad[a] = std::max(r_mm, d.s[a] * 1.01);
  return ellipsoid(m, d, rad, true);
}

std::vector<int> components(const Mask& m, const Dims& d, std::vector<std::size_t>& sizes) {
  std::vector<int> lab(m.size(), 0);
  sizes.assign(1, 0);
  std::vector<std::size_t> stack;
  for (std::size_t s = 0; s < m.size(); ++s) {
    if (!m[s] || lab[s]) continue;
    const int id = static_cast<int>(sizes.size());
    sizes.push_back(0);
    lab[s] = id;
    stack.assign(1, s);
    while (!stack.empty()) {
      const std::size_t v = stack.back();
      stack.pop_back();
      ++sizes[static_cast<std::size_t>(id)];
      const long i = static_cast<long>(v) % d.n[0], j = (static_cast<long>(v) / d.n[0]) % d.n[1],
                 k = static_cast<long>(v) / (d.n[0] * d.n[1]);
      for (long c = k - 1; c <= k + 1; ++c)
        for (long b = j - 1; b <= j + 1; ++b)
          for (long a = i - 1; a <= i + 1; ++a) {
            if (!d.inside(a, b, c)) continue;
            const std::size_t u = d.index(a, b, c);
            if (m[u] && !lab[u]) {
              lab[u] = id;
              stack.push_back(u);
            }
          }
    }
  }
  return lab;
}

Mask remove_small(const Mask& m, const Dims& d, std::size_t min_voxels) {
  std::vector<std::size_t> sizes;
  const auto lab = components(m, d, sizes);
  Mask out(m.size(), 0);
  for (std::size_t v = 0; v < m.size(); ++v)
    if (lab[v] && sizes[static_cast<std::size_t>(lab[v])] >= min_voxels) out[v] = 1;
  return out;
}

std::vector<std::uint8_t> flood(const std::vector<std::uint8_t>& on, const Plane2& p, long x, long y) {
  std::vector<std::uint8_t> out(on.size(), 0);
  if (x < 0 || y < 0 || x >= p.w || y >= p.h || !on[static_cast<std::size_t>(x + p.w * y)]) return out;
  std::vector<std::pair<long, long>> st{{x, y}};
  out[static_cast<std::size_t>(x + p.w * y)] = 1;
  while (!st.empty()) {
    const auto [a, b] = st.back();
    st.pop_back();
    const long nb[4][2] = {{a - 1, b}, {a + 1, b}, {a, b - 1}, {a, b + 1}};
    for (const auto& q : nb) {
      if (q[0] < 0 || q[1] < 0 || q[0] >= p.w || q[1] >= p.h) continue;
      const std::size_t u = static_cast<std::size_t>(q[0] + p.w * q[1]);
      if (on[u] && !out[u]) {
        out[u] = 1;
        st.push_back({q[0], q[1]});
      }
    }
  }
  return out;
}

std::vector<std::uint8_t> fill_holes(const std::vector<std::uint8_t>& m, const Plane2& p) {
  std::vector<std::uint8_t> bg(m.size()), reach(m.size(), 0);
  for (std::size_t i = 0; i < m.size(); ++i) bg[i] = m[i] ? 0 : 1;
  for (long x = 0; x < p.w; ++x)
    for (long y : {0L, p.h - 1}) {
      const std::size_t u = static_cast<std::size_t>(x + p.w * y);
      if (bg[u] && !reach[u]) {
        const auto f = flood(bg, p, x, y);
        for (std::size_t i = 0; i < f.size(); ++i) reach[i] |= f[i];
      }
    }
  for (long y = 0; y < p.h; ++y)
    for (long x : {0L, p.w - 1}) {
      const std::size_t u = static_cast<std::size_t>(x + p.w * y);
      if (bg[u] && !reach[u]) {
        const auto f = flood(bg, p, x, y);
        for (std::size_t i = 0; i < f.size(); ++i) reach[i] |= f[i];
      }
    }
  std::vector<std::uint8_t> out(m.size());
  for (std::size_t i = 0; i < m.size(); ++i) out[i] = reach[i] ? 0 : 1;
  return out;
}

std::vector<std::uint8_t> convex_hull(const std::vector<std::uint8_t>& m, const Plane2& p,
                                      const std::vector<std::pair<double, double>>& extra) {
  using P = std::pair<double, double>;
  std::vector<P> pts = extra;
  for (long y = 0; y < p.h; ++y)
    for (long x = 0; x < p.w; ++x)
      if (m[static_cast<std::size_t>(x + p.w * y)]) pts.push_back({x * p.sx, y * p.sy});
  std::vector<std::uint8_t> out(m.size(), 0);
  if (pts.size() < 3) return m;
  std::sort(pts.begin(), pts.end());
  auto crossz = [](const P& o, const P& a, const P& b) {
    return (a.first - o.first) * (b.second - o.second) - (a.second - o.second) * (b.first - o.first);
  };
  std::vector<P> h(2 * pts.size());
  std::size_t k = 0;
  for (std::size_t i = 0; i < pts.size(); ++i) {
    while (k >= 2 && crossz(h[k - 2], h[k - 1], pts[i]) <= 0) --k;
    h[k++] = pts[i];
  }
  for (std::size_t i = pts.size() - 1, t = k + 1; i > 0; --i) {
    while (k >= t && crossz(h[k - 2], h[k - 1], pts[i - 1]) <= 0) --k;
    h[k++] = pts[i - 1];
  }
  h.resize(k - 1);
  if (h.size() < 3) return m;
  double xmin = 1e30, xmax = -1e30, ymin = 1e30, ymax = -1e30;
  for (const auto& q : h) {
    xmin = std::min(xmin, q.first);
    xmax = std::max(xmax, q.first);
    ymin = std::min(ymin, q.second);
    ymax = std::max(ymax, q.second);
  }
  const long y0 = static_cast<long>(std::floor(ymin / p.sy)), y1 = static_cast<long>(std::ceil(ymax / p.sy));
  const long x0 = static_cast<long>(std::floor(xmin / p.sx)), x1 = static_cast<long>(std::ceil(xmax / p.sx));
  for (long y = std::max(0L, y0); y <= std::min(p.h - 1, y1); ++y)
    for (long x = std::max(0L, x0); x <= std::min(p.w - 1, x1); ++x) {
      const P q{x * p.sx, y * p.sy};
      bool in = true;
      for (std::size_t i = 0; i < h.size() && in; ++i)
        if (crossz(h[i], h[(i + 1) % h.size()], q) < -1e-9) in = false;
      if (in) out[static_cast<std::size_t>(x + p.w * y)] = 1;
    }
  return out;
}

double percentile(std::vector<double> v, double pct) {
  if (v.empty()) return 0.0;
  const std::size_t k = static_cast<std::size_t>(pct / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

double percentile(std::vector<float> v, double pct) {
  if (v.empty()) return 0.0;
  const std::size_t k = std::min(
      v.size() - 1, static_cast<std::size_t>(std::llround(pct / 100.0 * static_cast<double>(v.size() - 1))));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

}  // namespace segment
}  // namespace mrivol
