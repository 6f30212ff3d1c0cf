// Volume: a float image (3D or 4D), its LPS geometry and its metadata.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "mrivol/core/buffer.hpp"
#include "mrivol/core/geometry.hpp"
#include "mrivol/core/metadata.hpp"

namespace mrivol {

/// How the voxel values were stored in the source, so a writer can store them
/// back as integers with a NIfTI scl_slope/scl_inter (as dcm2niix does).
struct StoredScaling {
  double slope = 1.0, intercept = 0.0;
  bool is_signed = false;
  int bits = 16;  ///< bits allocated per stored value (8 or 16 or 32)
};

struct Volume {
  Geometry geom;
  std::size_t timepoints = 1;  ///< 4th dimension (time, diffusion direction...)
  double time_step_s = 0.0;    ///< spacing of the 4th dimension, seconds (0 = unknown)
  FloatBuffer data;            ///< x fastest, then y, z, t
  Metadata meta;
  std::optional<StoredScaling> stored;  ///< set when every value is slope*int+intercept

  std::size_t voxels_per_volume() const { return geom.voxels(); }
  float at(std::size_t i, std::size_t j, std::size_t k, std::size_t t = 0) const {
    return data[((t * geom.size[2] + k) * geom.size[1] + j) * geom.size[0] + i];
  }
};

}  // namespace mrivol
