// segmentation.json and the QC pictures.
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "mrivol/core/version.hpp"
#include "mrivol/io/png.hpp"
#include "mrivol/segment/segment.hpp"

namespace mrivol {
namespace segment {

std::string to_json(const Result& r, const Options& opt) {
  using nlohmann::ordered_json;
  ordered_json levels = ordered_json::array();
  for (const auto& l : r.level_results) {
    ordered_json j{{"level", l.name}, {"measured", l.present}};
    if (l.present) {
      j["plexus_volume_mm3"] = l.volume_mm3;
      j["plexus_volume_soft_mm3"] = l.volume_soft_mm3;
    }
    if (l.sac_area_mm2 >= 0) {
      j["dural_sac_area_mm2"] = l.sac_area_mm2;
      j["disc_plane_canal_point_lps_mm"] = l.disc_point;
    }
    levels.push_back(j);
  }
  const auto& names = level_names();
  ordered_json j{
      {"schema", "mrivol.segment/1"},
      {"plexus_volume_mm3", r.volume_mm3},
      {"plexus_volume_soft_mm3", r.volume_soft_mm3},
      {"measured_levels", r.levels_found ? names[std::size_t(r.level_range.first)].substr(0, 2) + "-" +
                                               names[std::size_t(r.level_range.second)].substr(3)
                                         : "whole canal in the field of view"},
      {"definition",
       "plexus = veins in the epidural space of the spinal canal (canal minus thecal sac); binary volume = "
       "voxels with vein fraction >= 0.5, soft volume = sum of vein fractions; level Lx-Ly spans the centre "
       "of "
       "vertebra Lx to the centre of Ly; dural sac area = thecal sac cross-section (minus intruding veins) "
       "in "
       "the plane through the disc's centre perpendicular to the canal"},
      {"levels", levels},
      {"plexus_volume_whole_canal_soft_mm3", r.volume_canal_mm3},
      {"canal",
       {{"source", r.region_source}, {"volume_mm3", r.canal_volume_mm3}, {"length_mm", r.canal_length_mm}}},
      {"model",
       {{"contrast", r.contrast},
        {"contrast_source", r.contrast_source},
        {"veins", r.veins},
        {"veins_source", r.veins_source},
        {"vein_intensity", r.vein_intensity},
        {"background_intensity", r.background_intensity},
        {"csf_intensity", r.csf_intensity},
        {"noise_sigma", r.noise_sigma},
        {"noise_correction", r.noise_sigma > 0
                                 ? "Rician: each voxel mapped through the inverse of the Rice mean "
                                   "before the partial-volume model (vein and background intensities "
                                   "are in these corrected units)"
                                 : "none"}}},
      {"parameters",
       {{"contrast", opt.contrast},
        {"veins", opt.veins},
        {"levels", opt.levels},
        {"lowest_disc", opt.lowest_disc},
        {"min_component_mm3", opt.min_component_mm3}}},
      {"files",
       {{"plexus", "plexus.nii.gz"},
        {"plexus_soft", "plexus_soft.nii.gz"},
        {"canal", "canal.nii.gz"},
        {"thecal_sac", "thecal_sac.nii.gz"},
        {"levels", "levels.nii.gz"},
        {"level_labels",
         {{"1", names[0]}, {"2", names[1]}, {"3", names[2]}, {"4", names[3]}, {"5", names[4]}}}}},
      {"warnings", r.warnings},
      {"seconds", r.seconds},
      {"stage_seconds",
       [&] {
         ordered_json t = ordered_json::object();
         for (const auto& [k, v] : r.stage_seconds) t[k] = v;
         return t;
       }()},
      {"version", version()}};
  return j.dump(2) + "\n";
}

namespace {

struct Rgb {
  std::uint8_t r, g, b;
};

// One panel: the scan windowed in grey, outlines of the masks on top.
std::vector<Rgb> panel(const Volume& scan, const Result& r, const io::Plane& p) {
  const auto g = io::window(io::sample_plane(scan, p));
  std::vector<Rgb> px(g.size());
  for (std::size_t i = 0; i < g.size(); ++i) px[i] = {g[i], g[i], g[i]};
  const std::pair<const Volume*, Rgb> layers[] = {
      {&r.canal, {60, 200, 60}}, {&r.sac, {70, 130, 255}}, {&r.plexus, {255, 40, 40}}};
  for (const auto& [vol, col] : layers) {
    const auto m = io::sample_plane(*vol, p);
    for (unsigned y = 0; y < p.height; ++y)
      for (unsigned x = 0; x < p.width; ++x) {
        const std::size_t i = y * p.width + x;
        if (m[i] < 0.5f) continue;
        bool edge = x == 0 || y == 0 || x + 1 == p.width || y + 1 == p.height;
        if (!edge)
          edge = m[i - 1] < 0.5f || m[i + 1] < 0.5f || m[i - p.width] < 0.5f || m[i + p.width] < 0.5f;
        if (edge) px[i] = col;
      }
  }
  return px;
}

void save(const std::vector<std::vector<Rgb>>& panels, unsigned w, unsigned h, const std::string& path,
          bool overwrite) {
  const unsigned gap = 4, W = static_cast<unsigned>(panels.size()) * (w + gap) - gap;
  std::vector<std::uint8_t> rgb(std::size_t(W) * h * 3, 0);
  for (std::size_t k = 0; k < panels.size(); ++k)
    for (unsigned y = 0; y < h; ++y)
      for (unsigned x = 0; x < w; ++x) {
        const Rgb& c = panels[k][y * w + x];
        const std::size_t o = (std::size_t(y) * W + k * (w + gap) + x) * 3;
        rgb[o] = c.r;
        rgb[o + 1] = c.g;
        rgb[o + 2] = c.b;
      }
  io::write_png(path, W, h, rgb, 3, overwrite);
}

}  // namespace

void write_qc(const Volume& scan, const Result& r, const std::string& prefix, bool overwrite) {
  if (r.centreline.empty()) return;
  const Vec3 mid = r.centreline[r.centreline.size() / 2];
  // Sagittal planes through the right and left halves of the plexus (the
  // paired anterior channels), else 7 mm either side of the canal's centre.
  double sx[2] = {0, 0}, n[2] = {0, 0};
  const auto& g = r.plexus.geom;
  for (std::size_t k = 0; k < g.size[2]; ++k)
    for (std::size_t j = 0; j < g.size[1]; ++j)
      for (std::size_t i = 0; i < g.size[0]; ++i)
        if (r.plexus.data[i + g.size[0] * (j + g.size[1] * k)] > 0) {
          const Vec3 p = g.index_to_point(double(i), double(j), double(k));
          const int side = p[0] > mid[0] ? 1 : 0;
          sx[side] += p[0];
          n[side] += 1;
        }
  const double len = std::max(120.0, r.canal_length_mm + 20);
  const double mm = 0.5;
  const unsigned sw = static_cast<unsigned>(100 / mm), sh = static_cast<unsigned>(len / mm);
  std::vector<std::vector<Rgb>> sag;
  for (int side = 0; side < 2; ++side) {
    Vec3 c = mid;
    c[0] = n[side] > 0 ? sx[side] / n[side] : mid[0] + (side ? 7.0 : -7.0);
    sag.push_back(panel(scan, r, io::sagittal_plane(c, mm, sw, sh)));
  }
  save(sag, sw, sh, prefix + "sagittal.png", overwrite);
  std::vector<std::vector<Rgb>> ax;
  const double amm = 0.25;
  const unsigned aw = static_cast<unsigned>(64 / amm);
  for (const auto& l : r.level_results)
    if (l.sac_area_mm2 >= 0) ax.push_back(panel(scan, r, io::axial_plane(l.disc_point, amm, aw, aw)));
  if (ax.empty()) ax.push_back(panel(scan, r, io::axial_plane(mid, amm, aw, aw)));
  save(ax, aw, aw, prefix + "axial.png", overwrite);
}

}  // namespace segment
}  // namespace mrivol
