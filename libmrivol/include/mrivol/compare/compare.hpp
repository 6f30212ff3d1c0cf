// mrivol-compare: the whole pre/post comparison of the epidural venous plexus.
//
//  1. register POST onto PRE (rigid; transform maps a PRE LPS point to the
//     same anatomical point of POST);
//  2. segment PRE; its decisions (contrast, vein polarity) and its vertebral
//     levels are carried to POST (levels through the transform), so both
//     sessions are measured the same way; each mask stays on its own grid;
//  3. measure over the anatomy both scans cover (each scan's voxels whose
//     mapped point falls inside the other's field of view);
//  4. the change, per level too, with a sensitivity interval over the
//     segmentation's decisive threshold (the vein fraction that makes a
//     voxel "vein"), and the soft (partial-volume) estimate as the headline.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "mrivol/core/reporter.hpp"
#include "mrivol/core/transform.hpp"
#include "mrivol/core/volume.hpp"
#include "mrivol/registration/register.hpp"
#include "mrivol/segment/segment.hpp"

namespace mrivol {
namespace compare {

struct Options {
  segment::Options segment;  ///< contrast, veins, levels, threads...
  registration::Config registration;
  std::optional<Volume> roi_mask;                ///< in PRE's space
  std::optional<std::array<double, 6>> roi_box;  ///< LPS mm, PRE's space
  unsigned threads = 0;
  /// On contrast-enhanced T1, measure both sessions in the same region: each
  /// scan's canal is the union of its own and the other session's (carried
  /// through the transform). T2 keeps each session's own canal.
  bool common_canal = true;
};

struct LevelChange {
  std::string name;
  bool measured = false;
  double pre_mm3 = 0, post_mm3 = 0, change_mm3 = 0, percent = 0;
  double sac_area_pre_mm2 = -1, sac_area_post_mm2 = -1;
};

struct Result {
  segment::Result pre, post;
  registration::Result reg;
  double pre_mm3 = 0, post_mm3 = 0, change_mm3 = 0, percent = 0;  ///< soft volumes
  double pre_binary_mm3 = 0, post_binary_mm3 = 0, percent_binary = 0;
  double percent_low = 0, percent_high = 0;          ///< the interval reported (union of the two below)
  double sensitivity_low = 0, sensitivity_high = 0;  ///< over the vein-fraction threshold
  double bootstrap_low = 0, bootstrap_high = 0;      ///< 95 % block bootstrap over slabs of anatomy
  int bootstrap_slabs = 0;                           ///< 0 = no bootstrap (too few levels measured)
  std::string interval_method;
  std::string levels_method;  ///< how the shared level planes were obtained
  std::vector<LevelChange> levels;
  double coverage_pre = 1, coverage_post = 1;  ///< fraction of each canal inside the common field of view
  std::vector<std::string> warnings;
  double seconds = 0;
  std::vector<std::pair<std::string, double>> stage_seconds;
};

Result compare(const Volume& pre, const Volume& post, const Options& opt, Reporter& rep = null_reporter());

/// Percent change with volumes counted at a fraction threshold (soft map >= t).
double volume_at(const Volume& soft, double threshold);

}  // namespace compare
}  // namespace mrivol
