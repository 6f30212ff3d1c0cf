#include "mrivol/io/sidecar.hpp"

#include <cctype>
#include <nlohmann/json.hpp>

#include "mrivol/core/version.hpp"

namespace mrivol {
namespace io {

using nlohmann::ordered_json;

std::string bids_sidecar(const Volume& v, const SidecarOptions& opt) {
  const Acquisition& a = v.meta.acq;
  ordered_json j;
  auto put = [&](const char* k, const std::string& s) {
    if (!s.empty()) j[k] = s;
  };
  auto putn = [&](const char* k, const std::optional<double>& x, double scale = 1.0) {
    if (x) j[k] = *x * scale;
  };
  put("Modality", a.modality);
  putn("MagneticFieldStrength", a.field_strength_t);
  put("Manufacturer", a.manufacturer);
  put("ManufacturersModelName", a.model);
  put("SoftwareVersions", a.software_versions);
  put("BodyPartExamined", a.body_part);
  put("PatientPosition", a.patient_position);
  put("SeriesDescription", a.series_description);
  put("ProtocolName", a.protocol_name);
  put("ScanningSequence", a.scanning_sequence);
  put("SequenceVariant", a.sequence_variant);
  put("SequenceName", a.sequence_name);
  put("MRAcquisitionType", a.mr_acquisition_type);
  put("ImageType", a.image_type);
  if (a.series_number) j["SeriesNumber"] = *a.series_number;
  if (a.acquisition_number) j["AcquisitionNumber"] = *a.acquisition_number;
  put("AcquisitionDate", a.acquisition_date);
  put("AcquisitionTime", a.acquisition_time);
  putn("SliceThickness", a.slice_thickness_mm);
  putn("SpacingBetweenSlices", a.spacing_between_slices_mm);
  putn("EchoTime", a.echo_time_ms, 1e-3);
  if (a.echo_number) j["EchoNumber"] = *a.echo_number;
  putn("RepetitionTime", a.repetition_time_ms, 1e-3);
  putn("InversionTime", a.inversion_time_ms, 1e-3);
  putn("FlipAngle", a.flip_angle_deg);
  putn("PixelBandwidth", a.pixel_bandwidth);
  put("StudyInstanceUID", a.study_uid);
  put("SeriesInstanceUID", a.series_uid);
  put("FrameOfReferenceUID", a.frame_of_reference_uid);
  put("SOPClassUID", a.sop_class_uid);
  put("TransferSyntaxUID", a.transfer_syntax_uid);
  j["ConversionSoftware"] = "mrivol";
  j["ConversionSoftwareVersion"] = version();

  ordered_json m;
  m["coordinate_system"] = "LPS (DICOM patient frame), millimetres";
  m["size"] = {v.geom.size[0], v.geom.size[1], v.geom.size[2]};
  if (v.timepoints > 1) m["volumes"] = v.timepoints;
  m["spacing_mm"] = v.geom.spacing;
  m["origin_lps_mm"] = v.geom.origin;
  m["direction_lps"] = {{v.geom.direction[0], v.geom.direction[1], v.geom.direction[2]},
                        {v.geom.direction[3], v.geom.direction[4], v.geom.direction[5]},
                        {v.geom.direction[6], v.geom.direction[7], v.geom.direction[8]}};
  m["orientation_ras"] = std::string(v.geom.axcodes_ras().data());
  if (!a.volume_label.empty()) m["image_label"] = a.volume_label;
  if (!a.b_values.empty()) m["b_values"] = a.b_values;
  m["source_files"] = a.source_files;
  m["mosaic"] = a.mosaic;
  m["enhanced_multiframe"] = a.enhanced;
  if (v.stored) m["stored_scaling"] = {{"slope", v.stored->slope}, {"intercept", v.stored->intercept}};
  m["warnings"] = v.meta.warnings;
  j["mrivol"] = m;

  if (opt.include_identifiers) {
    const PatientIdentity& p = v.meta.patient;
    ordered_json pj;
    pj["PatientName"] = p.name;
    pj["PatientID"] = p.id;
    pj["PatientBirthDate"] = p.birth_date;
    pj["PatientSex"] = p.sex;
    pj["PatientAge"] = p.age;
    pj["AccessionNumber"] = p.accession_number;
    pj["InstitutionName"] = p.institution_name;
    pj["InstitutionAddress"] = p.institution_address;
    pj["ReferringPhysicianName"] = p.referring_physician;
    pj["PerformingPhysicianName"] = p.performing_physician;
    pj["OperatorsName"] = p.operators;
    j["PatientIdentifiers"] = pj;
  }
  return j.dump(2) + "\n";
}

std::string sidecar_path(const std::string& image_path) {
  std::string lower = image_path;
  for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (const char* e : {".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd"}) {
    const std::string es(e);
    if (lower.size() > es.size() && lower.compare(lower.size() - es.size(), es.size(), es) == 0)
      return image_path.substr(0, image_path.size() - es.size()) + ".json";
  }
  return image_path + ".json";
}

}  // namespace io
}  // namespace mrivol
