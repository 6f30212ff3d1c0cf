// mrivol-phantom: a synthetic lumbar spine examined twice (before and after
// exercise) with a known epidural venous plexus change and known motion.
//
// Frames: the anatomy is defined in body coordinates, which are the pre
// session's LPS patient coordinates (mm; spine along S-I, L3 body centre at
// the origin). The post session sees the same body through a rigid motion:
// a body point b appears at post LPS point M*b, so M maps a pre point to the
// same anatomical point of post (the ITK/mrivol transform convention).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "mrivol/core/reporter.hpp"
#include "mrivol/core/volume.hpp"

namespace mrivol {
namespace phantom {

/// Anatomical dimensions (mm). Defaults are typical adult lumbar values.
struct Anatomy {
  std::array<double, 6> body_height{26.0, 27.0, 27.5, 28.0, 28.0, 30.0};  ///< L1..S1
  std::array<double, 5> disc_height{8.5, 9.5, 10.5, 11.0, 10.0};          ///< L1-L2..L5-S1
  double body_half_width = 22.0, body_half_depth = 16.0, cortex = 1.2;
  double canal_half_width = 13.0, canal_depth = 18.0;                   ///< D-shaped canal behind the bodies
  double sac_half_width = 8.5, sac_half_depth = 6.8, sac_offset = 8.0;  ///< thecal sac ellipse
  double root_radius = 0.9;
  double vein_radius = 2.0;        ///< anterior internal vertebral veins (mean radius)
  double vein_radius_var = 0.35;   ///< smooth variation amplitude of the radius
  double vein_offset = 7.5;        ///< distance of each channel from the midline
  double vein_tortuosity = 1.0;    ///< lateral meander amplitude
  double transverse_radius = 1.2;  ///< retrocorporeal connections, one per vertebra
  double draining_radius = 2.8;    ///< large vein through the L4 foramen (0 = none)
  int draining_side = 1;           ///< +1 patient left (LPS +x), -1 right
  double lordosis = 0.0012;        ///< curvature of the spine axis (1/mm)
  double abdomen_half_width = 160.0, abdomen_half_depth = 115.0, subcutaneous_fat = 18.0;
  double phase1 = 0.7, phase2 = 2.1, phase3 = 4.0;  ///< phases of the smooth variations
};

struct Config {
  std::uint64_t seed = 1;
  bool random_anatomy = false;        ///< draw dimensions and engorgement from the seed
  std::string contrast = "t2";        ///< t2 (TSE) or t1c (contrast-enhanced fat-suppressed T1)
  std::string veins = "dark";         ///< t2 only: dark (flow voids) or bright (slow flow)
  std::string acquisition = "sag2d";  ///< sag2d, ax2d or iso3d
  double engorgement = 1.15;          ///< post/pre vessel radius factor (1 = null pair)
  double motion_deg = 3.0;            ///< rotation angle between sessions
  double motion_mm = 4.0;             ///< translation between sessions
  double recentre_mm = 3.0;           ///< post field-of-view re-centring error
  double snr = 25.0;                  ///< signal of the brightest tissue / noise sigma
  double bias = 0.15;                 ///< amplitude of the smooth multiplicative bias field
  double post_scale = 1.08;           ///< global intensity scale of the post session
  double tissue_jitter = 0.08;        ///< fat/muscle relative intensity change in post (max)
  /// Optional non-rigid posture change: the lumbar curve changes by this many
  /// degrees per level in post (about 1 is realistic; 0 = rigid only). The
  /// whole body follows the spine axis, so the canal contents follow the
  /// vertebrae and the abdomen shifts by a few millimetres.
  double posture_deg = 0.0;
  int supersample = 3;  ///< sub-samples per voxel edge (through-slice: more)
  int coarsen = 1;      ///< voxel size x N, matrix / N in-plane (quick small pairs)
  /// Slice thickness of the 2D acquisitions (mm; 0 = the acquisition's own:
  /// sag2d 3.5, ax2d 4). The slab keeps its extent (slices = extent / thickness).
  double slice_mm = 0.0;
  Anatomy anatomy;
};

/// Built-in presets ("default", "case", "null", "small"); or a JSON file.
Config preset(const std::string& name_or_file);
std::string to_json(const Config& c);
Config config_from_json(const std::string& json_text, const std::string& origin = "config");
/// Throws InputError on out-of-range values.
void validate(const Config& c);

struct LevelTruth {
  std::string name;  ///< "L4-L5"
  double pre_mm3 = 0, post_mm3 = 0;
  double sac_area_pre_mm2 = 0, sac_area_post_mm2 = 0;  ///< at the disc's mid-plane
  std::array<double, 3> disc_centre_lps{};             ///< body (= pre) coordinates
};

struct Truth {
  double pre_mm3 = 0, post_mm3 = 0, percent_change = 0;
  std::vector<LevelTruth> levels;
  std::array<double, 16> pre_to_post{};  ///< row-major 4x4, LPS mm
  double rotation_deg = 0, translation_mm = 0;
  double grid_mm = 0;  ///< fine-grid step used for the volumes
  bool non_rigid = false;
};

struct Session {
  Volume image;               ///< the scan (uint16 values as float)
  Volume plexus, canal, sac;  ///< partial-volume fractions [0,1] on the scan's grid
};

struct Pair {
  Config config;  ///< after random draws (what was actually simulated)
  Session pre, post;
  Truth truth;
  /// With a posture change: on the pre grid, 3 volumes (LPS x, y, z
  /// components, mm) of the displacement d such that p + d(p) is the post
  /// point of the anatomy at pre point p (rigid motion included). Empty
  /// otherwise (the 4x4 matrix is then the exact mapping).
  Volume displacement;
};

/// Exact pre -> post mapping of a body (= pre LPS) point, posture included.
Vec3 map_pre_to_post(const Pair& p, const Vec3& pre_point);

/// Simulate a pair. Deterministic for a given config (any thread count).
Pair generate(const Config& c, unsigned threads = 0, Reporter& rep = null_reporter());

/// The true plexus volume (mm^3) of one session's anatomy on a fine grid.
double plexus_volume(const Config& c, double radius_scale, double grid_mm, unsigned threads = 0);

/// Write DIR/pre, DIR/post (DICOM), DIR/truth (truth.json, masks, previews).
/// The folder is assembled under a temporary name and renamed when complete.
struct WriteOptions {
  bool overwrite = false;
  bool previews = true;
  std::string command_line;
};
/// Throws OutputError unless write_pair could create `dir` (check before
/// spending time on generate()).
void check_output(const std::string& dir, bool overwrite);
void write_pair(const Pair& p, const std::string& dir, const WriteOptions& opt,
                Reporter& rep = null_reporter());

}  // namespace phantom
}  // namespace mrivol
