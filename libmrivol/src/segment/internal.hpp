// Internal: the state shared by the segmentation steps.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "grid.hpp"
#include "mrivol/core/reporter.hpp"
#include "mrivol/core/volume.hpp"
#include "mrivol/segment/segment.hpp"

namespace mrivol {
namespace segment {

/// The scan seen as cross-sections along the axis closest to S-I. Positions
/// are in the "axis frame": mm along each voxel axis from voxel (0,0,0).
struct Work {
  Dims d;
  Geometry g;
  std::vector<float> img;      ///< raw intensities
  std::vector<float> smooth;   ///< Gaussian 0.8 mm
  int si = 2, a1 = 0, a2 = 1;  ///< cross-section axis and the two in-plane axes
  int polarity = 1;            ///< +1: CSF bright (T2), -1: CSF dark (T1)
  unsigned threads = 0;

  // Centreline: in-plane position (mm) as a polynomial of w (mm along si).
  // Cubics in the normalised t = (w - wn0) / wns.
  std::array<double, 4> c1{}, c2{};
  double w_lo = 0, w_hi = 0, wn0 = 0, wns = 1;
  double centre1(double w) const {
    const double t = (w - wn0) / wns;
    return ((c1[3] * t + c1[2]) * t + c1[1]) * t + c1[0];
  }
  double centre2(double w) const {
    const double t = (w - wn0) / wns;
    return ((c2[3] * t + c2[2]) * t + c2[1]) * t + c2[0];
  }
  /// LPS point of an axis-frame position.
  Vec3 point(double x1, double x2, double w) const;
  /// Continuous voxel index of an axis-frame position.
  std::array<double, 3> index(double x1, double x2, double w) const;
  std::size_t voxel(long p1, long p2, long k) const;  ///< index of in-plane pixel (p1,p2) in section k

  Mask canal, sac;                  ///< full grid
  std::vector<double> csf_level;    ///< per section
  std::vector<double> anterior_mm;  ///< per section: canal extent towards anterior (0: none)
  std::vector<char> section_ok;
  std::array<double, 2> anterior_dir{0, 0};  ///< in-plane unit vector towards the patient's anterior

  /// A plane across the canal: point and unit normal (axis frame, normal
  /// along +w).
  struct CutPlane {
    std::array<double, 3> p{}, n{};
    double signed_distance(const std::array<double, 3>& x) const {
      return (x[0] - p[0]) * n[0] + (x[1] - p[1]) * n[1] + (x[2] - p[2]) * n[2];
    }
  };
  CutPlane plane_at(double w) const;                          ///< perpendicular to the centreline at w
  std::array<double, 3> frame(long i, long j, long k) const;  ///< axis-frame position of a voxel
  std::vector<CutPlane> disc_planes;                          ///< per level (valid when the level was found)
  std::vector<char> disc_found;
};

/// Trilinear sample (clamped to the grid).
float sample(const std::vector<float>& v, const Dims& d, double i, double j, double k);

/// Strength of the best tube of the given polarity (for contrast detection).
double tube_strength(const Work& w, int polarity);
/// Step 1 and 2: centreline, canal and sac. Throws QualityError.
void find_canal(Work& w, const Options& opt, Result& r, Reporter& rep);
/// Step 4: levels from the discs; fills r.level_results (disc points,
/// limits) and r.level_planes (LPS).
void find_levels(Work& w, const Options& opt, Result& r, Reporter& rep);
/// A label per canal voxel from r.level_planes (0 = outside the levels).
std::vector<std::uint8_t> label_levels(const Work& w, const Result& r);
/// Slow-flow (bright) veins on T2 in a crop of the scan around the canal
/// (bright.cpp): vein fractions f, the mask M, and the vein and fat levels.
struct BrightInput {
  const Dims& c;
  int si, a1, a2;
  std::array<double, 2> anterior;  ///< in-plane (a1, a2) unit vector towards anterior
  unsigned threads;
  const std::vector<float>& I;
  const Mask& canal;
  const Mask& sac;
  const std::vector<float>& csf;  ///< CSF level per voxel
  double min_mm3;
};
void bright_t2_veins(const BrightInput& in, std::vector<float>& f, Mask& M, std::vector<float>& vein_at,
                     std::vector<float>& fat_at);
/// Axis-frame plane <-> LPS plane.
CanalPlane to_lps(const Work& w, const Work::CutPlane& c);

}  // namespace segment
}  // namespace mrivol
