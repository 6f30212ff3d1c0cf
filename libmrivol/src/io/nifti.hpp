// Internal: NIfTI-1 single-file writer.
#pragma once

#include <string>

#include "mrivol/io/image.hpp"

namespace mrivol {
namespace io {

void write_nifti(const Volume& v, const std::string& temp_path, bool gz, const WriteOptions& opt);

}  // namespace io
}  // namespace mrivol
