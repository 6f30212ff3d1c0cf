#include "anatomy.hpp"

#include <algorithm>
#include <cmath>

namespace mrivol {
namespace phantom {
namespace {

constexpr double kTwoPi = 6.283185307179586;

double sq(double x) { return x * x; }

Local catmull_rom(const Local& p0, const Local& p1, const Local& p2, const Local& p3, double s) {
  auto f = [s](double a, double b, double c, double d) {
    return 0.5 * (2 * b + (-a + c) * s + (2 * a - 5 * b + 4 * c - d) * s * s +
                  (-a + 3 * b - 3 * c + d) * s * s * s);
  };
  return {f(p0.u, p1.u, p2.u, p3.u), f(p0.v, p1.v, p2.v, p3.v), f(p0.t, p1.t, p2.t, p3.t)};
}

double segment_dist2(const Local& p, const Local& a, const Local& b) {
  const double du = b.u - a.u, dv = b.v - a.v, dt = b.t - a.t;
  const double len2 = du * du + dv * dv + dt * dt;
  double s = len2 > 0 ? ((p.u - a.u) * du + (p.v - a.v) * dv + (p.t - a.t) * dt) / len2 : 0.0;
  s = std::clamp(s, 0.0, 1.0);
  return sq(p.u - a.u - s * du) + sq(p.v - a.v - s * dv) + sq(p.t - a.t - s * dt);
}

}  // namespace

Model::Model(const Anatomy& a, double radius_scale) : a_(a), f_(radius_scale) {
  inv_cw2_ = 1.0 / sq(a.canal_half_width);
  inv_cd2_ = 1.0 / sq(a.canal_depth);
  // Column from the top: T12, L1..L5, S1, S2 with discs between.
  std::vector<double> heights{25.0};
  heights.insert(heights.end(), a.body_height.begin(), a.body_height.end());
  heights.push_back(24.0);
  std::vector<double> discs{8.0};
  discs.insert(discs.end(), a.disc_height.begin(), a.disc_height.end());
  discs.push_back(3.0);  // S1-S2: a thin remnant
  double t = 0;
  for (std::size_t k = 0; k < heights.size(); ++k) {
    vc_.push_back(t - heights[k] / 2);
    vh_.push_back(heights[k] / 2);
    t -= heights[k];
    if (k < discs.size()) {
      dc_.push_back(t - discs[k] / 2);
      dh_.push_back(discs[k] / 2);
      t -= discs[k];
    }
  }
  const double shift = -vc_[3];  // L3 centre at t = 0
  for (auto& x : vc_) x += shift;
  for (auto& x : dc_) x += shift;
  lut_t0_ = plexus_bottom() - 1.0;
  const std::size_t n = static_cast<std::size_t>((plexus_top() + 1.0 - lut_t0_) / kLutStep) + 2;
  for (int side = 0; side < 2; ++side)
    for (std::size_t i = 0; i < n; ++i) lut_[side].push_back(channel_exact(side, lut_t0_ + i * kLutStep));

  // Draining vein: from the iliac confluence beside L5, up and back through
  // the L4-L5 foramen, into the anterior channel of the same side.
  if (a.draining_radius > 0) {
    const double s = a.draining_side >= 0 ? 1.0 : -1.0, bd = a.body_half_depth, td = dc_[4];
    const std::vector<Local> cp{{s * 30, -30, vc_[5] - 8},
                                {s * 30, -25, vc_[5]},
                                {s * 32, 0, td - 3},
                                {s * 24, bd + 5, td + 2},
                                {s * 15, bd + 3.5, td + 4},
                                {s * a.vein_offset, bd + a.vein_radius + 0.3, td + 9},
                                {s * a.vein_offset, bd + a.vein_radius + 0.3, td + 14}};
    for (std::size_t i = 1; i + 2 < cp.size(); ++i)
      for (int k = 0; k < 16; ++k)
        drain_.push_back(catmull_rom(cp[i - 1], cp[i], cp[i + 1], cp[i + 2], k / 16.0));
    drain_.push_back(cp[cp.size() - 2]);
    const double r = a.draining_radius * f_;
    drain_lo_ = drain_hi_ = drain_.front();
    for (const auto& p : drain_) {
      drain_lo_ = {std::min(drain_lo_.u, p.u - r), std::min(drain_lo_.v, p.v - r),
                   std::min(drain_lo_.t, p.t - r)};
      drain_hi_ = {std::max(drain_hi_.u, p.u + r), std::max(drain_hi_.v, p.v + r),
                   std::max(drain_hi_.t, p.t + r)};
    }
  }
}

Model::Channel Model::channel_exact(int side, double t) const {
  const double sgn = side == 0 ? -1.0 : 1.0, ph = side == 0 ? 1.3 : 0.0;
  return {sgn * (a_.vein_offset + a_.vein_tortuosity * std::sin(kTwoPi * t / 60 + a_.phase1 + ph)),
          f_ * (a_.vein_radius + a_.vein_radius_var * std::sin(kTwoPi * t / 45 + a_.phase2 + ph))};
}

Model::Channel Model::channel(int side, double t) const {
  // Linear interpolation in a 0.05 mm table (the functions are smooth: the
  // table defines the anatomy; truth and images use the same one).
  const double x = (t - lut_t0_) / kLutStep;
  const long i = std::clamp(static_cast<long>(x), 0L, static_cast<long>(lut_[side].size()) - 2);
  const double w = std::clamp(x - i, 0.0, 1.0);
  const Channel& a = lut_[side][static_cast<std::size_t>(i)];
  const Channel& b = lut_[side][static_cast<std::size_t>(i) + 1];
  return {a.u + w * (b.u - a.u), a.r + w * (b.r - a.r)};
}

Local Model::local(const Vec3& b) const {
  const double k = a_.lordosis, y = b[1], z = b[2];
  double t = z;
  // Foot of the perpendicular on the axis: three Newton steps reach 1e-5 mm
  // for the curvatures allowed (the model only needs a fixed smooth map).
  for (int it = 0; it < 3 && k != 0; ++it) {
    const double g = (y - k * t * t) * (2 * k * t) + (z - t);
    const double dg = -4 * k * k * t * t + 2 * k * (y - k * t * t) - 1;
    t -= g / dg;
  }
  const double d = 2 * k * t, n = std::sqrt(1 + d * d);
  const double v = ((y - yc(t)) - d * (z - t)) / n;
  return {b[0], v, t};
}

Vec3 Model::body(const Local& l) const {
  const double d = 2 * a_.lordosis * l.t, n = std::sqrt(1 + d * d);
  return {l.u, yc(l.t) + l.v / n, l.t - d * l.v / n};
}

int Model::level_of(double t) const {
  for (int k = 1; k <= 5; ++k)
    if (t <= vc_[k] && t > vc_[k + 1]) return k - 1;
  return -1;
}

bool Model::in_canal(const Local& l) const {
  const double dv = l.v - a_.body_half_depth;
  return dv >= 0 && l.u * l.u * inv_cw2_ + dv * dv * inv_cd2_ <= 1.0;
}

bool Model::vessel(const Local& l) const {
  const double bd = a_.body_half_depth;
  if (l.t <= plexus_top() && l.t >= plexus_bottom() && l.v >= bd && l.v < bd + 4 * a_.vein_radius * f_ + 2) {
    for (int side = 0; side < 2; ++side) {
      const Channel c = channel(side, l.t);
      if (sq(l.u - c.u) + sq(l.v - (bd + c.r + 0.3)) <= c.r * c.r) return true;
    }
    const double rt = a_.transverse_radius * f_;
    if (rt > 0 && std::fabs(l.u) <= a_.vein_offset) {
      for (std::size_t k = 1; k <= 6; ++k)
        if (sq(l.t - vc_[k]) + sq(l.v - (bd + rt + 0.3)) <= rt * rt) return true;
    }
  }
  if (!drain_.empty() && l.u >= drain_lo_.u && l.u <= drain_hi_.u && l.v >= drain_lo_.v &&
      l.v <= drain_hi_.v && l.t >= drain_lo_.t && l.t <= drain_hi_.t) {
    const double r2 = sq(a_.draining_radius * f_);
    for (std::size_t i = 0; i + 1 < drain_.size(); ++i)
      if (segment_dist2(l, drain_[i], drain_[i + 1]) <= r2) return true;
  }
  return false;
}

bool Model::sac_local(const Local& l) const {
  const double c = a_.body_half_depth + a_.sac_offset;
  return sq(l.u / a_.sac_half_width) + sq((l.v - c) / a_.sac_half_depth) <= 1.0 && !vessel(l);
}

bool Model::plexus(const Vec3& b) const {
  const Local l = local(b);
  return in_canal(l) && vessel(l);
}

void Model::canal_box(Vec3& lo, Vec3& hi) const {
  lo = {1e9, 1e9, 1e9};
  hi = {-1e9, -1e9, -1e9};
  const double bd = a_.body_half_depth;
  for (double t : {plexus_top(), plexus_bottom(), 0.5 * (plexus_top() + plexus_bottom())})
    for (double v : {bd, bd + a_.canal_depth})
      for (double u : {-a_.canal_half_width, a_.canal_half_width}) {
        const Vec3 p = body({u, v, t});
        for (int i = 0; i < 3; ++i) {
          lo[i] = std::min(lo[i], p[i]);
          hi[i] = std::max(hi[i], p[i]);
        }
      }
  // The curve bulges between the sampled heights: widen by its sagitta.
  const double span = plexus_top() - plexus_bottom();
  lo[1] -= a_.lordosis * span * span / 4 + 1;
  hi[1] += a_.lordosis * span * span / 4 + 1;
  lo[2] -= 2;
  hi[2] += 2;
}

Tissue Model::column(const Local& l) const {
  const double bw = a_.body_half_width, bd = a_.body_half_depth, cw = a_.canal_half_width,
               cd = a_.canal_depth;
  const double e = sq(l.u / bw) + sq(l.v / bd);
  for (std::size_t k = 0; k < vc_.size(); ++k) {
    const double dt = l.t - vc_[k];
    if (std::fabs(dt) <= vh_[k] && e <= 1.0) {
      const double c = a_.cortex;
      const bool inner = sq(l.u / (bw - c)) + sq(l.v / (bd - c)) <= 1.0 && std::fabs(dt) <= vh_[k] - c;
      return inner ? kMarrow : kCortex;
    }
  }
  for (std::size_t k = 0; k < dc_.size(); ++k) {
    const double dt = l.t - dc_[k];
    if (std::fabs(dt) <= dh_[k] && e <= 1.0) {
      const bool nucleus =
          sq(l.u / (0.55 * bw)) + sq((l.v + 1.5) / (0.55 * bd)) <= 1.0 && std::fabs(dt) <= 0.7 * dh_[k];
      return nucleus ? kNucleus : kAnnulus;
    }
  }
  // Posterior elements of each vertebra: pedicles, laminae, spinous and
  // transverse processes (coarse boxes and rings).
  const double au = std::fabs(l.u);
  for (std::size_t k = 0; k < vc_.size(); ++k) {
    const double dt = l.t - vc_[k], hh = vh_[k];
    if (dt < -hh - 14 || dt > hh + 4) continue;
    if (au >= cw - 1 && au <= cw + 6 && l.v >= bd - 3 && l.v <= bd + 12 && dt >= -2 && dt <= hh - 1)
      return kBone;
    const double ring = sq(l.u / (cw + 5)) + sq((l.v - bd) / (cd + 5));
    if (ring <= 1.0 && l.v >= bd + 0.55 * cd && dt >= -hh + 1 && dt <= hh + 2) return kBone;
    if (au <= 3.0 && l.v >= bd + cd && l.v <= bd + cd + 32 && dt >= -hh + 2 - 0.3 * (l.v - bd - cd) &&
        dt <= hh - 6 - 0.3 * (l.v - bd - cd))
      return kBone;
    if (au >= cw + 5 && au <= cw + 30 && l.v >= bd + 4 && l.v <= bd + 11 && dt >= -3 && dt <= 5) return kBone;
  }
  return kAir;  // not part of the column
}

Sample Model::at(const Vec3& b) const {
  Sample s;
  // Everything, the body outline included, is defined along the spine axis,
  // so a change of the lumbar curve (posture) moves the whole body with it.
  const Local l = local(b);
  const double aw = a_.abdomen_half_width, ad = a_.abdomen_half_depth, yc_abd = -35.0;
  const double ex = sq(l.u / aw) + sq((l.v - yc_abd) / ad);
  if (ex > 1.0) return s;  // air
  const bool canal = in_canal(l);
  if (vessel(l)) {
    s.tissue = kVein;
    s.plexus = canal;
    s.canal = canal;
    return s;
  }
  if (canal) {
    s.canal = true;
    const double c = a_.body_half_depth + a_.sac_offset;
    if (sq(l.u / a_.sac_half_width) + sq((l.v - c) / a_.sac_half_depth) <= 1.0) {
      s.sac = true;
      s.tissue = kCsf;
      static const double roots[10][2] = {{-5, 2.5},   {-2.5, 3.5}, {0, 4},     {2.5, 3.5}, {5, 2.5},
                                          {-3.8, 0.6}, {-1.3, 1.3}, {1.3, 1.3}, {3.8, 0.6}, {0, -1.2}};
      const double rr = sq(a_.root_radius);
      for (const auto& r : roots)
        if (sq(l.u - r[0]) + sq(l.v - c - r[1]) <= rr) s.tissue = kRoot;
    } else {
      s.tissue = kEpiFat;
    }
    return s;
  }
  const Tissue col = column(l);
  if (col != kAir) {
    s.tissue = col;
    return s;
  }
  const double au = std::fabs(l.u), bd = a_.body_half_depth;
  if (l.t <= vc_[1] + vh_[1] && sq((au - 38) / 14) + sq((l.v + 2) / 13) <= 1.0) {
    s.tissue = kMuscle;  // psoas
    return s;
  }
  if (sq((au - 22) / 24) + sq((l.v - (bd + a_.canal_depth + 22)) / 17) <= 1.0) {
    s.tissue = kMuscle;  // erector spinae and multifidus (meeting at the spinous processes)
    return s;
  }
  const double sf = a_.subcutaneous_fat;
  if (sq(l.u / (aw - sf)) + sq((l.v - yc_abd) / (ad - sf)) > 1.0) {
    s.tissue = kFat;
    return s;
  }
  (void)bd;
  s.tissue = kSoft;  // viscera, retroperitoneum and the tissue between the muscles
  return s;
}

std::array<double, kTissueCount> tissue_signal(const Config& c) {
  //                          air  fat  soft musc marrow cortex bone  nucl ann  csf   root epifat vein
  if (c.contrast == "t1c") return {0, 70, 320, 260, 150, 25, 120, 140, 110, 50, 230, 80, 1000};
  const double vein = c.veins == "bright" ? 900 : 70;
  return {0, 820, 420, 300, 560, 40, 380, 760, 190, 1000, 330, 800, vein};
}

}  // namespace phantom
}  // namespace mrivol
