// DICOM folder scanning, series grouping and volume assembly (DCMTK inside).
//
// A folder tree is scanned once (headers only); images are grouped by
// SeriesInstanceUID and split further wherever they cannot form one
// consistent volume (orientation, matrix, pixel spacing, echo,
// magnitude/phase, acquisition with a different slice prescription), as
// dcm2niix does. Each result is one 3D volume, or one 4D volume when several
// images share each slice position (time points, diffusion directions).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "mrivol/core/reporter.hpp"
#include "mrivol/core/volume.hpp"

namespace mrivol {
namespace dicom {

struct ImageList;  // opaque: the per-image records behind a series

/// One loadable image set: a 3D volume or a 4D stack of volumes.
struct SeriesInfo {
  std::string series_uid;
  int series_number = 0;
  int sub_index = 0;  ///< 1-based index when one SeriesInstanceUID was split, else 0
  std::string label;  ///< "1301" or "1301.2" (series number, sub-index)
  std::string description;
  std::string volume_label;     ///< why it was split off: "e2", "ph", "acq3"...
  std::string transfer_syntax;  ///< name of the (first) transfer syntax
  std::string orientation;      ///< SAG, AX, COR or OBL (with the nearest plane: "OBL-AX")
  Geometry geom;
  std::size_t timepoints = 1;
  std::size_t files = 0, images = 0;
  std::vector<std::string> warnings;  ///< non-fatal findings (shown at --verbose and in the sidecar)
  std::string error;                  ///< non-empty when the set cannot be loaded (e.g. missing slices)
  std::shared_ptr<const ImageList> images_;  ///< internal
};

struct ScanOptions {
  bool recursive = true;
  unsigned threads = 0;             ///< 0 = hardware concurrency
  double spacing_tolerance = 0.01;  ///< relative deviation of slice gaps tolerated
};

struct ScanStats {
  std::size_t files = 0, dicom_images = 0, non_dicom = 0, non_image = 0, unreadable = 0, duplicates = 0;
};

struct ScanResult {
  std::vector<SeriesInfo> series;  ///< ordered by series number, then sub-index
  ScanStats stats;
  std::vector<std::string> messages;  ///< what was skipped and why (for --verbose)
  std::vector<std::string> warnings;  ///< unreadable files, unreadable folders (always shown)
};

/// Scan a folder tree (or a single file). Throws DicomError (exit 4) when
/// nothing loadable is found, InputError (exit 3) when the path is missing.
ScanResult scan(const std::string& path, const ScanOptions& opt = {}, Reporter& rep = null_reporter());

struct LoadOptions {
  unsigned threads = 0;  ///< 0 = hardware concurrency
};

/// Decode the pixel data of one series into a Volume (rescale applied, LPS
/// geometry exact). Throws DicomError naming the file on any failure.
Volume load(const SeriesInfo& series, const LoadOptions& opt = {}, Reporter& rep = null_reporter());

/// Find a series by label ("1301", "1301.2"), by number in list order
/// ("#3"), or by SeriesInstanceUID. Throws UsageError when none or several match.
const SeriesInfo& select(const ScanResult& scan, const std::string& key);

/// Transfer syntax UID -> readable name.
std::string transfer_syntax_name(const std::string& uid);

}  // namespace dicom
}  // namespace mrivol
