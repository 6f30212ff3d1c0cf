#include "mrivol/compare/compare.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "../core/parallel.hpp"
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

  // 3. PRE, then POST measured the same way: PRE's contrast, vein polarity
  // and vertebral levels (carried through the transform).
  r.pre = segment::segment(pre, so, rep);
  lap("segment pre");
  po.contrast = r.pre.contrast;
  if (!r.pre.veins.empty()) po.veins = r.pre.veins;
  for (const auto& lp : r.pre.level_planes) {
    segment::LevelPlanes m = lp;
    if (lp.found) {
      m.top = moved(lp.top, T);
      m.bottom = moved(lp.bottom, T);
      m.disc = moved(lp.disc, T);
    }
    po.levels_given.push_back(m);
  }
  r.post = segment::segment(post, po, rep);
  lap("segment post");

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
  r.percent_low = *std::min_element(variants.begin(), variants.end());
  r.percent_high = *std::max_element(variants.begin(), variants.end());
  r.interval_method =
      "range of the percent change over the soft (partial-volume) volumes and the binary volumes at "
      "vein-fraction "
      "thresholds 0.35, 0.5 and 0.65 (the segmentation's decisive parameter)";
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
