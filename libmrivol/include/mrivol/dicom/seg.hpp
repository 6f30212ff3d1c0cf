// A binary mask as a DICOM Segmentation object (DCMTK dcmseg), on the grid
// of the DICOM series it was drawn on and referencing its images, so PACS
// viewers and 3D Slicer show it over that series.
#pragma once

#include <string>

#include "mrivol/core/volume.hpp"

namespace mrivol {
namespace dicom {

struct SegWriteOptions {
  std::string segment_label = "Epidural venous plexus";
  std::string series_description = "mrivol plexus";
  int series_number = 900;
  /// Copy the source's patient name, ID, birth date and sex (so that PACS
  /// files the object with the patient); empty otherwise.
  bool include_identifiers = false;
  bool overwrite = false;
};

/// Writes `mask` (values > 0.5 are inside) as a one-segment BINARY
/// Segmentation. `source` is the scan the mask was made on: same grid, and
/// its metadata must come from DICOM (study, series, frame of reference and
/// per-slice SOP instance UIDs). Written atomically. Throws InputError when
/// the source is not DICOM or the grids differ, OutputError when writing fails.
void write_segmentation(const Volume& mask, const Volume& source, const std::string& path,
                        const SegWriteOptions& opt);

}  // namespace dicom
}  // namespace mrivol
