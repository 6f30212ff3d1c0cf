// Internal: the analytic lumbar spine model of the phantom.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "mrivol/core/geometry.hpp"
#include "mrivol/phantom/phantom.hpp"

namespace mrivol {
namespace phantom {

enum Tissue : std::uint8_t {
  kAir,
  kFat,
  kSoft,
  kMuscle,
  kMarrow,
  kCortex,
  kBone,
  kNucleus,
  kAnnulus,
  kCsf,
  kRoot,
  kEpiFat,
  kVein,
  kTissueCount
};

struct Sample {
  Tissue tissue = kAir;
  bool plexus = false, canal = false, sac = false;
};

/// Coordinates along the spine: u = left-right (LPS x), v = distance
/// behind the spine axis along its normal (posterior +), t = position along
/// the axis (superior +). The axis passes through the vertebral body centres
/// with a lordotic curve y = lordosis * z^2.
struct Local {
  double u, v, t;
};

class Model {
 public:
  /// radius_scale multiplies every vessel radius (the session's engorgement).
  Model(const Anatomy& a, double radius_scale);

  Sample at(const Vec3& body) const;
  /// Vessel inside the spinal canal: the plexus as the truth defines it.
  bool plexus(const Vec3& body) const;
  /// Thecal sac (minus any vessel that indents it) in local coordinates.
  bool sac_local(const Local& l) const;

  Local local(const Vec3& b) const;
  Vec3 body(const Local& l) const;

  /// Local t of the vertebra centres (T12, L1..L5, S1, S2) and discs.
  const std::vector<double>& vertebra_centres() const { return vc_; }
  const std::vector<double>& disc_centres() const { return dc_; }
  /// Levels L1-L2..L5-S1 span vertebra centre to vertebra centre; the
  /// modelled plexus spans L1 centre to S1 centre, so levels sum to the total.
  int level_of(double t) const;
  double plexus_top() const { return vc_[1]; }
  double plexus_bottom() const { return vc_[6]; }
  /// Bounding box (body coordinates) of the canal between the plexus limits.
  void canal_box(Vec3& lo, Vec3& hi) const;

 private:
  struct Channel {
    double u, r;  ///< centre offset and radius of an anterior channel
  };
  static constexpr double kLutStep = 0.05;
  Channel channel_exact(int side, double t) const;
  Channel channel(int side, double t) const;
  bool vessel(const Local& l) const;
  bool in_canal(const Local& l) const;
  Tissue column(const Local& l) const;
  double yc(double t) const { return a_.lordosis * t * t; }

  Anatomy a_;
  double f_;
  std::vector<double> vc_, vh_, dc_, dh_;  // vertebra/disc centres and half heights
  std::vector<Local> drain_;               // sampled centreline of the draining vein
  std::vector<Channel> lut_[2];            // channel centre/radius along t (left, right)
  double lut_t0_ = 0, inv_cw2_ = 0, inv_cd2_ = 0;
  Local drain_lo_{}, drain_hi_{};
};

/// Signal of each tissue for a contrast ("t2" dark or bright veins, "t1c").
std::array<double, kTissueCount> tissue_signal(const Config& c);

}  // namespace phantom
}  // namespace mrivol
