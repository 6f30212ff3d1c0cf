// Internal: NIfTI-1 single-file writer.
#pragma once

#include <string>

#include "mrivol/io/image.hpp"

namespace mrivol {
namespace io {

void write_nifti(const Volume& v, const std::string& temp_path, bool gz, const WriteOptions& opt);

/// Number of NaN or infinite voxels stored in a float32/float64 NIfTI-1 file
/// (0 for integer storage or another format). ITK's NIfTI reader turns NaN
/// into 0, so they are counted from the file itself.
std::size_t nifti_nonfinite(const std::string& path);

}  // namespace io
}  // namespace mrivol
