#include "synth_dicom.hpp"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcrleerg.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmjpeg/djencode.h>
#include <dcmtk/dcmjpeg/djrplol.h>
#include <dcmtk/dcmjpls/djencode.h>
#include <mutex>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <stdexcept>

namespace mrivol_test {

std::int16_t pattern(unsigned k, unsigned row, unsigned col) {
  return static_cast<std::int16_t>(100 * k + 10 * (row % 10) + (col % 10));
}

std::vector<SynthSlice> make_stack(unsigned n, const std::array<double, 3>& origin,
                                   const std::array<double, 6>& iop, double gap, unsigned rows,
                                   unsigned cols) {
  const double r[3] = {iop[0], iop[1], iop[2]}, c[3] = {iop[3], iop[4], iop[5]};
  const double nrm[3] = {r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0]};
  std::vector<SynthSlice> out;
  for (unsigned k = 0; k < n; ++k) {
    SynthSlice s;
    s.iop = iop;
    s.rows = rows;
    s.cols = cols;
    for (int i = 0; i < 3; ++i) s.ipp[i] = origin[i] + k * gap * nrm[i];
    s.instance_number = static_cast<int>(k + 1);
    s.sop_uid = "1.2.826.0.1.3680043.8.498.1." + std::to_string(k + 1);
    s.pixels.resize(std::size_t(rows) * cols);
    for (unsigned y = 0; y < rows; ++y)
      for (unsigned x = 0; x < cols; ++x) s.pixels[y * cols + x] = pattern(k, y, x);
    out.push_back(std::move(s));
  }
  return out;
}

namespace {
std::string ds_list(const double* v, int n) {
  std::ostringstream o;
  o.precision(10);
  for (int i = 0; i < n; ++i) o << (i ? "\\" : "") << v[i];
  return o.str();
}
}  // namespace

void write_slice(const std::string& path, const SynthSlice& s) {
  DcmFileFormat ff;
  DcmDataset* ds = ff.getDataset();
  ds->putAndInsertString(DCM_SOPClassUID, UID_MRImageStorage);
  ds->putAndInsertString(DCM_SOPInstanceUID, s.sop_uid.c_str());
  ds->putAndInsertString(DCM_StudyInstanceUID, s.study_uid.c_str());
  ds->putAndInsertString(DCM_SeriesInstanceUID, s.series_uid.c_str());
  ds->putAndInsertString(DCM_FrameOfReferenceUID, s.for_uid.c_str());
  ds->putAndInsertString(DCM_Modality, "MR");
  ds->putAndInsertString(DCM_Manufacturer, "mrivol-test");
  ds->putAndInsertString(DCM_PatientName, s.patient_name.c_str());
  ds->putAndInsertString(DCM_PatientID, s.patient_id.c_str());
  ds->putAndInsertString(DCM_PatientBirthDate, s.birth_date.c_str());
  ds->putAndInsertString(DCM_InstitutionName, "Test Hospital Zeta");
  ds->putAndInsertString(DCM_AccessionNumber, "ACC-777");
  ds->putAndInsertString(DCM_SeriesDescription, s.description.c_str());
  ds->putAndInsertString(DCM_SeriesNumber, std::to_string(s.series_number).c_str());
  ds->putAndInsertString(DCM_ImageType, "ORIGINAL\\PRIMARY\\M\\ND");
  if (s.instance_number >= 0)
    ds->putAndInsertString(DCM_InstanceNumber, std::to_string(s.instance_number).c_str());
  if (!s.acquisition_date.empty()) ds->putAndInsertString(DCM_AcquisitionDate, s.acquisition_date.c_str());
  if (!s.acquisition_time.empty()) ds->putAndInsertString(DCM_AcquisitionTime, s.acquisition_time.c_str());
  if (s.acquisition_number >= 0)
    ds->putAndInsertString(DCM_AcquisitionNumber, std::to_string(s.acquisition_number).c_str());
  if (s.echo_number >= 0) ds->putAndInsertString(DCM_EchoNumbers, std::to_string(s.echo_number).c_str());
  ds->putAndInsertString(DCM_EchoTime, std::to_string(s.echo_time).c_str());
  ds->putAndInsertString(DCM_RepetitionTime, "3000");
  ds->putAndInsertString(DCM_MagneticFieldStrength, "3");
  if (!s.omit_ipp) ds->putAndInsertString(DCM_ImagePositionPatient, ds_list(s.ipp.data(), 3).c_str());
  ds->putAndInsertString(DCM_ImageOrientationPatient, ds_list(s.iop.data(), 6).c_str());
  const double ps[2] = {s.row_spacing, s.col_spacing};
  ds->putAndInsertString(DCM_PixelSpacing, ds_list(ps, 2).c_str());
  ds->putAndInsertString(DCM_SliceThickness, "3");
  ds->putAndInsertString(DCM_RescaleSlope, std::to_string(s.slope).c_str());
  ds->putAndInsertString(DCM_RescaleIntercept, std::to_string(s.intercept).c_str());
  ds->putAndInsertUint16(DCM_SamplesPerPixel, 1);
  ds->putAndInsertString(DCM_PhotometricInterpretation, "MONOCHROME2");
  ds->putAndInsertUint16(DCM_Rows, static_cast<Uint16>(s.rows));
  ds->putAndInsertUint16(DCM_Columns, static_cast<Uint16>(s.cols));
  ds->putAndInsertUint16(DCM_BitsAllocated, 16);
  ds->putAndInsertUint16(DCM_BitsStored, 16);
  ds->putAndInsertUint16(DCM_HighBit, 15);
  ds->putAndInsertUint16(DCM_PixelRepresentation, 1);
  std::vector<std::int16_t> px = s.pixels;
  if (px.empty()) px.assign(std::size_t(s.rows) * s.cols, 0);
  ds->putAndInsertUint16Array(DCM_PixelData, reinterpret_cast<const Uint16*>(px.data()),
                              static_cast<unsigned long>(px.size()));
  const OFCondition st = ff.saveFile(path.c_str(), EXS_LittleEndianExplicit);
  if (st.bad()) throw std::runtime_error("cannot write " + path + ": " + st.text());
}

std::string element_text(DcmItem* item, const DcmTagKey& key) {
  OFString v;
  if (item->findAndGetOFStringArray(key, v).bad()) return "<absent>";
  return v.c_str();
}

void transcode(const std::string& src, const std::string& dst, const std::string& xfer_uid) {
  static std::once_flag once;
  std::call_once(once, [] {
    DJEncoderRegistration::registerCodecs();
    DJLSEncoderRegistration::registerCodecs();
    DcmRLEEncoderRegistration::registerCodecs();
  });
  DcmFileFormat ff;
  if (ff.loadFile(src.c_str()).bad()) throw std::runtime_error("cannot read " + src);
  const E_TransferSyntax xfer = DcmXfer(xfer_uid.c_str()).getXfer();
  DJ_RPLossless lossless;
  const DcmRepresentationParameter* params = xfer == EXS_JPEGProcess14SV1 ? &lossless : nullptr;
  OFCondition st = ff.getDataset()->chooseRepresentation(xfer, params);
  if (st.good() && !ff.getDataset()->canWriteXfer(xfer)) st = EC_CannotChangeRepresentation;
  if (st.good()) st = ff.saveFile(dst.c_str(), xfer);
  if (st.bad()) throw std::runtime_error("cannot transcode " + src + " to " + xfer_uid + ": " + st.text());
}

void write_stack(const std::string& dir, const std::vector<SynthSlice>& st, const std::string& prefix) {
  std::filesystem::create_directories(dir);
  for (std::size_t i = 0; i < st.size(); ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "%s%04zu.dcm", prefix.c_str(), i + 1);
    write_slice(dir + "/" + name, st[i]);
  }
}

}  // namespace mrivol_test
