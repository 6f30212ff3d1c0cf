// Reading a scan given on the command line: a DICOM folder or file (through
// the loader) or an image file (.nii, .nii.gz, .nrrd, .nhdr, .mha, .mhd).
#pragma once

#include <string>

#include "mrivol/core/reporter.hpp"
#include "mrivol/core/volume.hpp"

namespace mrivol {
namespace io {

/// A scan to analyse (segment, register, compare). With several DICOM image
/// sets and an empty `series`, throws DicomError listing them (exit 4); a scan
/// of fewer than 3 slices or with NaN/infinite voxels is InputError (exit 3).
Volume read_scan(const std::string& path, const std::string& series = "", unsigned threads = 0,
                 Reporter& rep = null_reporter());

/// SHA-256 identifying an input: of the file's bytes, or for a folder of the
/// sorted list of (relative path, file SHA-256) of every file in it.
std::string input_checksum(const std::string& path);

/// Is `path` an image file by extension (else it is treated as DICOM)?
bool is_image_file(const std::string& path);

}  // namespace io
}  // namespace mrivol
