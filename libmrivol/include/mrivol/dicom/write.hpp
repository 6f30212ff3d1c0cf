// Writing a volume as a DICOM series (MR Image Storage, one file per slice).
#pragma once

#include <string>
#include <vector>

#include "mrivol/core/volume.hpp"

namespace mrivol {
namespace dicom {

struct SeriesWriteOptions {
  std::string study_uid, series_uid, frame_of_reference_uid;
  std::string uid_prefix;  ///< SOPInstanceUIDs are uid_prefix + "." + slice number
  std::string patient_name, patient_id, study_id = "1";
  /// Further identifying fields (written when non-empty): the phantom fills
  /// them so that privacy tests can look for every kind of identifier.
  std::string birth_date, accession_number, institution_name, referring_physician, operators;
  std::string study_date, study_time;  ///< DA / TM
  int series_number = 1;
  /// File names: "IMG%04d.dcm" numbered by this permutation of slice indices
  /// (empty: slice order).
  std::vector<unsigned> file_order;
};

/// Writes dir/IMGnnnn.dcm for each slice of a 3D volume, storing the values
/// as unsigned 16-bit integers (they must be integral and in [0, 65535]) and
/// the acquisition metadata of v.meta.acq. Throws OutputError.
void write_series(const Volume& v, const std::string& dir, const SeriesWriteOptions& opt);

}  // namespace dicom
}  // namespace mrivol
