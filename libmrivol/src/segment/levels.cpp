// Vertebral levels from the discs along the canal.
#include <algorithm>
#include <cmath>

#include "internal.hpp"
#include "mrivol/core/error.hpp"

namespace mrivol {
namespace segment {

Work::CutPlane Work::plane_at(double w) const {
  const double h = 0.5;
  const double d1 = (centre1(w + h) - centre1(w - h)) / (2 * h),
               d2 = (centre2(w + h) - centre2(w - h)) / (2 * h);
  const double n = std::sqrt(d1 * d1 + d2 * d2 + 1);
  CutPlane c;
  c.p = {centre1(w), centre2(w), w};
  c.n = {d1 / n, d2 / n, 1 / n};
  return c;
}

std::array<double, 3> Work::frame(long i, long j, long k) const {
  const std::array<long, 3> idx{i, j, k};
  return {idx[a1] * d.s[a1], idx[a2] * d.s[a2], idx[si] * d.s[si]};
}

namespace {

struct Run {
  double w0, w1;  ///< limits along w (w0 < w1)
  double length;  ///< along the centreline, mm
  bool full;
};

}  // namespace

CanalPlane to_lps(const Work& w, const Work::CutPlane& c) {
  CanalPlane o;
  o.point = w.point(c.p[0], c.p[1], c.p[2]);
  const Vec3 e1 = w.g.axis(w.a1), e2 = w.g.axis(w.a2), e3 = w.g.axis(w.si);
  for (int i = 0; i < 3; ++i) o.normal[i] = c.n[0] * e1[i] + c.n[1] * e2[i] + c.n[2] * e3[i];
  if (o.normal[2] < 0)
    for (auto& x : o.normal) x = -x;  // up the spine
  return o;
}

std::vector<std::uint8_t> label_levels(const Work& w, const Result& r) {
  std::vector<std::uint8_t> labels(w.d.count(), 0);
  const Dims& d = w.d;
  auto sd = [](const CanalPlane& p, const Vec3& x) {
    return (x[0] - p.point[0]) * p.normal[0] + (x[1] - p.point[1]) * p.normal[1] +
           (x[2] - p.point[2]) * p.normal[2];
  };
  for (long k = 0; k < d.n[2]; ++k)
    for (long j = 0; j < d.n[1]; ++j)
      for (long i = 0; i < d.n[0]; ++i) {
        const std::size_t v = d.index(i, j, k);
        if (!w.canal[v]) continue;
        const Vec3 x = w.g.index_to_point(double(i), double(j), double(k));
        for (std::size_t l = 0; l < r.level_planes.size(); ++l) {
          const auto& lp = r.level_planes[l];
          if (lp.found && sd(lp.top, x) < 0 && sd(lp.bottom, x) >= 0) {
            labels[v] = static_cast<std::uint8_t>(l + 1);
            break;
          }
        }
      }
  return labels;
}

void find_levels(Work& w, const Options& opt, Result& r, Reporter& rep) {
  const auto& names = level_names();
  r.level_results.assign(names.size(), LevelResult{});
  for (std::size_t i = 0; i < names.size(); ++i) r.level_results[i].name = names[i];
  w.disc_planes.assign(names.size(), {});
  w.disc_found.assign(names.size(), 0);
  r.level_planes.assign(names.size(), LevelPlanes{});
  const Dims& d = w.d;
  const double step = 0.5;
  // Anterior extent of the canal per section, smoothed.
  const long ns = d.n[w.si];
  auto ant_at = [&](double wv) {
    const long k0 = std::clamp(std::lround(wv / d.s[w.si]), 0L, ns - 1);
    std::vector<double> win;
    const long rr = std::max(1L, std::lround(10.0 / d.s[w.si]));
    for (long k = std::max(0L, k0 - rr); k <= std::min(ns - 1, k0 + rr); ++k)
      if (w.section_ok[static_cast<std::size_t>(k)])
        win.push_back(w.anterior_mm[static_cast<std::size_t>(k)]);
    return win.empty() ? 8.0 : percentile(win, 50);
  };
  // Profiles through the posterior part of the vertebral bodies, 3 to 11 mm
  // in front of the canal: discs and endplates are darker than marrow on T2
  // and on T1 (in the annulus; the nucleus may not be). The depth with the
  // strongest contrast is used.
  std::vector<double> ws, q, arc;
  double best_contrast = -1;
  for (double depth : {3.0, 5.0, 7.0, 9.0, 11.0}) {
    std::vector<double> qd;
    for (double wv = w.w_lo; wv <= w.w_hi; wv += step) {
      const double e = ant_at(wv) + depth;
      const double cx = w.centre1(wv) + e * w.anterior_dir[0], cy = w.centre2(wv) + e * w.anterior_dir[1];
      double acc = 0;
      int n = 0;
      for (int m = -1; m < 8; ++m) {
        const double rad = m < 0 ? 0.0 : 3.0, th = m * 0.7853981633974483;
        const auto idx = w.index(cx + rad * std::cos(th), cy + rad * std::sin(th), wv);
        acc += sample(w.smooth, d, idx[0], idx[1], idx[2]);
        ++n;
      }
      qd.push_back(acc / n);
    }
    const double contrast =
        (percentile(qd, 85) - percentile(qd, 10)) / std::max(1e-6, std::fabs(percentile(qd, 50)));
    if (contrast > best_contrast) {
      best_contrast = contrast;
      q = qd;
    }
  }
  for (double wv = w.w_lo; wv <= w.w_hi; wv += step) {
    ws.push_back(wv);
    if (arc.empty()) {
      arc.push_back(0);
    } else {
      const double pw = ws[ws.size() - 2];
      arc.push_back(arc.back() + std::sqrt(step * step + std::pow(w.centre1(wv) - w.centre1(pw), 2) +
                                           std::pow(w.centre2(wv) - w.centre2(pw), 2)));
    }
  }
  const std::size_t n = q.size();
  if (n < 40) {
    r.warnings.push_back("the canal is too short to find the discs: no vertebral levels");
    return;
  }
  // Smooth (sigma 1 mm) and threshold halfway between local envelopes.
  std::vector<double> qs(n);
  for (std::size_t i = 0; i < n; ++i) {
    double a = 0, b = 0;
    for (long o = -6; o <= 6; ++o) {
      const long j = static_cast<long>(i) + o;
      if (j < 0 || j >= static_cast<long>(n)) continue;
      const double g = std::exp(-0.5 * (o * step) * (o * step));
      a += g * q[static_cast<std::size_t>(j)];
      b += g;
    }
    qs[i] = a / b;
  }
  std::vector<char> low(n, 0);
  const long win = static_cast<long>(30.0 / step);
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<double> v;
    for (long j = std::max(0L, long(i) - win); j <= std::min(long(n) - 1, long(i) + win); ++j)
      v.push_back(qs[static_cast<std::size_t>(j)]);
    const double hi = percentile(v, 85), lo = percentile(v, 10);
    low[i] = hi - lo > 0.1 * std::fabs(hi) && qs[i] < 0.5 * (hi + lo);
  }
  std::vector<Run> runs;
  for (std::size_t i = 0; i < n;) {
    if (!low[i]) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j + 1 < n && low[j + 1]) ++j;
    // Runs touching the ends of the profile are incomplete.
    if (i > 0 && j + 1 < n) {
      const double len = arc[j] - arc[i] + step;
      if (len >= 1.5) runs.push_back({ws[i] - step / 2, ws[j] + step / 2, len, false});
    }
    i = j + 1;
  }
  // Merge runs split by noise (gaps under 3.5 mm). On T1 (fat-suppressed,
  // contrast-enhanced) the marrow is dark and the disc's nucleus is about as
  // bright as it: what stands out is the pair of dark cortical endplates
  // around each disc, 8-11 mm apart, while a vertebral body keeps its
  // endplates 25-30 mm apart. Endplate pairs closer than 14 mm make a disc.
  const double merge_gap = w.polarity < 0 ? 14.0 : 3.5;
  {
    std::vector<Run> merged;
    for (const auto& ru : runs) {
      if (!merged.empty() && ru.w0 - merged.back().w1 < merge_gap) {
        merged.back().length += ru.length + (ru.w0 - merged.back().w1);
        merged.back().w1 = ru.w1;
      } else {
        merged.push_back(ru);
      }
    }
    runs = merged;
  }
  // Full discs: not much thinner than the typical disc (a rudimentary S1-S2
  // disc is).
  {
    std::vector<double> lens;
    for (const auto& ru : runs)
      if (ru.length >= 5.0) lens.push_back(ru.length);
    const double typical = lens.empty() ? 10.0 : percentile(lens, 50);
    for (auto& ru : runs) ru.full = ru.length >= std::max(5.0, 0.7 * typical);
  }
  // Order from the top (superior) down.
  const bool w_down = w.g.axis(w.si)[2] < 0;  // increasing w goes inferior
  if (!w_down) std::reverse(runs.begin(), runs.end());
  std::vector<std::size_t> full;
  for (std::size_t i = 0; i < runs.size(); ++i)
    if (runs[i].full) full.push_back(i);
  if (full.empty()) {
    r.warnings.push_back("no intervertebral disc found along the canal: no vertebral levels");
    return;
  }
  // Name the discs: the lowest full disc is opt.lowest_disc.
  int lowest = -1;
  if (opt.lowest_disc == "T12-L1")
    lowest = -1;
  else {
    const auto it = std::find(names.begin(), names.end(), opt.lowest_disc);
    if (it == names.end())
      throw UsageError("--lowest-disc must be one of T12-L1, L1-L2 ... L5-S1, not '" + opt.lowest_disc + "'");
    lowest = static_cast<int>(it - names.begin());
  }
  // Along-w helpers that respect the top-down order.
  auto upper_edge = [&](const Run& a) { return w_down ? a.w0 : a.w1; };
  auto lower_edge = [&](const Run& a) { return w_down ? a.w1 : a.w0; };
  auto centre_w = [](const Run& a) { return 0.5 * (a.w0 + a.w1); };
  std::vector<double> bodies;
  for (std::size_t i = 0; i + 1 < full.size(); ++i)
    bodies.push_back(std::fabs(upper_edge(runs[full[i + 1]]) - lower_edge(runs[full[i]])));
  const double body = bodies.empty() ? 27.0 : percentile(bodies, 50);
  const double dir = w_down ? 1.0 : -1.0;  // +dir along w = downwards
  for (std::size_t i = 0; i + 1 < full.size(); ++i) {
    const double gap = std::fabs(centre_w(runs[full[i + 1]]) - centre_w(runs[full[i]]));
    if (gap < 25 || gap > 60)
      r.warnings.push_back("unusual spacing between two discs (" + std::to_string(int(gap)) +
                           " mm): check the level labels");
  }
  const double lo_w = std::min(w.w_lo, w.w_hi), hi_w = std::max(w.w_lo, w.w_hi);
  std::vector<std::pair<Work::CutPlane, Work::CutPlane>> limits(names.size());
  std::vector<char> have(names.size(), 0);
  for (std::size_t f = 0; f < full.size(); ++f) {
    const int level = lowest - static_cast<int>(full.size() - 1 - f);
    if (level < 0 || level >= static_cast<int>(names.size())) continue;
    const Run& disc = runs[full[f]];
    // Vertebra centres above and below: halfway between the neighbouring
    // discs' edges, else half a typical body height away.
    double top = upper_edge(disc) - dir * body / 2;
    if (f > 0) top = 0.5 * (lower_edge(runs[full[f - 1]]) + upper_edge(disc));
    double bottom = lower_edge(disc) + dir * body / 2;
    if (f + 1 < full.size()) {
      bottom = 0.5 * (lower_edge(disc) + upper_edge(runs[full[f + 1]]));
    } else {
      // Below the lowest full disc: a rudimentary disc (S1-S2) if visible.
      const std::size_t ri = full[f];
      if (ri + 1 < runs.size()) {
        const Run& rem = runs[ri + 1];
        if (std::fabs(upper_edge(rem) - lower_edge(disc)) < 50)
          bottom = 0.5 * (lower_edge(disc) + upper_edge(rem));
      }
    }
    const std::size_t li = static_cast<std::size_t>(level);
    LevelResult& lr = r.level_results[li];
    const double cw = centre_w(disc);
    const auto pl = w.plane_at(cw);
    lr.disc_point = w.point(pl.p[0], pl.p[1], pl.p[2]);
    w.disc_planes[li] = pl;
    w.disc_found[li] = 1;
    lr.present = std::min(top, bottom) >= lo_w && std::max(top, bottom) <= hi_w;
    if (!lr.present)
      r.warnings.push_back(names[li] +
                           " extends beyond the scanned part of the canal: its volume is partial");
    const double t0 = std::min(top, bottom), t1 = std::max(top, bottom);
    limits[li] = {w.plane_at(t0), w.plane_at(t1)};
    have[li] = 1;
    lr.top_mm = top;
    lr.bottom_mm = bottom;
  }
  r.levels_found = std::any_of(have.begin(), have.end(), [](char c) { return c != 0; });
  std::string found;
  for (std::size_t i = 0; i < names.size(); ++i)
    if (have[i]) found += (found.empty() ? "" : " ") + names[i];
  rep.debug("levels: " + std::to_string(full.size()) + " discs along the canal; labelled " + found);
  for (std::size_t l = 0; l < names.size(); ++l) {
    if (!have[l]) continue;
    LevelPlanes& lp = r.level_planes[l];
    lp.found = true;
    // Planes whose normals point up the spine: top = the superior limit.
    const CanalPlane a = to_lps(w, limits[l].first), b = to_lps(w, limits[l].second);
    const bool a_above = (a.point[2] - b.point[2]) > 0;
    lp.top = a_above ? a : b;
    lp.bottom = a_above ? b : a;
    lp.disc = to_lps(w, w.disc_planes[l]);
  }
}

}  // namespace segment
}  // namespace mrivol
