// ITK transform files (.tfm text, .h5 via ITK's HDF5 IO when available).
#pragma once

#include <string>

#include "mrivol/core/transform.hpp"

namespace mrivol {
namespace io {

/// Written as an ITK AffineTransform_double_3_3 (readable by ITK, ANTs,
/// elastix's transformix via ITK, 3D Slicer, ITK-SNAP), atomically.
void write_transform(const Transform& t, const std::string& path, bool overwrite);
/// Reads any ITK matrix-offset transform (Euler, Versor, Similarity, Affine...).
Transform read_transform(const std::string& path);

}  // namespace io
}  // namespace mrivol
