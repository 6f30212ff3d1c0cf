// Internal: scan simulation of one session.
#pragma once

#include <array>
#include <cstdint>

#include "anatomy.hpp"

namespace mrivol {
namespace phantom {

struct SessionSpec {
  Geometry grid;                             ///< the scan's voxel grid (session LPS)
  std::array<double, 16> body_from_world{};  ///< row-major 4x4: session LPS -> body
  double radius_scale = 1.0;
  Anatomy anatomy;     ///< the session's anatomy (posture)
  double scale = 1.0;  ///< global intensity scale
  double fat_gain = 1.0, muscle_gain = 1.0;
  std::array<double, 6> bias_phase{};  ///< bias field phases
  std::uint64_t noise_key = 0;
  bool thick_slices = false;  ///< 2D acquisition: sample across the slice thickness
};

/// Fills s.image (uint16 values as float) and the fraction maps.
void render(const Config& c, const SessionSpec& spec, Session& s, unsigned threads, Reporter& rep,
            const std::string& stage);

/// Counter-based random numbers: the same value for the same key and index
/// whatever the thread that asks (so noise does not depend on threading).
std::uint64_t mix(std::uint64_t x);
double uniform01(std::uint64_t key, std::uint64_t index);

}  // namespace phantom
}  // namespace mrivol
