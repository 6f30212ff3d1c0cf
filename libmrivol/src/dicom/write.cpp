#include "mrivol/dicom/write.hpp"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <sstream>

#include "internal.hpp"
#include "mrivol/core/error.hpp"
#include "mrivol/core/sha256.hpp"
#include "mrivol/io/atomic.hpp"

namespace mrivol {
namespace dicom {

std::string ds_text(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.10g", std::fabs(v) < 1e-12 ? 0.0 : v);
  return b;
}

std::string uid_from_seed(const std::string& seed) {
  const std::string h = sha256_hex(seed.data(), seed.size());
  // 128 bits as four 32-bit words, most significant first; decimal digits by
  // repeated long division by 10.
  std::uint32_t w[4];
  for (int i = 0; i < 4; ++i) w[i] = static_cast<std::uint32_t>(std::stoul(h.substr(8 * i, 8), nullptr, 16));
  std::string digits;
  for (;;) {
    std::uint64_t rem = 0;
    bool zero = true;
    for (auto& x : w) {
      const std::uint64_t cur = (rem << 32) | x;
      x = static_cast<std::uint32_t>(cur / 10);
      rem = cur % 10;
      zero = zero && x == 0;
    }
    digits.push_back(static_cast<char>('0' + rem));
    if (zero) break;
  }
  return "2.25." + std::string(digits.rbegin(), digits.rend());
}

namespace {

void put(DcmDataset* d, const DcmTagKey& k, const std::string& v) {
  if (!v.empty()) d->putAndInsertString(k, v.c_str());
}

}  // namespace

void write_series(const Volume& v, const std::string& dir, const SeriesWriteOptions& o) {
  register_codecs();
  const Geometry& g = v.geom;
  const std::size_t nx = g.size[0], ny = g.size[1], nz = g.size[2];
  if (v.timepoints != 1) throw OutputError(dir, "only 3D volumes can be written as a DICOM series");
  if (nx > 65535 || ny > 65535) throw OutputError(dir, "matrix too large for DICOM");
  const Acquisition& a = v.meta.acq;
  const Vec3 row = g.axis(0), col = g.axis(1);
  std::vector<Uint16> px(nx * ny);
  for (std::size_t k = 0; k < nz; ++k) {
    DcmFileFormat ff;
    DcmDataset* d = ff.getDataset();
    put(d, DCM_SpecificCharacterSet, "ISO_IR 100");
    put(d, DCM_ImageType, a.image_type.empty() ? "ORIGINAL\\PRIMARY\\M\\ND" : a.image_type);
    put(d, DCM_SOPClassUID, UID_MRImageStorage);
    put(d, DCM_SOPInstanceUID, o.uid_prefix + "." + std::to_string(k + 1));
    put(d, DCM_StudyDate, o.study_date);
    put(d, DCM_SeriesDate, o.study_date);
    put(d, DCM_AcquisitionDate, a.acquisition_date);
    put(d, DCM_StudyTime, o.study_time);
    put(d, DCM_AcquisitionTime, a.acquisition_time);
    put(d, DCM_Modality, "MR");
    put(d, DCM_Manufacturer, a.manufacturer);
    put(d, DCM_ManufacturerModelName, a.model);
    put(d, DCM_SoftwareVersions, a.software_versions);
    put(d, DCM_StudyDescription, "LUMBAR SPINE");
    put(d, DCM_SeriesDescription, a.series_description);
    put(d, DCM_ProtocolName, a.protocol_name);
    put(d, DCM_PatientName, o.patient_name);
    put(d, DCM_PatientID, o.patient_id);
    if (!o.birth_date.empty()) put(d, DCM_PatientBirthDate, o.birth_date);
    if (!o.accession_number.empty()) put(d, DCM_AccessionNumber, o.accession_number);
    if (!o.institution_name.empty()) put(d, DCM_InstitutionName, o.institution_name);
    if (!o.referring_physician.empty()) put(d, DCM_ReferringPhysicianName, o.referring_physician);
    if (!o.operators.empty()) put(d, DCM_OperatorsName, o.operators);
    put(d, DCM_BodyPartExamined, a.body_part);
    put(d, DCM_ScanningSequence, a.scanning_sequence);
    put(d, DCM_SequenceVariant, a.sequence_variant);
    put(d, DCM_MRAcquisitionType, a.mr_acquisition_type);
    put(d, DCM_SequenceName, a.sequence_name);
    if (a.slice_thickness_mm) put(d, DCM_SliceThickness, ds_text(*a.slice_thickness_mm));
    put(d, DCM_SpacingBetweenSlices, ds_text(g.spacing[2]));
    if (a.repetition_time_ms) put(d, DCM_RepetitionTime, ds_text(*a.repetition_time_ms));
    if (a.echo_time_ms) put(d, DCM_EchoTime, ds_text(*a.echo_time_ms));
    if (a.flip_angle_deg) put(d, DCM_FlipAngle, ds_text(*a.flip_angle_deg));
    if (a.field_strength_t) put(d, DCM_MagneticFieldStrength, ds_text(*a.field_strength_t));
    put(d, DCM_EchoNumbers, "1");
    put(d, DCM_PatientPosition, a.patient_position.empty() ? "HFS" : a.patient_position);
    put(d, DCM_StudyInstanceUID, o.study_uid);
    put(d, DCM_SeriesInstanceUID, o.series_uid);
    put(d, DCM_StudyID, o.study_id);
    put(d, DCM_SeriesNumber, std::to_string(o.series_number));
    put(d, DCM_AcquisitionNumber, "1");
    put(d, DCM_InstanceNumber, std::to_string(k + 1));
    const Vec3 p = g.index_to_point(0, 0, static_cast<double>(k));
    put(d, DCM_ImagePositionPatient, ds_text(p[0]) + "\\" + ds_text(p[1]) + "\\" + ds_text(p[2]));
    put(d, DCM_ImageOrientationPatient,
        ds_text(row[0]) + "\\" + ds_text(row[1]) + "\\" + ds_text(row[2]) + "\\" + ds_text(col[0]) + "\\" +
            ds_text(col[1]) + "\\" + ds_text(col[2]));
    put(d, DCM_FrameOfReferenceUID, o.frame_of_reference_uid);
    put(d, DCM_PositionReferenceIndicator, "");
    d->putAndInsertUint16(DCM_SamplesPerPixel, 1);
    put(d, DCM_PhotometricInterpretation, "MONOCHROME2");
    d->putAndInsertUint16(DCM_Rows, static_cast<Uint16>(ny));
    d->putAndInsertUint16(DCM_Columns, static_cast<Uint16>(nx));
    put(d, DCM_PixelSpacing,
        ds_text(g.spacing[1]) + "\\" + ds_text(g.spacing[0]));  // between rows, between columns
    d->putAndInsertUint16(DCM_BitsAllocated, 16);
    d->putAndInsertUint16(DCM_BitsStored, 16);
    d->putAndInsertUint16(DCM_HighBit, 15);
    d->putAndInsertUint16(DCM_PixelRepresentation, 0);
    const float* src = v.data.data() + k * nx * ny;
    for (std::size_t i = 0; i < nx * ny; ++i) {
      const float x = src[i];
      if (!(x >= 0 && x <= 65535) || x != std::nearbyint(x))
        throw OutputError(dir, "voxel values must be integers in [0, 65535] to be written as DICOM");
      px[i] = static_cast<Uint16>(x);
    }
    d->putAndInsertUint16Array(DCM_PixelData, px.data(), static_cast<unsigned long>(px.size()));
    const unsigned n = o.file_order.empty() ? static_cast<unsigned>(k) : o.file_order.at(k);
    char name[32];
    std::snprintf(name, sizeof name, "/IMG%04u.dcm", n + 1);
    const std::string path = dir + name;
    const OFCondition st = ff.saveFile(path.c_str(), EXS_LittleEndianExplicit);
    if (st.bad())
      throw OutputError(path,
                        std::string("cannot write DICOM (") + st.text() + ")" + io::disk_full_note(dir));
  }
}

}  // namespace dicom
}  // namespace mrivol
