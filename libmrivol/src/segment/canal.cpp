// The spinal canal: centreline of the thecal sac, canal and sac per cross-section.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/parallel.hpp"
#include "internal.hpp"
#include "mrivol/core/error.hpp"

namespace mrivol {
namespace segment {

Vec3 Work::point(double x1, double x2, double w) const {
  const auto i = index(x1, x2, w);
  return g.index_to_point(i[0], i[1], i[2]);
}

std::array<double, 3> Work::index(double x1, double x2, double w) const {
  std::array<double, 3> i{};
  i[a1] = x1 / d.s[a1];
  i[a2] = x2 / d.s[a2];
  i[si] = w / d.s[si];
  return i;
}

std::size_t Work::voxel(long p1, long p2, long k) const {
  std::array<long, 3> i{};
  i[a1] = p1;
  i[a2] = p2;
  i[si] = k;
  return d.index(i[0], i[1], i[2]);
}

float sample(const std::vector<float>& v, const Dims& d, double i, double j, double k) {
  const double c[3] = {std::clamp(i, 0.0, double(d.n[0] - 1)), std::clamp(j, 0.0, double(d.n[1] - 1)),
                       std::clamp(k, 0.0, double(d.n[2] - 1))};
  long b[3];
  double f[3];
  for (int a = 0; a < 3; ++a) {
    b[a] = std::min(static_cast<long>(c[a]), std::max(0L, d.n[a] - 2));
    f[a] = d.n[a] == 1 ? 0.0 : c[a] - b[a];
  }
  double acc = 0;
  for (int dz = 0; dz < 2; ++dz)
    for (int dy = 0; dy < 2; ++dy)
      for (int dx = 0; dx < 2; ++dx) {
        const double wgt = (dx ? f[0] : 1 - f[0]) * (dy ? f[1] : 1 - f[1]) * (dz ? f[2] : 1 - f[2]);
        if (wgt == 0) continue;
        acc += wgt * v[d.index(std::min(b[0] + dx, d.n[0] - 1), std::min(b[1] + dy, d.n[1] - 1),
                               std::min(b[2] + dz, d.n[2] - 1))];
      }
  return static_cast<float>(acc);
}

namespace {

constexpr double kPi = 3.141592653589793;

struct Down {
  Dims d;
  std::array<long, 3> f{1, 1, 1};
  std::vector<float> v;
};

// Block averages to about 2 mm voxels.
Down downsample(const Work& w) {
  Down o;
  for (int a = 0; a < 3; ++a) {
    o.f[a] = std::max(1L, std::lround(2.0 / w.d.s[a]));
    o.d.n[a] = (w.d.n[a] + o.f[a] - 1) / o.f[a];
    o.d.s[a] = w.d.s[a] * o.f[a];
  }
  o.v.assign(o.d.count(), 0.0f);
  std::vector<float> cnt(o.d.count(), 0.0f);
  for (long k = 0; k < w.d.n[2]; ++k)
    for (long j = 0; j < w.d.n[1]; ++j)
      for (long i = 0; i < w.d.n[0]; ++i) {
        const std::size_t t = o.d.index(i / o.f[0], j / o.f[1], k / o.f[2]);
        o.v[t] += w.img[w.d.index(i, j, k)];
        cnt[t] += 1;
      }
  for (std::size_t t = 0; t < o.v.size(); ++t) o.v[t] /= cnt[t];
  return o;
}

// "Brighter (polarity +1) or darker than what surrounds it": in each of 8
// directions of the cross-section, the largest difference to the points
// 11, 14 and 17 mm away; the score is the smallest over the directions (a
// shell such as subcutaneous fat fails along itself, a thin dark cortex in
// one direction does not hide the marrow behind it).
std::vector<float> tube_score(const Work& w, const Down& D, int pol) {
  std::vector<float> s(D.v.size(), 0.0f);
  const double radii[3] = {11.0, 14.0, 17.0};
  parallel_for(static_cast<std::size_t>(D.d.n[w.si]), w.threads, [&](std::size_t kk) {
    const long k = static_cast<long>(kk);
    for (long q = 0; q < D.d.n[w.a2]; ++q)
      for (long p = 0; p < D.d.n[w.a1]; ++p) {
        std::array<long, 3> idx{};
        idx[w.a1] = p;
        idx[w.a2] = q;
        idx[w.si] = k;
        const std::size_t v = D.d.index(idx[0], idx[1], idx[2]);
        const double j0 = pol * D.v[v];
        double score = 1e30;
        for (int m = 0; m < 8 && score > 0; ++m) {
          const double th = m * kPi / 4;
          double best = -1e30;
          for (double R : radii) {
            std::array<double, 3> c{double(idx[0]), double(idx[1]), double(idx[2])};
            c[w.a1] += R * std::cos(th) / D.d.s[w.a1];
            c[w.a2] += R * std::sin(th) / D.d.s[w.a2];
            bool ok = true;
            for (int a = 0; a < 3; ++a)
              if (c[a] < 0 || c[a] > D.d.n[a] - 1) ok = false;
            if (ok) best = std::max(best, j0 - pol * sample(D.v, D.d, c[0], c[1], c[2]));
          }
          score = std::min(score, best);
        }
        s[v] = static_cast<float>(std::max(0.0, score));
      }
  });
  return s;
}

// Weighted least squares polynomial (degree <= 3) in t.
std::array<double, 4> polyfit(const std::vector<double>& t, const std::vector<double>& y,
                              const std::vector<double>& wt, int degree) {
  const int n = degree + 1;
  double A[4][5] = {};
  for (std::size_t i = 0; i < t.size(); ++i) {
    double p[4] = {1, t[i], t[i] * t[i], t[i] * t[i] * t[i]};
    for (int r = 0; r < n; ++r) {
      for (int c = 0; c < n; ++c) A[r][c] += wt[i] * p[r] * p[c];
      A[r][n] += wt[i] * p[r] * y[i];
    }
  }
  for (int c = 0; c < n; ++c) {
    int piv = c;
    for (int r = c + 1; r < n; ++r)
      if (std::fabs(A[r][c]) > std::fabs(A[piv][c])) piv = r;
    for (int k = 0; k <= n; ++k) std::swap(A[c][k], A[piv][k]);
    if (std::fabs(A[c][c]) < 1e-12) continue;
    for (int r = 0; r < n; ++r) {
      if (r == c) continue;
      const double f = A[r][c] / A[c][c];
      for (int k = c; k <= n; ++k) A[r][k] -= f * A[c][k];
    }
  }
  std::array<double, 4> out{};
  for (int c = 0; c < n; ++c)
    out[static_cast<std::size_t>(c)] = std::fabs(A[c][c]) < 1e-12 ? 0 : A[c][n] / A[c][c];
  return out;
}

struct CentrePoint {
  double w, x1, x2, weight;
};

void fit_centreline(Work& w, std::vector<CentrePoint> pts) {
  double lo = 1e30, hi = -1e30;
  for (const auto& p : pts) {
    lo = std::min(lo, p.w);
    hi = std::max(hi, p.w);
  }
  w.wn0 = 0.5 * (lo + hi);
  w.wns = std::max(1.0, 0.5 * (hi - lo));
  std::vector<double> t, y1, y2, wt;
  for (const auto& p : pts) {
    t.push_back((p.w - w.wn0) / w.wns);
    y1.push_back(p.x1);
    y2.push_back(p.x2);
    wt.push_back(p.weight);
  }
  const int degree = static_cast<int>(std::min<std::size_t>(3, pts.size() - 1));
  for (int pass = 0; pass < 3; ++pass) {
    w.c1 = polyfit(t, y1, wt, degree);
    w.c2 = polyfit(t, y2, wt, degree);
    if (pass == 2) break;
    for (std::size_t i = 0; i < pts.size(); ++i) {
      const double e1 = w.centre1(pts[i].w) - y1[i], e2 = w.centre2(pts[i].w) - y2[i];
      if (std::hypot(e1, e2) > 4.0) wt[i] = 0;
    }
  }
  const double wmax = (w.d.n[w.si] - 1) * w.d.s[w.si];
  w.w_lo = std::max(0.0, lo - 10.0);
  w.w_hi = std::min(wmax, hi + 10.0);
}

bool in_box(const Options& opt, const Vec3& p) {
  if (!opt.region.box) return true;
  const auto& b = *opt.region.box;
  for (int a = 0; a < 3; ++a)
    if (p[a] < std::min(b[a], b[a + 3]) || p[a] > std::max(b[a], b[a + 3])) return false;
  return true;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

std::vector<double> running_median(const std::vector<double>& v, const std::vector<char>& ok, long r) {
  std::vector<double> out(v.size(), 0.0);
  for (long i = 0; i < static_cast<long>(v.size()); ++i) {
    std::vector<double> win;
    for (long j = std::max(0L, i - r); j <= std::min<long>(static_cast<long>(v.size()) - 1, i + r); ++j)
      if (ok[static_cast<std::size_t>(j)]) win.push_back(v[static_cast<std::size_t>(j)]);
    out[static_cast<std::size_t>(i)] = win.empty() ? v[static_cast<std::size_t>(i)] : median(win);
  }
  return out;
}

// 2D erosion/dilation by one pixel along the in-plane axes whose pixel is
// at most 1.2 mm (thick-slice axes are left alone).
std::vector<std::uint8_t> morph2(const std::vector<std::uint8_t>& m, const Plane2& p, bool dil) {
  const bool ax = p.sx <= 1.2, ay = p.sy <= 1.2;
  std::vector<std::uint8_t> o(m.size());
  for (long y = 0; y < p.h; ++y)
    for (long x = 0; x < p.w; ++x) {
      const std::size_t u = static_cast<std::size_t>(x + p.w * y);
      bool acc = m[u] != 0;
      auto visit = [&](long a, long b) {
        const bool on = a >= 0 && b >= 0 && a < p.w && b < p.h && m[static_cast<std::size_t>(a + p.w * b)];
        if (dil)
          acc = acc || on;
        else
          acc = acc && on;
      };
      if (ax) {
        visit(x - 1, y);
        visit(x + 1, y);
      }
      if (ay) {
        visit(x, y - 1);
        visit(x, y + 1);
      }
      o[u] = acc ? 1 : 0;
    }
  return o;
}

}  // namespace

static void sections(Work& w, const Options& opt, Result& r, Reporter& rep, const Mask& user);

// The best tube: the path through the cross-sections (moving at most about
// 3 mm per section) that collects the most score, found by dynamic
// programming; a short strongly scored blob cannot beat a long canal.
// Returns the path's points where the score is substantial, and its total.
static double best_path(const Work& w, const Down& D, const std::vector<float>& score,
                        std::vector<CentrePoint>& pts) {
  const long n1 = D.d.n[w.a1], n2 = D.d.n[w.a2], ns = D.d.n[w.si];
  const double move = std::max(3.0, 1.5 * D.d.s[w.si]);
  const long r1 = std::max(1L, std::lround(move / D.d.s[w.a1])),
             r2 = std::max(1L, std::lround(move / D.d.s[w.a2]));
  const std::size_t np = static_cast<std::size_t>(n1 * n2);
  auto at = [&](long k, long p, long q) {
    std::array<long, 3> idx{};
    idx[w.a1] = p;
    idx[w.a2] = q;
    idx[w.si] = k;
    return score[D.d.index(idx[0], idx[1], idx[2])];
  };
  std::vector<double> prev(np), cur(np);
  std::vector<std::int32_t> back(np * static_cast<std::size_t>(ns), -1);
  for (long q = 0; q < n2; ++q)
    for (long p = 0; p < n1; ++p) prev[static_cast<std::size_t>(p + n1 * q)] = at(0, p, q);
  for (long k = 1; k < ns; ++k) {
    for (long q = 0; q < n2; ++q)
      for (long p = 0; p < n1; ++p) {
        double best = -1;
        std::int32_t arg = -1;
        for (long b = std::max(0L, q - r2); b <= std::min(n2 - 1, q + r2); ++b)
          for (long a = std::max(0L, p - r1); a <= std::min(n1 - 1, p + r1); ++a) {
            const std::size_t u = static_cast<std::size_t>(a + n1 * b);
            if (prev[u] > best) {
              best = prev[u];
              arg = static_cast<std::int32_t>(u);
            }
          }
        const std::size_t v = static_cast<std::size_t>(p + n1 * q);
        cur[v] = best + at(k, p, q);
        back[static_cast<std::size_t>(k) * np + v] = arg;
      }
    std::swap(prev, cur);
  }
  std::size_t end = static_cast<std::size_t>(std::max_element(prev.begin(), prev.end()) - prev.begin());
  const double total = prev[end];
  std::vector<std::pair<long, std::size_t>> path;
  for (long k = ns - 1; k >= 0; --k) {
    path.push_back({k, end});
    if (k > 0) end = static_cast<std::size_t>(back[static_cast<std::size_t>(k) * np + end]);
  }
  std::vector<double> sc;
  for (const auto& [k, u] : path) sc.push_back(at(k, long(u) % n1, long(u) / n1));
  std::vector<double> sorted = sc;
  std::sort(sorted.begin(), sorted.end());
  const double typical = sorted[sorted.size() * 3 / 4];
  pts.clear();
  // A real canal stands out from the noise: the typical score along the path
  // must exceed 3 noise standard deviations of the 2 mm image (estimated
  // from neighbour differences, robustly).
  {
    std::vector<float> dif;
    for (long k = 0; k < D.d.n[2]; ++k)
      for (long j = 0; j < D.d.n[1]; ++j)
        for (long i = 0; i + 1 < D.d.n[0]; ++i)
          dif.push_back(std::fabs(D.v[D.d.index(i + 1, j, k)] - D.v[D.d.index(i, j, k)]));
    const double sigma = percentile(dif, 50) / (0.6745 * std::sqrt(2.0));
    if (typical < 3 * sigma) return 0.0;
  }
  for (std::size_t i = path.size(); i-- > 0;) {
    const auto [k, u] = path[i];
    if (sc[i] < 0.2 * typical || sc[i] <= 0) continue;
    const long p = long(u) % n1, q = long(u) / n1;
    // Score-weighted centroid of the high scores within 10 mm of the path
    // point (the path itself may wander inside a broad maximum).
    const long h1 = std::max(1L, std::lround(10.0 / D.d.s[w.a1])),
               h2 = std::max(1L, std::lround(10.0 / D.d.s[w.a2]));
    double sw = 0, s1 = 0, s2 = 0;
    for (long b = std::max(0L, q - h2); b <= std::min(n2 - 1, q + h2); ++b)
      for (long a = std::max(0L, p - h1); a <= std::min(n1 - 1, p + h1); ++a) {
        const double v = at(k, a, b);
        if (v < 0.4 * sc[i]) continue;
        sw += v;
        s1 += v * (a * D.f[w.a1] + 0.5 * (D.f[w.a1] - 1)) * w.d.s[w.a1];
        s2 += v * (b * D.f[w.a2] + 0.5 * (D.f[w.a2] - 1)) * w.d.s[w.a2];
      }
    pts.push_back({(k * D.f[w.si] + 0.5 * (D.f[w.si] - 1)) * w.d.s[w.si], s1 / sw, s2 / sw, sc[i]});
  }
  return total;
}

static void exclude_near_air(const Down& D, int polarity, std::vector<float>& score);

double tube_strength(const Work& w, int polarity) {
  const Down D = downsample(w);
  auto s = tube_score(w, D, polarity);
  std::vector<float> v = D.v;
  const double range = percentile(v, 99.0) - percentile(v, 1.0);
  std::vector<CentrePoint> pts;
  exclude_near_air(D, polarity, s);
  return range > 0 ? best_path(w, D, s, pts) / range : 0.0;
}

// Zero the score within 25 mm of the air around the body (the canal is deep;
// the posterior midline fat under the skin is a bright tube too). Air is
// found on T2 only: fat-suppressed fat is as dark as air on T1.
static void exclude_near_air(const Down& D, int polarity, std::vector<float>& score) {
  if (polarity < 0) return;
  std::vector<float> v = D.v;
  const double thr = 0.12 * percentile(v, 99.0);
  Mask low(D.v.size()), out(D.v.size(), 0);
  for (std::size_t i = 0; i < low.size(); ++i) low[i] = D.v[i] < thr;
  std::vector<std::size_t> st;
  for (long k = 0; k < D.d.n[2]; ++k)
    for (long j = 0; j < D.d.n[1]; ++j)
      for (long i = 0; i < D.d.n[0]; ++i) {
        const bool border =
            i == 0 || j == 0 || k == 0 || i == D.d.n[0] - 1 || j == D.d.n[1] - 1 || k == D.d.n[2] - 1;
        const std::size_t u = D.d.index(i, j, k);
        if (border && low[u] && !out[u]) {
          out[u] = 1;
          st.push_back(u);
        }
      }
  while (!st.empty()) {
    const std::size_t u = st.back();
    st.pop_back();
    const long i = long(u) % D.d.n[0], j = (long(u) / D.d.n[0]) % D.d.n[1],
               k = long(u) / (D.d.n[0] * D.d.n[1]);
    const long nb[6][3] = {{i - 1, j, k}, {i + 1, j, k}, {i, j - 1, k},
                           {i, j + 1, k}, {i, j, k - 1}, {i, j, k + 1}};
    for (const auto& q : nb) {
      if (!D.d.inside(q[0], q[1], q[2])) continue;
      const std::size_t x = D.d.index(q[0], q[1], q[2]);
      if (low[x] && !out[x]) {
        out[x] = 1;
        st.push_back(x);
      }
    }
  }
  // A box of +-25 mm along the finest axis (separable: fast).
  const double smin = std::min({D.d.s[0], D.d.s[1], D.d.s[2]});
  const Mask near = dilate(out, D.d, static_cast<int>(std::lround(25.0 / smin)));
  for (std::size_t i = 0; i < score.size(); ++i)
    if (near[i]) score[i] = 0;
}

static void find_tube(Work& w, const Options& opt, Result& r, std::vector<CentrePoint>& pts) {
  const Down D = downsample(w);
  auto score = tube_score(w, D, w.polarity);
  exclude_near_air(D, w.polarity, score);
  // Restrict to the box; seeds pull the path through them.
  const float smax = *std::max_element(score.begin(), score.end());
  for (long k = 0; k < D.d.n[2]; ++k)
    for (long j = 0; j < D.d.n[1]; ++j)
      for (long i = 0; i < D.d.n[0]; ++i) {
        const Vec3 p = w.g.index_to_point(i * D.f[0] + 0.5 * (D.f[0] - 1), j * D.f[1] + 0.5 * (D.f[1] - 1),
                                          k * D.f[2] + 0.5 * (D.f[2] - 1));
        if (!in_box(opt, p)) score[D.d.index(i, j, k)] = 0;
      }
  for (const auto& s : opt.region.seeds) {
    const Vec3 ci = w.g.point_to_index(s);
    const long i = std::lround(ci[0] / D.f[0]), j = std::lround(ci[1] / D.f[1]),
               k = std::lround(ci[2] / D.f[2]);
    if (D.d.inside(i, j, k)) score[D.d.index(i, j, k)] = std::max(score[D.d.index(i, j, k)], 100 * smax + 1);
  }
  best_path(w, D, score, pts);
  if (!pts.empty()) {
    r.region_source = opt.region.seeds.empty() ? "automatic" : "automatic, through the seeds";
  } else if (opt.region.seeds.size() >= 2) {
    for (const auto& s : opt.region.seeds) {
      const Vec3 ci = w.g.point_to_index(s);
      pts.push_back({ci[w.si] * w.d.s[w.si], ci[w.a1] * w.d.s[w.a1], ci[w.a2] * w.d.s[w.a2], 1.0});
    }
    r.region_source = "seeds";
    r.warnings.push_back("no tube found near the seeds: the centreline follows the seed points");
    std::sort(pts.begin(), pts.end(), [](const CentrePoint& a, const CentrePoint& b) { return a.w < b.w; });
  }
}

static void sections(Work& w, const Options& opt, Result& r, Reporter& rep, const Mask& user);

void find_canal(Work& w, const Options& opt, Result& r, Reporter& rep) {
  const Dims& d = w.d;
  std::vector<CentrePoint> pts;
  // A user mask (prefilled in w.canal) is the canal: its centroids give the centreline.
  const Mask user = w.canal;
  const bool user_mask = !user.empty();
  if (user_mask) {
    for (long k = 0; k < d.n[w.si]; ++k) {
      double n = 0, x1 = 0, x2 = 0;
      for (long y = 0; y < d.n[w.a2]; ++y)
        for (long x = 0; x < d.n[w.a1]; ++x)
          if (user[w.voxel(x, y, k)]) {
            n += 1;
            x1 += x * d.s[w.a1];
            x2 += y * d.s[w.a2];
          }
      if (n > 0) pts.push_back({k * d.s[w.si], x1 / n, x2 / n, n});
    }
  } else {
    find_tube(w, opt, r, pts);
  }
  double span = 0;
  if (!pts.empty()) span = pts.back().w - pts.front().w;
  if (pts.size() < 2 || std::fabs(span) < 30.0)
    throw QualityError("", user_mask ? "the region mask covers less than 30 mm of the spine"
                                     : std::string("no spinal canal found (no ") +
                                           (w.polarity > 0 ? "bright" : "dark") +
                                           " tube along the spine; give --seeds, --roi-box or --roi-mask, or "
                                           "check --contrast)");
  fit_centreline(w, pts);
  if (user_mask) {
    w.w_lo = pts.front().w;
    w.w_hi = pts.back().w;
  }
  sections(w, opt, r, rep, user);
}

static void sections(Work& w, const Options& opt, Result& r, Reporter& rep, const Mask& user) {
  const Dims& d = w.d;
  const bool user_mask = !user.empty();

  // Anterior direction in the cross-section: patient anterior is LPS -y.
  {
    const Vec3 e1 = w.g.axis(w.a1), e2 = w.g.axis(w.a2);
    double u = -e1[1], v = -e2[1];
    const double n = std::hypot(u, v);
    if (n < 0.2) throw InputError("", "the scan's cross-sections do not contain the anterior direction");
    w.anterior_dir = {u / n, v / n};
  }

  // Per native cross-section: CSF level at the centre and the level of the
  // surroundings (ring 14-18 mm).
  const long ns = d.n[w.si], n1 = d.n[w.a1], n2 = d.n[w.a2];
  const double s1 = d.s[w.a1], s2 = d.s[w.a2];
  const Plane2 pl{n1, n2, s1, s2};
  std::vector<double> csf(static_cast<std::size_t>(ns), 0), ring(static_cast<std::size_t>(ns), 0);
  w.section_ok.assign(static_cast<std::size_t>(ns), 0);
  std::vector<char> in_range(static_cast<std::size_t>(ns), 0);
  auto plane_of = [&](const std::vector<float>& v, long k) {
    std::vector<double> P(static_cast<std::size_t>(n1 * n2));
    for (long y = 0; y < n2; ++y)
      for (long x = 0; x < n1; ++x) P[static_cast<std::size_t>(x + n1 * y)] = v[w.voxel(x, y, k)];
    return P;
  };
  parallel_for(static_cast<std::size_t>(ns), w.threads, [&](std::size_t kk) {
    const long k = static_cast<long>(kk);
    const double wk = k * d.s[w.si];
    if (wk < w.w_lo || wk > w.w_hi) return;
    in_range[kk] = 1;
    const double cx = w.centre1(wk), cy = w.centre2(wk);
    std::vector<double> in, out;
    const double rin = std::max(4.0, 0.6 * std::max(s1, s2));
    for (long y = 0; y < n2; ++y)
      for (long x = 0; x < n1; ++x) {
        const double rr = std::hypot(x * s1 - cx, y * s2 - cy);
        const double val = w.smooth[w.voxel(x, y, k)];
        if (rr <= rin) in.push_back(val);
        if (rr >= 14 && rr <= 18) out.push_back(val);
      }
    csf[kk] = percentile(in, w.polarity > 0 ? 75 : 25);  // nerve roots lie in the middle of the sac
    ring[kk] = median(out);
  });
  const long rmed = std::max(1L, std::lround(15.0 / d.s[w.si]));
  csf = running_median(csf, in_range, rmed);
  ring = running_median(ring, in_range, rmed);
  w.csf_level = csf;
  w.anterior_mm.assign(static_cast<std::size_t>(ns), 0);
  w.canal.assign(d.count(), 0);
  w.sac.assign(d.count(), 0);
  const std::vector<float> sac_src =
      w.polarity < 0 ? gaussian(w.img, d, {1.5, 1.5, 1.5}, w.threads) : w.smooth;  // T1: CSF vs fat is subtle
  std::vector<std::vector<std::uint8_t>> canal_sec(static_cast<std::size_t>(ns)),
      sac_sec(static_cast<std::size_t>(ns));
  // Pass 1: the canal contents (CSF and fat: bright on T2, dark on T1)
  // connected to the centre, and the anterior wall on the midline.
  std::vector<std::vector<std::uint8_t>> region_sec(static_cast<std::size_t>(ns));
  std::vector<double> wall(static_cast<std::size_t>(ns), -1.0), half_width(static_cast<std::size_t>(ns), 0.0);
  std::vector<char> wall_ok(static_cast<std::size_t>(ns), 0);
  std::vector<double> tau_sec(static_cast<std::size_t>(ns), 0.0);
  const std::vector<float> smooth_t1 =
      w.polarity < 0 ? gaussian(w.img, d, {2.0, 2.0, 2.0}, w.threads) : std::vector<float>{};
  if (!user_mask) {
    parallel_for(static_cast<std::size_t>(ns), w.threads, [&](std::size_t kk) {
      if (!in_range[kk]) return;
      const long k = static_cast<long>(kk);
      const double wk = k * d.s[w.si];
      const double cx = w.centre1(wk), cy = w.centre2(wk);
      const auto P = plane_of(w.polarity > 0 ? w.smooth : smooth_t1, k);
      if (w.polarity * (csf[kk] - ring[kk]) <= 0) return;
      // T2: between epidural fat (a little less bright than CSF) and the
      // walls. T1: CSF, fat and bone are close (and the nerve roots brighten
      // the sac): two classes of the darker values within 16 mm (2 mm
      // smoothing), split halfway between their medians.
      double tau = ring[kk] + 0.42 * (csf[kk] - ring[kk]);
      if (w.polarity < 0) {
        std::vector<double> in, out;
        for (long y = 0; y < n2; ++y)
          for (long x = 0; x < n1; ++x) {
            const double val = P[static_cast<std::size_t>(x + n1 * y)],
                         rr = std::hypot(x * s1 - cx, y * s2 - cy);
            if (rr <= 6.0) in.push_back(val);
            if (rr >= 12.0 && rr <= 18.0) out.push_back(val);
          }
        // The darker quarter of the surroundings is bone (the rest muscle and fat).
        tau = 0.5 * (percentile(in, 25) + percentile(out, 25));
      }
      std::vector<std::uint8_t> content(P.size(), 0);
      long bx = -1, by = -1;
      double bd0 = 1e30;
      for (long y = 0; y < n2; ++y)
        for (long x = 0; x < n1; ++x) {
          const double rr = std::hypot(x * s1 - cx, y * s2 - cy);
          const std::size_t u = static_cast<std::size_t>(x + n1 * y);
          content[u] = rr <= 16.0 && w.polarity * (P[u] - tau) > 0;
        }
      const auto core = morph2(content, pl, false);
      for (long y = 0; y < n2; ++y)
        for (long x = 0; x < n1; ++x) {
          const double rr = std::hypot(x * s1 - cx, y * s2 - cy);
          if (core[static_cast<std::size_t>(x + n1 * y)] && rr < bd0 && rr <= 5.0) {
            bd0 = rr;
            bx = x;
            by = y;
          }
        }
      if (bx < 0) return;
      auto region = morph2(flood(core, pl, bx, by), pl, true);
      for (std::size_t u = 0; u < region.size(); ++u) region[u] = region[u] && content[u];
      tau_sec[kk] = tau;
      region_sec[kk] = std::move(region);
    });
    // The anterior direction from the image: the canal's contents are
    // symmetric about the midsagittal plane, so their principal axes (second
    // moments over every section, each about its own centroid) are the
    // lateral and the anterior-posterior axes, whatever the patient's
    // rotation in the scanner. (From the scanner's axes alone, a spine
    // turned 4 degrees about its long axis put one corner of the anterior
    // wall 0.9 mm inside the canal and the other 0.9 mm outside.) The
    // scanner's direction stays when the contents are nearly round or the
    // axes found are far from it, and on cross-sections of thick slices (a
    // symmetric canal sampled at 3-5 mm across is not symmetric any more).
    if (std::max(s1, s2) <= 1.5 * std::min(s1, s2)) {
      double sxx = 0, syy = 0, sxy = 0;
      for (long k = 0; k < ns; ++k) {
        const auto& reg = region_sec[static_cast<std::size_t>(k)];
        if (reg.empty()) continue;
        double n = 0, mx = 0, my = 0;
        for (long y = 0; y < n2; ++y)
          for (long x = 0; x < n1; ++x)
            if (reg[static_cast<std::size_t>(x + n1 * y)]) {
              n += 1;
              mx += x * s1;
              my += y * s2;
            }
        if (n < 10) continue;
        mx /= n;
        my /= n;
        for (long y = 0; y < n2; ++y)
          for (long x = 0; x < n1; ++x)
            if (reg[static_cast<std::size_t>(x + n1 * y)]) {
              const double dx = x * s1 - mx, dy = y * s2 - my;
              sxx += dx * dx;
              syy += dy * dy;
              sxy += dx * dy;
            }
      }
      const double tr = sxx + syy, det = sxx * syy - sxy * sxy;
      const double disc = std::sqrt(std::max(0.0, 0.25 * tr * tr - det));
      const double l1 = 0.5 * tr + disc, l2 = 0.5 * tr - disc;  // l1: lateral (the wider axis)
      if (tr > 0 && l2 > 0 && l1 > 1.15 * l2) {
        // Eigenvector of l2 (the anterior-posterior axis).
        double ax = sxy, ay = l2 - sxx;
        if (std::hypot(ax, ay) < 1e-12 * tr) {
          ax = l2 - syy;
          ay = sxy;
        }
        const double an = std::hypot(ax, ay);
        ax /= an;
        ay /= an;
        const double dot = ax * w.anterior_dir[0] + ay * w.anterior_dir[1];
        if (dot < 0) {
          ax = -ax;
          ay = -ay;
        }
        if (std::fabs(dot) >= std::cos(25.0 * 3.14159265358979323846 / 180.0)) w.anterior_dir = {ax, ay};
      }
    }
  }
  const double lat[2] = {-w.anterior_dir[1], w.anterior_dir[0]};
  if (!user_mask) {
    parallel_for(static_cast<std::size_t>(ns), w.threads, [&](std::size_t kk) {
      if (region_sec[kk].empty()) return;
      const long k = static_cast<long>(kk);
      const double wk = k * d.s[w.si];
      const double cx = w.centre1(wk), cy = w.centre2(wk);
      const auto P = plane_of(w.polarity > 0 ? w.smooth : smooth_t1, k);
      const double tau = tau_sec[kk];
      const auto& region = region_sec[kk];
      double hw = 0;
      for (long y = 0; y < n2; ++y)
        for (long x = 0; x < n1; ++x)
          if (region[static_cast<std::size_t>(x + n1 * y)])
            hw = std::max(hw, std::fabs((x * s1 - cx) * lat[0] + (y * s2 - cy) * lat[1]));
      // Midline profile towards anterior: the wall is where the contents
      // end for good (5 mm of wall: vertebral body or disc).
      auto content_at = [&](double t) {
        double acc = 0;
        for (double o : {-1.5, 0.0, 1.5}) {
          const double px = (cx + t * w.anterior_dir[0] + o * lat[0]) / s1,
                       py = (cy + t * w.anterior_dir[1] + o * lat[1]) / s2;
          const long x0 = std::clamp(static_cast<long>(std::floor(px)), 0L, n1 - 1),
                     y0 = std::clamp(static_cast<long>(std::floor(py)), 0L, n2 - 1);
          const long x1 = std::min(x0 + 1, n1 - 1), y1 = std::min(y0 + 1, n2 - 1);
          const double fx = std::clamp(px - x0, 0.0, 1.0), fy = std::clamp(py - y0, 0.0, 1.0);
          auto at = [&](long x, long y) { return P[static_cast<std::size_t>(x + n1 * y)]; };
          acc += (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x1, y0)) +
                 fy * ((1 - fx) * at(x0, y1) + fx * at(x1, y1));
        }
        return w.polarity * (acc / 3 - tau) > 0;
      };
      for (double t = 0; t <= 16; t += 0.25) {
        if (content_at(t)) continue;
        bool solid = true;
        for (double t2 = t; t2 <= t + 5 && solid; t2 += 0.5) solid = !content_at(t2);
        if (solid) {
          wall[kk] = t;
          wall_ok[kk] = 1;
          break;
        }
      }
      half_width[kk] = hw;
    });
  }
  // The wall is flat along the canal: a running median over 16 mm ignores
  // the sections where a transverse vein lies in front of the sac.
  const auto wall_s = running_median(wall, wall_ok, std::max(1L, std::lround(8.0 / d.s[w.si])));
  // The canal's half-width near a section: the contents' width over 30 mm
  // (a vein in the lateral recess narrows the contents of its own sections).
  auto width_near = [&](long k) {
    std::vector<double> hw;
    const long r15 = std::max(1L, std::lround(15.0 / d.s[w.si]));
    for (long q = std::max(0L, k - r15); q <= std::min(ns - 1, k + r15); ++q)
      if (!region_sec[static_cast<std::size_t>(q)].empty())
        hw.push_back(half_width[static_cast<std::size_t>(q)]);
    return hw.empty() ? half_width[static_cast<std::size_t>(k)] : percentile(hw, 75);
  };
  // Pass 2: canal = convex hull of the contents and the anterior wall's
  // corners (the veins lie against the wall); the thecal sac inside it.
  parallel_for(static_cast<std::size_t>(ns), w.threads, [&](std::size_t kk) {
    if (!in_range[kk]) return;
    const long k = static_cast<long>(kk);
    const double wk = k * d.s[w.si];
    const double cx = w.centre1(wk), cy = w.centre2(wk);
    std::vector<std::uint8_t> hull;
    if (user_mask) {
      hull.assign(static_cast<std::size_t>(n1 * n2), 0);
      std::size_t cnt = 0;
      for (long y = 0; y < n2; ++y)
        for (long x = 0; x < n1; ++x)
          cnt += hull[static_cast<std::size_t>(x + n1 * y)] = user[w.voxel(x, y, k)];
      if (cnt == 0) return;
    } else {
      if (region_sec[kk].empty()) return;
      std::vector<std::pair<double, double>> extra;
      if (std::any_of(wall_ok.begin(), wall_ok.end(), [](char c) { return c != 0; })) {
        const double A = wall_s[kk], L = width_near(k);
        for (double side : {-1.0, 1.0})
          extra.push_back({cx + A * w.anterior_dir[0] + side * L * lat[0],
                           cy + A * w.anterior_dir[1] + side * L * lat[1]});
      }
      auto base = region_sec[kk];
      if (w.polarity < 0) {
        // The canal's width here: the contents' width nearby (a vein in the
        // lateral recess narrows the dark contents of its own sections).
        const double width = width_near(k) + 2.5;
        // T1: the enhancing veins lie against the anterior wall, where the
        // dark contents are too thin to see: bright pixels in front of the
        // centre, within the contents' width, belong to the canal.
        const auto P = plane_of(w.smooth, k);
        std::vector<double> disk;
        for (long y = 0; y < n2; ++y)
          for (long x = 0; x < n1; ++x)
            if (std::hypot(x * s1 - cx, y * s2 - cy) <= 14.0)
              disk.push_back(P[static_cast<std::size_t>(x + n1 * y)]);
        const double hi = percentile(disk, 99.5), thr = ring[kk] + 0.25 * (hi - ring[kk]);
        for (long y = 0; y < n2; ++y)
          for (long x = 0; x < n1; ++x) {
            const double dx = x * s1 - cx, dy = y * s2 - cy;
            const double a = dx * w.anterior_dir[0] + dy * w.anterior_dir[1], l = dx * lat[0] + dy * lat[1];
            const std::size_t u = static_cast<std::size_t>(x + n1 * y);
            if (hi > 2 * ring[kk] && P[u] > thr && a >= 0 && std::fabs(l) <= width &&
                std::hypot(dx, dy) <= 16.0)
              base[u] = 1;
          }
      }
      hull = convex_hull(base, pl, extra);
      std::size_t cnt = 0;
      for (auto h : hull) cnt += h;
      const double area = cnt * s1 * s2;
      if (area < 40 || area > 900) return;
    }
    double bd = 1e30;
    // Thecal sac: halfway between CSF (the extreme class inside the canal,
    // away from its walls) and epidural fat (a band 1-2.5 mm inside the
    // walls), both measured in this cross-section.
    const auto S = plane_of(sac_src, k);
    auto e1 = hull, e2 = hull;
    const double smin = std::min(s1 <= 1.2 ? s1 : 1e9, s2 <= 1.2 ? s2 : 1e9);
    const int k1 = smin < 1e8 ? std::max(1, int(std::lround(1.0 / smin))) : 0,
              k2 = smin < 1e8 ? std::max(2, int(std::lround(2.5 / smin))) : 0;
    for (int i = 0; i < k2; ++i) {
      e2 = morph2(e2, pl, false);
      if (i + 1 == k1) e1 = e2;
    }
    std::vector<double> inner, band;
    for (std::size_t u = 0; u < S.size(); ++u) {
      if (!hull[u]) continue;
      const bool vessel_like = w.polarity > 0 ? S[u] < 0.5 * csf[kk] : S[u] > ring[kk];
      if (vessel_like) continue;
      if (e2[u])
        inner.push_back(S[u]);
      else if (e1[u])
        band.push_back(S[u]);
    }
    const double csf_here = inner.empty() ? csf[kk] : percentile(inner, w.polarity > 0 ? 85 : 15);
    const double fat_here = band.empty() ? 0.5 * (csf[kk] + ring[kk]) : median(band);
    const double ts = 0.5 * (csf_here + fat_here);
    std::vector<std::uint8_t> csfm(S.size(), 0);
    for (std::size_t u = 0; u < S.size(); ++u) csfm[u] = hull[u] && w.polarity * (S[u] - ts) > 0;
    // The sac is convex: the hull of the CSF pieces (the nerve roots break
    // the CSF into pieces around the middle of the sac) within 10 mm of the
    // centre; intruding veins are taken out later.
    std::vector<std::uint8_t> pieces(S.size(), 0), seen(S.size(), 0);
    for (long y = 0; y < n2; ++y)
      for (long x = 0; x < n1; ++x) {
        const std::size_t u = static_cast<std::size_t>(x + n1 * y);
        if (!csfm[u] || seen[u]) continue;
        const auto comp = flood(csfm, pl, x, y);
        std::size_t cnt = 0;
        double near = 1e30;
        for (long yy = 0; yy < n2; ++yy)
          for (long xx = 0; xx < n1; ++xx) {
            const std::size_t v = static_cast<std::size_t>(xx + n1 * yy);
            if (!comp[v]) continue;
            seen[v] = 1;
            ++cnt;
            near = std::min(near, std::hypot(xx * s1 - cx, yy * s2 - cy));
          }
        if (cnt * s1 * s2 >= 3.0 && near <= 10.0)
          for (std::size_t v = 0; v < comp.size(); ++v) pieces[v] |= comp[v];
      }
    std::vector<std::uint8_t> sac = convex_hull(pieces, pl);
    for (std::size_t u = 0; u < S.size(); ++u) sac[u] = sac[u] && hull[u];
    (void)bd;
    double ant = 0;
    for (long y = 0; y < n2; ++y)
      for (long x = 0; x < n1; ++x)
        if (hull[static_cast<std::size_t>(x + n1 * y)])
          ant = std::max(ant, (x * s1 - cx) * w.anterior_dir[0] + (y * s2 - cy) * w.anterior_dir[1]);
    w.anterior_mm[kk] = ant;
    canal_sec[kk] = std::move(hull);
    sac_sec[kk] = std::move(sac);
    w.section_ok[kk] = 1;
  });
  // Sections that failed take the nearest good one's masks, moved with the centreline.
  long good = 0;
  for (long k = 0; k < ns; ++k) good += w.section_ok[static_cast<std::size_t>(k)];
  long range_n = 0;
  for (long k = 0; k < ns; ++k) range_n += in_range[static_cast<std::size_t>(k)];
  if (good == 0 || good < 0.3 * range_n)
    throw QualityError("", "no spinal canal found: " + std::to_string(good) + " of " +
                               std::to_string(range_n) +
                               " cross-sections along the tube hold a plausible canal");
  std::size_t filled = 0;
  for (long k = 0; k < ns; ++k) {
    const std::size_t kk = static_cast<std::size_t>(k);
    if (!in_range[kk]) continue;
    long src = k;
    if (!w.section_ok[kk]) {
      long best = -1;
      for (long o = 1; o < ns && best < 0; ++o) {
        if (k - o >= 0 && w.section_ok[static_cast<std::size_t>(k - o)])
          best = k - o;
        else if (k + o < ns && w.section_ok[static_cast<std::size_t>(k + o)])
          best = k + o;
      }
      src = best;
      ++filled;
    }
    const std::size_t sk = static_cast<std::size_t>(src);
    const double wk = k * d.s[w.si], ws = src * d.s[w.si];
    const long ox = std::lround((w.centre1(wk) - w.centre1(ws)) / s1),
               oy = std::lround((w.centre2(wk) - w.centre2(ws)) / s2);
    for (long y = 0; y < n2; ++y)
      for (long x = 0; x < n1; ++x) {
        const long xs = x - ox, ys = y - oy;
        if (xs < 0 || ys < 0 || xs >= n1 || ys >= n2) continue;
        const std::size_t u = static_cast<std::size_t>(xs + n1 * ys);
        const std::size_t v = w.voxel(x, y, k);
        w.canal[v] = canal_sec[sk][u];
        w.sac[v] = sac_sec[sk].empty() ? 0 : sac_sec[sk][u];
      }
    if (!w.section_ok[kk]) w.anterior_mm[kk] = w.anterior_mm[sk];
  }
  if (filled > 0)
    rep.debug("canal: " + std::to_string(filled) + " of " + std::to_string(ns) +
              " cross-sections copied from a neighbour");
  if (opt.region.box) {
    for (long k = 0; k < d.n[2]; ++k)
      for (long j = 0; j < d.n[1]; ++j)
        for (long i = 0; i < d.n[0]; ++i)
          if (!in_box(opt, w.g.index_to_point(double(i), double(j), double(k)))) {
            w.canal[d.index(i, j, k)] = 0;
            w.sac[d.index(i, j, k)] = 0;
          }
  }
  std::vector<double> c;
  for (long k = 0; k < ns; ++k)
    if (w.section_ok[static_cast<std::size_t>(k)]) c.push_back(csf[static_cast<std::size_t>(k)]);
  r.csf_intensity = median(c);
}

}  // namespace segment
}  // namespace mrivol
