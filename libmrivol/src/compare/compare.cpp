#include "mrivol/compare/compare.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "../core/parallel.hpp"
#include "../core/splitmix.hpp"
#include "mrivol/core/error.hpp"

namespace mrivol {
namespace compare {
namespace {

// Voxels of `a` whose point, mapped by t, lies inside b's field of view
// (and, when given, inside the region `keep` accepts).
template <class Keep>
Volume covered(const Volume& a, const Geometry& b, const Transform& t, Keep keep) {
  Volume m;
  m.geom = a.geom;
  m.data.assign(a.geom.voxels(), 0.0f);
  const auto& g = a.geom;
  for (std::size_t k = 0; k < g.size[2]; ++k)
    for (std::size_t j = 0; j < g.size[1]; ++j)
      for (std::size_t i = 0; i < g.size[0]; ++i) {
        const Vec3 p = g.index_to_point(double(i), double(j), double(k));
        const Vec3 c = b.point_to_index(t.apply(p));
        bool in = true;
        for (int x = 0; x < 3; ++x)
          if (c[x] < -0.5 || c[x] > b.size[x] - 0.5) in = false;
        m.data[i + g.size[0] * (j + g.size[1] * k)] = in && keep(p) ? 1.0f : 0.0f;
      }
  return m;
}

double pct(double pre, double post) { return pre > 0 ? 100.0 * (post - pre) / pre : 0.0; }

segment::CanalPlane moved(const segment::CanalPlane& c, const Transform& t) {
  segment::CanalPlane o;
  o.point = t.apply(c.point);
  const auto& m = t.matrix;
  for (int i = 0; i < 3; ++i)
    o.normal[i] = m[3 * i] * c.normal[0] + m[3 * i + 1] * c.normal[1] + m[3 * i + 2] * c.normal[2];
  const double n = norm(o.normal);
  for (auto& x : o.normal) x /= n;
  return o;
}

// Soft plexus volume per slab: each measured level cut into `per_level`
// slabs between its top and bottom planes (the planes are carried between
// sessions, so slab i of PRE and slab i of POST hold the same anatomy).
std::vector<double> slab_volumes(const segment::Result& s, int per_level) {
  const auto& g = s.plexus_soft.geom;
  std::vector<double> v(s.level_planes.size() * std::size_t(per_level), 0.0);
  const double vox = g.spacing[0] * g.spacing[1] * g.spacing[2];
  auto sd = [](const segment::CanalPlane& p, const Vec3& x) {
    return (x[0] - p.point[0]) * p.normal[0] + (x[1] - p.point[1]) * p.normal[1] +
           (x[2] - p.point[2]) * p.normal[2];
  };
  for (std::size_t k = 0; k < g.size[2]; ++k)
    for (std::size_t j = 0; j < g.size[1]; ++j)
      for (std::size_t i = 0; i < g.size[0]; ++i) {
        const std::size_t u = i + g.size[0] * (j + g.size[1] * k);
        const float f = s.plexus_soft.data[u];
        const int l = int(s.levels.data[u]) - 1;
        if (f == 0 || l < 0 || std::size_t(l) >= s.level_planes.size() ||
            !s.level_planes[std::size_t(l)].found)
          continue;
        const Vec3 x = g.index_to_point(double(i), double(j), double(k));
        const double a = sd(s.level_planes[std::size_t(l)].top, x),
                     b = sd(s.level_planes[std::size_t(l)].bottom, x);
        const double t = b - a > 1e-9 ? std::clamp(b / (b - a), 0.0, 1.0) : 0.5;  // 0 bottom .. 1 top
        const int slab = std::min(per_level - 1, int(t * per_level));
        v[std::size_t(l) * std::size_t(per_level) + std::size_t(slab)] += f * vox;
      }
  return v;
}

}  // namespace

double volume_at(const Volume& soft, double threshold) {
  const double vox = soft.geom.spacing[0] * soft.geom.spacing[1] * soft.geom.spacing[2];
  double n = 0;
  for (std::size_t i = 0; i < soft.geom.voxels(); ++i) n += soft.data[i] >= threshold;
  return n * vox;
}

Result compare(const Volume& pre, const Volume& post, const Options& opt, Reporter& rep) {
  const auto t0 = std::chrono::steady_clock::now();
  Result r;
  auto lap = [&r, last = t0](const char* stage) mutable {
    const auto now = std::chrono::steady_clock::now();
    r.stage_seconds.push_back({stage, std::chrono::duration<double>(now - last).count()});
    last = now;
  };
  // 1. Registration: POST (moving) onto PRE (fixed).
  registration::Config rc = opt.registration;
  rc.threads = opt.threads;
  // With --init auto, a second start (moments, or grid centres when the
  // automatic one used moments): the rigid optimiser can settle in a wrong
  // minimum from one start (seen on a thick-slice pair: 14 mm along the spine
  // from the scanner-coordinate start). Both starts run the coarse levels on
  // one pyramid; the better metric there goes on to full resolution.
  if (rc.init == "auto" && rc.extra_starts.empty())
    rc.extra_starts = {registration::auto_init(pre, post) == "moments" ? "geometry" : "moments"};
  r.reg = registration::register_images(pre, post, nullptr, nullptr, rc, nullptr, rep);
  lap("registration");
  const Transform& T = r.reg.transform;
  const Transform Ti = T.inverse();

  // 2. The anatomy both scans cover, within the region of interest (PRE space).
  auto in_roi = [&](const Vec3& p_pre) {
    if (opt.roi_box) {
      const auto& b = *opt.roi_box;
      for (int a = 0; a < 3; ++a)
        if (p_pre[a] < std::min(b[a], b[a + 3]) || p_pre[a] > std::max(b[a], b[a + 3])) return false;
    }
    if (opt.roi_mask) {
      const auto& m = *opt.roi_mask;
      const Vec3 c = m.geom.point_to_index(p_pre);
      const long i = std::lround(c[0]), j = std::lround(c[1]), k = std::lround(c[2]);
      if (i < 0 || j < 0 || k < 0 || i >= long(m.geom.size[0]) || j >= long(m.geom.size[1]) ||
          k >= long(m.geom.size[2]))
        return false;
      if (m.at(std::size_t(i), std::size_t(j), std::size_t(k)) <= 0.5f) return false;
    }
    return true;
  };
  segment::Options so = opt.segment;
  so.threads = opt.threads;
  so.coverage = covered(pre, post.geom, T, in_roi);
  segment::Options po = so;
  po.coverage = covered(post, pre.geom, Ti, [&](const Vec3& p_post) { return in_roi(Ti.apply(p_post)); });
  lap("common field of view");
  auto empty = [](const Volume& m) {
    for (float x : m.data)
      if (x > 0.5f) return false;
    return true;
  };
  if (empty(*so.coverage) || empty(*po.coverage))
    throw RegistrationError("", std::string("PRE and POST cover no common anatomy") +
                                    (opt.roi_mask || opt.roi_box ? " inside the ROI" : "") +
                                    " after registration: nothing to compare");

  // 3. Both sessions measured the same way: PRE's contrast and vein
  // polarity, and the same vertebral levels. Each session finds its own
  // levels; the two sets meet half-way (each plane the mean of PRE's and
  // POST's mapped into PRE, carried back to POST through the transform), so
  // neither session's disc detection decides alone. A level found in one
  // session only takes that session's planes; when the two disagree by more
  // than 8 mm (about a quarter of a level: a mislabelled disc), PRE's planes
  // are carried to POST and the report warns.
  r.pre = segment::segment(pre, so, rep);
  lap("segment pre");
  po.contrast = r.pre.contrast;
  if (!r.pre.veins.empty()) po.veins = r.pre.veins;
  r.post = segment::segment(post, po, rep);
  lap("segment post");
  std::vector<segment::LevelPlanes> shared = r.pre.level_planes;
  {
    auto average = [&](const segment::CanalPlane& a, const segment::CanalPlane& b_post) {
      const segment::CanalPlane b = moved(b_post, Ti);
      segment::CanalPlane m;
      for (int i = 0; i < 3; ++i) {
        m.point[i] = 0.5 * (a.point[i] + b.point[i]);
        m.normal[i] = a.normal[i] + b.normal[i];
      }
      const double n = norm(m.normal);
      for (auto& x : m.normal) x /= n;
      return m;
    };
    auto apart = [&](const segment::CanalPlane& a, const segment::CanalPlane& b_post) {
      const segment::CanalPlane b = moved(b_post, Ti);
      double d = 0;
      for (int i = 0; i < 3; ++i) d += (a.point[i] - b.point[i]) * a.normal[i];
      return std::fabs(d);
    };
    const auto& a = r.pre.level_planes;
    const auto& b = r.post.level_planes;
    bool agree = a.size() == b.size();
    for (std::size_t l = 0; agree && l < a.size(); ++l)
      if (a[l].found && b[l].found)
        agree = apart(a[l].top, b[l].top) <= 8.0 && apart(a[l].bottom, b[l].bottom) <= 8.0 &&
                apart(a[l].disc, b[l].disc) <= 8.0;
    if (agree) {
      for (std::size_t l = 0; l < a.size(); ++l) {
        if (a[l].found && b[l].found) {
          shared[l].top = average(a[l].top, b[l].top);
          shared[l].bottom = average(a[l].bottom, b[l].bottom);
          shared[l].disc = average(a[l].disc, b[l].disc);
        } else if (b[l].found) {
          shared[l].found = true;
          shared[l].top = moved(b[l].top, Ti);
          shared[l].bottom = moved(b[l].bottom, Ti);
          shared[l].disc = moved(b[l].disc, Ti);
        }
      }
      r.levels_method =
          "half-way: each level plane the mean of the planes found in PRE and in POST (mapped into PRE)";
    } else if (a.size() != b.size()) {
      r.levels_method = "PRE's level planes carried to POST";
    } else {
      r.levels_method =
          "PRE's level planes carried to POST (the sessions' levels disagree by more than 8 mm)";
      r.warnings.push_back(
          "the vertebral levels found in PRE and POST disagree by more than 8 mm: PRE's levels are used in "
          "both");
    }
  }
  so.levels_given = shared;
  po.levels_given.clear();
  for (const auto& lp : shared) {
    segment::LevelPlanes m = lp;
    if (lp.found) {
      m.top = moved(lp.top, T);
      m.bottom = moved(lp.bottom, T);
      m.disc = moved(lp.disc, T);
    }
    po.levels_given.push_back(m);
  }
  if (opt.common_canal && r.pre.contrast == "t1c") {
    // On contrast-enhanced T1 the canal is found less tightly (CSF, fat and
    // bone differ little) and a canal found a little tighter in one session
    // cuts that session's veins only. The same region in both sessions,
    // favouring neither: each canal becomes the union of its own and the
    // other's (nearest neighbour through the transform), and both are
    // measured again in it. Widening the canal costs nothing there: only
    // enhancing veins are bright. (On T2 the widened wall is cortical bone,
    // as dark as a flow void: measured worse, so T2 keeps its own canals.)
    so.canal_add =
        registration::resample(r.post.canal, pre.geom, T, registration::Interpolation::nearest, opt.threads);
    po.canal_add =
        registration::resample(r.pre.canal, post.geom, Ti, registration::Interpolation::nearest, opt.threads);
  }
  r.pre = segment::segment(pre, so, rep);
  r.post = segment::segment(post, po, rep);
  lap(opt.common_canal && r.pre.contrast == "t1c" ? "shared levels and common canal" : "shared levels");

  // 4. The change.
  r.pre_mm3 = r.pre.volume_soft_mm3;
  r.post_mm3 = r.post.volume_soft_mm3;
  r.change_mm3 = r.post_mm3 - r.pre_mm3;
  r.percent = pct(r.pre_mm3, r.post_mm3);
  r.pre_binary_mm3 = r.pre.volume_mm3;
  r.post_binary_mm3 = r.post.volume_mm3;
  r.percent_binary = pct(r.pre_binary_mm3, r.post_binary_mm3);
  std::vector<double> variants{r.percent, r.percent_binary};
  for (double t : {0.35, 0.65})
    variants.push_back(pct(volume_at(r.pre.plexus_soft, t), volume_at(r.post.plexus_soft, t)));
  r.sensitivity_low = *std::min_element(variants.begin(), variants.end());
  r.sensitivity_high = *std::max_element(variants.begin(), variants.end());
  r.percent_low = r.sensitivity_low;
  r.percent_high = r.sensitivity_high;
  r.interval_method =
      "range of the percent change over the soft (partial-volume) volumes and the binary volumes at "
      "vein-fraction thresholds 0.35, 0.5 and 0.65 (the segmentation's decisive parameter)";
  // Block bootstrap over anatomy: the measured levels cut into 4 slabs each
  // (the same slabs in both sessions, through the carried level planes);
  // slabs drawn with replacement, the change of the summed volumes, 2000
  // draws with a fixed seed, 2.5th-97.5th percentiles. How much the change
  // measured varies from one piece of anatomy to the next: local
  // segmentation errors (partial volume, slice position, noise), and in a
  // patient real differences between levels too.
  {
    const int per = 4;
    const auto a = slab_volumes(r.pre, per), b = slab_volumes(r.post, per);
    std::vector<std::size_t> used;
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
      if (a[i] > 0 && b[i] > 0) used.push_back(i);
    if (used.size() >= 8) {
      SplitMix64 rng{0x9e3779b97f4a7c15ULL};  // fixed seed: the same draws everywhere
      auto next = [&rng]() { return rng.next(); };
      std::vector<double> draws;
      const int B = 2000;
      for (int d = 0; d < B; ++d) {
        double sa = 0, sb = 0;
        for (std::size_t n = 0; n < used.size(); ++n) {
          const std::size_t i = used[next() % used.size()];
          sa += a[i];
          sb += b[i];
        }
        draws.push_back(pct(sa, sb));
      }
      std::sort(draws.begin(), draws.end());
      r.bootstrap_low = draws[std::size_t(0.025 * (B - 1))];
      r.bootstrap_high = draws[std::size_t(0.975 * (B - 1))];
      r.bootstrap_slabs = int(used.size());
      r.percent_low = std::min(r.percent_low, r.bootstrap_low);
      r.percent_high = std::max(r.percent_high, r.bootstrap_high);
      r.interval_method =
          "union of (1) a block bootstrap over anatomy (the measured levels cut into 4 slabs each, the same "
          "slabs in both sessions; 2000 draws with replacement, fixed seed; 2.5th-97.5th percentiles of the "
          "change of the summed soft volumes) and (2) the range of the change over the soft volumes and the "
          "binary volumes at vein-fraction thresholds 0.35, 0.5 and 0.65 (the segmentation's decisive "
          "parameter). An uncertainty of the measurement, not a confidence interval of a population";
    } else {
      r.warnings.push_back(
          "too few measured slabs for the bootstrap: the interval is the threshold sensitivity only");
    }
  }
  const auto& names = segment::level_names();
  for (std::size_t l = 0; l < names.size(); ++l) {
    LevelChange c;
    c.name = names[l];
    const auto& a = r.pre.level_results[l];
    const auto& b = r.post.level_results[l];
    c.measured = a.present && b.present;
    c.pre_mm3 = a.volume_soft_mm3;
    c.post_mm3 = b.volume_soft_mm3;
    c.change_mm3 = c.post_mm3 - c.pre_mm3;
    c.percent = pct(c.pre_mm3, c.post_mm3);
    c.sac_area_pre_mm2 = a.sac_area_mm2;
    c.sac_area_post_mm2 = b.sac_area_mm2;
    r.levels.push_back(c);
  }
  for (const auto& w : r.pre.warnings) r.warnings.push_back("pre: " + w);
  for (const auto& w : r.post.warnings) r.warnings.push_back("post: " + w);
  if (!pre.meta.acq.frame_of_reference_uid.empty() && !post.meta.acq.frame_of_reference_uid.empty() &&
      pre.meta.acq.study_uid == post.meta.acq.study_uid &&
      pre.meta.acq.frame_of_reference_uid != post.meta.acq.frame_of_reference_uid)
    r.warnings.push_back("pre and post are of the same study but different frames of reference");
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace compare
}  // namespace mrivol
