// Image files: NIfTI-1 (.nii, .nii.gz), NRRD (.nrrd), MetaImage (.mha).
#pragma once

#include <string>

#include "mrivol/core/volume.hpp"

namespace mrivol {
namespace io {

enum class ImageFormat { nifti, nifti_gz, nrrd, mha };

/// Format from the file name; throws UsageError for unknown extensions.
ImageFormat format_from_path(const std::string& path);

struct WriteOptions {
  bool overwrite = false;
  /// Store integers + scl_slope/scl_inter when the volume came from integer
  /// data (as dcm2niix does); otherwise float32.
  bool keep_integer_storage = true;
  /// 1-9, or 0: automatic (1 for float32 data, which compresses little and
  /// costs most at higher levels; 6 for integer data and masks).
  int gzip_level = 0;
  /// NIfTI: the volumes are the components of one vector per voxel (e.g. a
  /// displacement field): written 5D with intent VECTOR, as ITK/ANTs do.
  bool vector = false;
};

/// Write atomically (temporary name, then rename). NIfTI gets qform and sform
/// (code 1, scanner) equal to the volume's LPS geometry converted to RAS.
void write_image(const Volume& v, const std::string& path, const WriteOptions& opt = {});

/// Read an image file (NIfTI, NRRD, MetaImage) into LPS geometry.
Volume read_image(const std::string& path);

}  // namespace io
}  // namespace mrivol
