// Pseudonymised copies of the DICOM files of one series, for sharing.
//
// DICOM PS3.15 Annex E, Basic Application Level Confidentiality Profile
// (113100), with the Retain Longitudinal Temporal Information with Modified
// Dates option (113107: every date moves by one per-patient offset, so the
// interval between sessions survives) and the Retain Patient
// Characteristics option (113108: sex, age, size, weight) and the Retain Safe
// Private option (113111: the binary Siemens CSA image header and a few
// Siemens/GE acquisition values the loader needs). Patient name and
// ID become the pseudonym; every other person name, addresses, institution,
// station, device serial number, accession number, study ID, comments,
// request and procedure descriptions, other private elements, overlays and curves
// are removed or emptied; every instance, series, study and frame of
// reference UID is replaced by a 2.25 UID derived from the original and the
// key (the same original gives the same new UID, so the pre and post
// sessions stay linked). Series description and protocol name are kept
// (they name the acquisition). The pixel data are removed unless asked for.
#pragma once

#include <cstddef>
#include <string>

#include "mrivol/core/reporter.hpp"
#include "mrivol/dicom/series.hpp"

namespace mrivol {
namespace dicom {

struct DeidentifyOptions {
  std::string pseudonym;  ///< the new PatientName and PatientID (required; letters, digits, - _ .)
  std::string key;        ///< secret mixed into the UID mapping and the date offset (may be empty)
  bool keep_pixels = false;
  bool overwrite = false;
};

struct DeidentifyResult {
  std::size_t files = 0;
  std::size_t removed = 0, emptied = 0, replaced = 0, uids = 0, dates = 0;
};

/// Writes dir/IM0001.dcm... (one per source file of the series, in slice
/// order) and dir/deidentification.json, as one folder renamed into place
/// when complete. Every copy is checked afterwards for the identifying
/// values of its source (names, IDs, birth date, accession number,
/// institution, physicians); any left is an error and nothing is written.
/// Throws UsageError (bad pseudonym), DicomError, OutputError.
DeidentifyResult deidentify_series(const SeriesInfo& series, const std::string& dir,
                                   const DeidentifyOptions& opt, Reporter& rep = null_reporter());

}  // namespace dicom
}  // namespace mrivol
