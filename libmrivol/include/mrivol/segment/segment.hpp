// mrivol-segment: the epidural venous plexus of one lumbar MRI scan.
//
// Pipeline (all on the scan's own grid, LPS geometry):
//  1. the spinal canal: the thecal sac found as the tube that is brighter (T2)
//     or darker (T1) than everything around it in each cross-section, a
//     robust centreline through it, then per cross-section the canal contents
//     (CSF and epidural fat) around the centreline closed by their convex
//     hull (so veins against the walls are inside). A user region (mask, LPS
//     box or seed points) replaces or restricts the automatic search;
//  2. the thecal sac inside the canal (CSF), holes (nerve roots) filled;
//  3. the plexus in the epidural space (canal minus the sac's interior): a
//     two-component partial-volume model, each voxel's intensity a mix of
//     vein and local background, with vein and background intensities
//     estimated locally (normalised convolution: no bias-field model is
//     needed) and iterated with the mask; soft map = vein fraction, binary
//     mask = fraction >= 0.5 with components smaller than a minimum removed;
//  4. vertebral levels from the discs along the canal (an intensity profile
//     through the posterior vertebral bodies: discs and endplates are darker
//     than marrow in both contrasts); the lowest full disc is L5-S1 unless
//     told otherwise. Level Lx-Ly spans the centre of Lx to the centre of Ly.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "mrivol/core/reporter.hpp"
#include "mrivol/core/volume.hpp"

namespace mrivol {
namespace segment {

/// The five lumbar levels, in order: "L1-L2" ... "L5-S1".
const std::vector<std::string>& level_names();
/// Parse "L3-S1" (a range of discs' levels), "L4-L5" or "all" to [first, last]
/// indices into level_names(). Throws UsageError.
std::pair<int, int> parse_levels(const std::string& text);

struct Region {
  std::optional<Volume> mask;                ///< the canal (any grid; resampled nearest-neighbour)
  std::string mask_path;                     ///< for messages
  std::optional<std::array<double, 6>> box;  ///< x0,y0,z0,x1,y1,z1 LPS mm: restricts the search
  std::vector<Vec3> seeds;                   ///< LPS points in the thecal sac (>= 1): the centreline
};

/// A plane across the canal in LPS: a point and a unit normal pointing up
/// the spine (superior, towards L1).
struct CanalPlane {
  Vec3 point{}, normal{};
};
/// Where a level lies: between the planes through the vertebral centres
/// above (top) and below (bottom), and its disc's mid-plane.
struct LevelPlanes {
  bool found = false;
  CanalPlane top, bottom, disc;
};

struct Options {
  std::string contrast = "auto";      ///< auto (metadata, else image), t2 or t1c
  std::string veins = "auto";         ///< auto (t2: detected; t1c: bright), dark or bright
  std::string levels = "all";         ///< range measured, e.g. "L3-S1"
  std::string lowest_disc = "L5-S1";  ///< name of the lowest full disc in the field of view
  Region region;
  double min_component_mm3 = 3.0;  ///< smaller vessel components are noise
  unsigned threads = 0;
  /// Levels given (e.g. another session's, carried through a transform):
  /// the disc search is skipped. Empty = find them.
  std::vector<LevelPlanes> levels_given;
  /// Measure only inside this mask (on the scan's grid), e.g. the field of
  /// view both sessions cover. Empty = everywhere.
  std::optional<Volume> coverage;
  /// Added to the canal found (on the scan's grid), e.g. the other session's
  /// canal carried through the transform, so both sessions measure the same
  /// region. Empty = the canal found alone.
  std::optional<Volume> canal_add;
};

struct LevelResult {
  std::string name;
  bool present = false;  ///< inside the field of view and the measured range
  double volume_mm3 = 0, volume_soft_mm3 = 0;
  double sac_area_mm2 = -1;          ///< dural sac cross-section at the disc's mid-plane (-1: not measured)
  Vec3 disc_point{};                 ///< where the disc's mid-plane crosses the canal centreline (LPS)
  double top_mm = 0, bottom_mm = 0;  ///< level limits along the centreline (arc length from the top)
};

struct Result {
  Volume plexus;                               ///< binary 0/1 (within the measured levels)
  Volume plexus_soft;                          ///< vein fraction [0,1]
  Volume canal;                                ///< binary
  Volume sac;                                  ///< binary thecal sac (minus intruding veins)
  Volume levels;                               ///< labels 1..5 = L1-L2..L5-S1 inside the canal, 0 elsewhere
  double volume_mm3 = 0, volume_soft_mm3 = 0;  ///< within the measured levels
  double volume_canal_mm3 = 0;                 ///< plexus in the whole canal (soft)
  std::vector<LevelResult> level_results;
  std::vector<LevelPlanes> level_planes;  ///< per level, LPS (found or given)
  std::pair<int, int> level_range{0, 4};
  bool levels_found = false;
  std::string contrast, contrast_source, veins, veins_source, region_source;
  double vein_intensity = 0, background_intensity = 0, csf_intensity = 0;  ///< model (medians)
  double noise_sigma = 0;  ///< magnitude noise (per channel) used for the Rician correction; 0: none
  double canal_volume_mm3 = 0, canal_length_mm = 0;
  std::vector<Vec3> centreline;  ///< LPS points, top to bottom, 1 per cross-section
  bool touches_edge = false;     ///< the plexus mask reaches the field of view's edge
  std::vector<std::string> warnings;
  double seconds = 0;
  std::vector<std::pair<std::string, double>> stage_seconds;  ///< where the time went
};

/// Segment the plexus. Throws InputError (unusable scan or region) or
/// QualityError-class errors (ExitCode 5) when no canal can be found.
Result segment(const Volume& scan, const Options& opt, Reporter& rep = null_reporter());

/// Measure a mask drawn elsewhere (label > 0 = plexus; values strictly
/// between 0 and 1 are read as fractions). With the scan, levels and the
/// canal come from it (the mask is resampled on the scan's grid if needed).
Result measure(const Volume& mask, const Volume* scan, const Options& opt, Reporter& rep = null_reporter());

/// segmentation.json (schema mrivol.segment/1).
std::string to_json(const Result& r, const Options& opt);

/// QC pictures: sagittal (through the canal) and axial (through each disc
/// measured) slices with the plexus (red), sac (blue) and canal (green) outlines.
void write_qc(const Volume& scan, const Result& r, const std::string& path_prefix, bool overwrite);

}  // namespace segment
}  // namespace mrivol
