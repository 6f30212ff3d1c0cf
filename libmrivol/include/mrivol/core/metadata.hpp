// Acquisition metadata a researcher needs, and (kept apart) the
// patient-identifying fields that never reach an output unless asked for.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mrivol {

struct Acquisition {
  std::string modality, sop_class_uid, transfer_syntax_uid;
  std::string study_uid, series_uid, frame_of_reference_uid;
  std::string series_description, protocol_name, body_part;
  std::string manufacturer, model, software_versions, station_name;
  std::string sequence_name, scanning_sequence, sequence_variant, mr_acquisition_type;
  std::string image_type, patient_position, acquisition_date, acquisition_time;
  std::optional<int> series_number, echo_number, acquisition_number;
  std::optional<double> field_strength_t, repetition_time_ms, echo_time_ms, flip_angle_deg, inversion_time_ms,
      slice_thickness_mm, spacing_between_slices_mm, pixel_bandwidth;
  std::vector<double> b_values;  ///< per volume (diffusion series)
  std::string volume_label;      ///< e.g. "e1", "e2_ph": which image of a split series
  bool mosaic = false, enhanced = false, compressed_file = false;
  std::size_t source_files = 0;
  /// Per slice of the (first) volume, in slice order: the source image's
  /// SOPInstanceUID and, in a multi-frame file, its 1-based frame number
  /// (0 otherwise). Empty when the scan did not come from DICOM.
  std::vector<std::string> source_sop_uids;
  std::vector<unsigned> source_frames;
};

struct PatientIdentity {
  std::string name, id, birth_date, sex, age, accession_number, institution_name, institution_address,
      referring_physician, performing_physician, operators;
  bool empty() const;
  /// Non-empty identifying values (for privacy checks).
  std::vector<std::string> values() const;
};

struct Metadata {
  Acquisition acq;
  PatientIdentity patient;  ///< never serialised unless explicitly requested
  std::vector<std::string> warnings;
};

/// Why two scans may not be two sessions of one patient: different patient
/// (PatientID, PatientName or PatientBirthDate differ, where both are known)
/// or different frame of reference. The messages name the fields, never
/// their values (no identifier reaches a log or report).
std::vector<std::string> session_mismatches(const Metadata& pre, const Metadata& post);

}  // namespace mrivol
