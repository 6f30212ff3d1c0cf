// Header extraction: turn one DICOM file into the 2D images it contributes
// (classic single frame, enhanced multi-frame, or Siemens mosaic tiles) and
// the acquisition metadata shared by them.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "internal.hpp"

namespace mrivol {
namespace dicom {
namespace {

std::string str(DcmItem* it, const DcmTagKey& tag, long pos = 0) {
  if (it == nullptr) return {};
  OFString s;
  const OFCondition c = pos < 0 ? it->findAndGetOFStringArray(tag, s, OFFalse)
                                : it->findAndGetOFString(tag, s, static_cast<unsigned long>(pos));
  if (c.bad()) return {};
  std::string out(s.c_str());
  while (!out.empty() && (out.back() == ' ' || out.back() == '\0')) out.pop_back();
  std::size_t b = 0;
  while (b < out.size() && out[b] == ' ') ++b;
  return out.substr(b);
}

std::optional<double> num(DcmItem* it, const DcmTagKey& tag, unsigned long pos = 0) {
  const std::string s = str(it, tag, static_cast<long>(pos));
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<int> inum(DcmItem* it, const DcmTagKey& tag) {
  const auto v = num(it, tag);
  if (!v || std::fabs(*v) > 2e9) return std::nullopt;
  return static_cast<int>(std::lround(*v));
}

bool vec(DcmItem* it, const DcmTagKey& tag, double* out, unsigned n) {
  for (unsigned i = 0; i < n; ++i) {
    const auto v = num(it, tag, i);
    if (!v) return false;
    out[i] = *v;
  }
  return true;
}

/// "YYYYMMDD" -> a day number that increases with the date (for ordering).
std::optional<double> day_number(const std::string& d) {
  if (d.size() < 8) return std::nullopt;
  return std::atof(d.substr(0, 4).c_str()) * 372 + std::atof(d.substr(4, 2).c_str()) * 31 +
         std::atof(d.substr(6, 2).c_str());
}

/// "HHMMSS.frac" (or the time part of a DT) -> seconds since midnight.
std::optional<double> tm_seconds(const std::string& t) {
  if (t.size() < 2) return std::nullopt;
  const double hh = std::atof(t.substr(0, 2).c_str());
  const double mm = t.size() >= 4 ? std::atof(t.substr(2, 2).c_str()) : 0;
  const double ss = t.size() > 4 ? std::atof(t.substr(4).c_str()) : 0;
  return hh * 3600 + mm * 60 + ss;
}

DcmItem* item(DcmItem* parent, const DcmTagKey& seq, unsigned long i = 0) {
  DcmItem* it = nullptr;
  if (parent && parent->findAndGetSequenceItem(seq, it, static_cast<signed long>(i)).good()) return it;
  return nullptr;
}

/// Functional group macro: from the per-frame item, else the shared one.
DcmItem* group(DcmItem* per_frame, DcmItem* shared, const DcmTagKey& seq) {
  if (DcmItem* it = item(per_frame, seq)) return it;
  return item(shared, seq);
}

void fill_acquisition(DcmDataset* ds, FileHeader& fh) {
  Acquisition& a = fh.acq;
  a.modality = str(ds, DCM_Modality);
  a.sop_class_uid = str(ds, DCM_SOPClassUID);
  a.study_uid = str(ds, DCM_StudyInstanceUID);
  a.series_uid = str(ds, DCM_SeriesInstanceUID);
  a.frame_of_reference_uid = str(ds, DCM_FrameOfReferenceUID);
  a.series_description = str(ds, DCM_SeriesDescription);
  a.protocol_name = str(ds, DCM_ProtocolName);
  a.body_part = str(ds, DCM_BodyPartExamined);
  a.manufacturer = str(ds, DCM_Manufacturer);
  a.model = str(ds, DCM_ManufacturerModelName);
  a.software_versions = str(ds, DCM_SoftwareVersions, -1);
  a.station_name = str(ds, DCM_StationName);
  a.sequence_name = str(ds, DCM_SequenceName);
  if (a.sequence_name.empty()) a.sequence_name = str(ds, DCM_PulseSequenceName);
  a.scanning_sequence = str(ds, DCM_ScanningSequence, -1);
  a.sequence_variant = str(ds, DCM_SequenceVariant, -1);
  a.mr_acquisition_type = str(ds, DCM_MRAcquisitionType);
  a.image_type = str(ds, DCM_ImageType, -1);
  a.patient_position = str(ds, DCM_PatientPosition);
  a.acquisition_date = str(ds, DCM_AcquisitionDate);
  if (a.acquisition_date.empty()) a.acquisition_date = str(ds, DCM_SeriesDate);
  a.acquisition_time = str(ds, DCM_AcquisitionTime);
  if (a.acquisition_time.empty()) a.acquisition_time = str(ds, DCM_SeriesTime);
  const std::string adt = str(ds, DCM_AcquisitionDateTime);
  if (a.acquisition_date.empty() && adt.size() >= 8) a.acquisition_date = adt.substr(0, 8);
  if (a.acquisition_time.empty() && adt.size() > 8) a.acquisition_time = adt.substr(8);
  a.series_number = inum(ds, DCM_SeriesNumber);
  a.echo_number = inum(ds, DCM_EchoNumbers);
  a.acquisition_number = inum(ds, DCM_AcquisitionNumber);
  a.field_strength_t = num(ds, DCM_MagneticFieldStrength);
  a.repetition_time_ms = num(ds, DCM_RepetitionTime);
  a.echo_time_ms = num(ds, DCM_EchoTime);
  a.flip_angle_deg = num(ds, DCM_FlipAngle);
  a.inversion_time_ms = num(ds, DCM_InversionTime);
  a.slice_thickness_mm = num(ds, DCM_SliceThickness);
  a.spacing_between_slices_mm = num(ds, DCM_SpacingBetweenSlices);
  a.pixel_bandwidth = num(ds, DCM_PixelBandwidth);
  a.compressed_file = fh.gz;

  PatientIdentity& p = fh.patient;
  p.name = str(ds, DCM_PatientName);
  p.id = str(ds, DCM_PatientID);
  p.birth_date = str(ds, DCM_PatientBirthDate);
  p.sex = str(ds, DCM_PatientSex);
  p.age = str(ds, DCM_PatientAge);
  p.accession_number = str(ds, DCM_AccessionNumber);
  p.institution_name = str(ds, DCM_InstitutionName);
  p.institution_address = str(ds, DCM_InstitutionAddress);
  p.referring_physician = str(ds, DCM_ReferringPhysicianName);
  p.performing_physician = str(ds, DCM_PerformingPhysicianName);
  p.operators = str(ds, DCM_OperatorsName);
}

std::string classic_component(const std::string& image_type) {
  // ImageType values are backslash-separated; Siemens puts M/P in value 3,
  // Philips in value 4 (and "PHASE MAP" in value 3).
  std::vector<std::string> v;
  std::size_t s = 0;
  for (std::size_t e; (e = image_type.find('\\', s)) != std::string::npos; s = e + 1)
    v.push_back(image_type.substr(s, e - s));
  v.push_back(image_type.substr(s));
  std::string c;
  for (std::size_t i = 2; i < v.size(); ++i) {
    const std::string& x = v[i];
    if (x == "P" || x == "PHASE" || x == "PHASE MAP")
      c = "ph";
    else if (x == "R" || x == "REAL")
      c = "real";
    else if (x == "I" || x == "IMAGINARY")
      c = "imag";
    else if (x == "FIELD_MAP" || x == "B0 MAP" || x == "B0_MAP")
      c = "fieldmap";
  }
  if (!v.empty() && v[0] == "DERIVED" && c.empty()) c = "derived";
  return c;
}

bool set_geometry(Image& im, const double ipp[3], const double iop[6], const double ps[2]) {
  im.ipp = {ipp[0], ipp[1], ipp[2]};
  im.row_dir = {iop[0], iop[1], iop[2]};
  im.col_dir = {iop[3], iop[4], iop[5]};
  im.dy = ps[0];  // PixelSpacing = (between rows, between columns)
  im.dx = ps[1];
  return true;
}

/// GE private image type (0043,102F): 0 magnitude, 1 phase, 2 real, 3 imaginary.
std::optional<int> ge_image_type(DcmItem* ds) {
  if (str(ds, DcmTagKey(0x0043, 0x0010)) != "GEMS_PARM_01") return std::nullopt;
  DcmElement* el = nullptr;
  if (ds->findAndGetElement(DcmTagKey(0x0043, 0x102F), el).bad() || !el) return std::nullopt;
  Sint16 v16 = 0;
  if (el->getSint16(v16).good()) return v16;
  Uint8* b = nullptr;  // UN (implicit VR without a private dictionary): 2 bytes, little endian
  if (el->getUint8Array(b).good() && b && el->getLength() >= 2)
    return static_cast<Sint16>(static_cast<Uint16>(b[0] | (b[1] << 8)));
  return std::nullopt;
}

/// Locate a Siemens private element by its creator ("SIEMENS CSA HEADER").
DcmTagKey private_tag(DcmItem* ds, Uint16 group, const char* creator, Uint8 elem) {
  for (Uint16 blk = 0x10; blk <= 0xff; ++blk) {
    if (str(ds, DcmTagKey(group, blk)) == creator)
      return DcmTagKey(group, static_cast<Uint16>((blk << 8) | elem));
  }
  return DcmTagKey(group, static_cast<Uint16>(0x1000 | elem));
}

void expand_mosaic(DcmDataset* ds, Image base, std::vector<Image>& out, std::string& why) {
  std::optional<int> n;
  const Uint8* csa = nullptr;
  unsigned long csa_len = 0;
  const DcmTagKey csa_tag = private_tag(ds, 0x0029, "SIEMENS CSA HEADER", 0x10);
  if (ds->findAndGetUint8Array(csa_tag, csa, &csa_len).bad()) csa = nullptr;
  if (csa) {
    if (auto v = csa_value(csa, csa_len, "NumberOfImagesInMosaic")) n = std::atoi(v->c_str());
    double nv[3];
    bool ok = true;
    for (unsigned i = 0; i < 3 && ok; ++i) {
      const auto v = csa_value(csa, csa_len, "SliceNormalVector", i);
      ok = v.has_value();
      if (ok) nv[i] = std::atof(v->c_str());
    }
    if (ok) base.mosaic_normal = Vec3{nv[0], nv[1], nv[2]};
  }
  if (!n) n = inum(ds, private_tag(ds, 0x0019, "SIEMENS MR HEADER", 0x0a));
  if (!n || *n < 1) {
    why = "Siemens mosaic without NumberOfImagesInMosaic (CSA header missing)";
    return;
  }
  const unsigned tiles = static_cast<unsigned>(std::ceil(std::sqrt(static_cast<double>(*n))));
  if (tiles == 0 || base.rows % tiles != 0 || base.cols % tiles != 0) {
    why = "Siemens mosaic whose matrix is not divisible into tiles";
    return;
  }
  const unsigned trows = base.rows / tiles, tcols = base.cols / tiles;
  // The slice normal is the cross product of the orientation; the CSA
  // SliceNormalVector only decides its sign (the order of the tiles).
  Vec3 nrm = cross(base.row_dir, base.col_dir);
  const double len = norm(nrm);
  if (len < 1e-6) {
    why = "degenerate ImageOrientationPatient in Siemens mosaic";
    return;
  }
  for (auto& c : nrm) c /= len;
  if (base.mosaic_normal) {
    const double d = dot(*base.mosaic_normal, nrm) / std::max(norm(*base.mosaic_normal), 1e-12);
    if (std::fabs(d) < 0.99) {
      why = "CSA SliceNormalVector disagrees with ImageOrientationPatient (corrupt mosaic header)";
      return;
    }
    if (d < 0)
      for (auto& c : nrm) c = -c;
  }
  base.mosaic_normal = nrm;
  std::optional<double> gap = base.file->acq.spacing_between_slices_mm;
  if (!gap) gap = base.file->acq.slice_thickness_mm;
  base.mosaic_spacing = gap;
  // ImagePositionPatient of a mosaic is the corner of the whole tiled frame;
  // the first tile's corner lies half the unused extent further in.
  const double fx = (base.cols - tcols) / 2.0, fy = (base.rows - trows) / 2.0;
  Vec3 p0{};
  for (int i = 0; i < 3; ++i)
    p0[i] = base.ipp[i] + base.row_dir[i] * base.dx * fx + base.col_dir[i] * base.dy * fy;
  for (int t = 0; t < *n; ++t) {
    Image im = base;
    im.tile = t;
    im.tiles_per_row = tiles;
    im.rows = trows;
    im.cols = tcols;
    for (int i = 0; i < 3; ++i) im.ipp[i] = p0[i] + t * gap.value_or(1.0) * nrm[i];
    out.push_back(std::move(im));
  }
}

void enhanced_frames(DcmDataset* ds, const Image& base, unsigned frames, std::vector<Image>& out) {
  DcmItem* shared = item(ds, DCM_SharedFunctionalGroupsSequence);
  for (unsigned f = 0; f < frames; ++f) {
    DcmItem* pf = item(ds, DCM_PerFrameFunctionalGroupsSequence, f);
    Image im = base;
    im.frame = f;
    double ipp[3], iop[6], ps[2];
    const bool g =
        vec(group(pf, shared, DCM_PlanePositionSequence), DCM_ImagePositionPatient, ipp, 3) &&
        vec(group(pf, shared, DCM_PlaneOrientationSequence), DCM_ImageOrientationPatient, iop, 6) &&
        vec(group(pf, shared, DCM_PixelMeasuresSequence), DCM_PixelSpacing, ps, 2);
    if (g)
      set_geometry(im, ipp, iop, ps);
    else
      im.ipp = {NAN, NAN, NAN};
    if (DcmItem* pv = group(pf, shared, DCM_PixelValueTransformationSequence)) {
      im.slope = num(pv, DCM_RescaleSlope).value_or(1.0);
      im.intercept = num(pv, DCM_RescaleIntercept).value_or(0.0);
      if (im.slope == 0.0) im.slope = 1.0;  // a zero slope is a header error, as for classic images
    }
    if (DcmItem* fc = group(pf, shared, DCM_FrameContentSequence)) {
      im.temporal_index = inum(fc, DCM_TemporalPositionIndex);
      im.acquisition_number = inum(fc, DCM_FrameAcquisitionNumber);
      const std::string dt = str(fc, DCM_FrameAcquisitionDateTime);
      if (dt.size() > 8) im.acq_time_s = tm_seconds(dt.substr(8));
      if (im.acq_time_s && day_number(dt)) *im.acq_time_s += *day_number(dt) * 86400.0;
    }
    if (DcmItem* e = group(pf, shared, DCM_MREchoSequence)) im.echo_time = num(e, DCM_EffectiveEchoTime);
    if (DcmItem* d = group(pf, shared, DCM_MRDiffusionSequence)) im.b_value = num(d, DCM_DiffusionBValue);
    if (DcmItem* ft = group(pf, shared, DCM_MRImageFrameTypeSequence)) {
      const std::string frame_type = str(ft, DCM_FrameType, -1);
      const std::string cic = str(ft, DCM_ComplexImageComponent);
      im.component = classic_component(frame_type);
      if (im.component.empty() || im.component == "derived") {
        if (cic == "PHASE")
          im.component = "ph";
        else if (cic == "REAL")
          im.component = "real";
        else if (cic == "IMAGINARY")
          im.component = "imag";
      }
    }
    out.push_back(std::move(im));
  }
}

/// Offset of the PixelData value when it is the file's last element, checked
/// against the element header bytes just before it; 0 when not found.
std::size_t locate_trailing_pixels(const std::string& path, std::uintmax_t size, std::size_t len,
                                   bool explicit_vr) {
  const std::size_t hdr = explicit_vr ? 12 : 8;
  if (len == 0 || size < len + hdr) return 0;
  const std::uintmax_t off = size - len;
  std::ifstream f(path, std::ios::binary);
  unsigned char b[12] = {};
  if (!f.seekg(static_cast<std::streamoff>(off - hdr)) ||
      !f.read(reinterpret_cast<char*>(b), static_cast<std::streamsize>(hdr)))
    return 0;
  if (!(b[0] == 0xE0 && b[1] == 0x7F && b[2] == 0x10 && b[3] == 0x00)) return 0;
  const unsigned char* l = b + (explicit_vr ? 8 : 4);
  if (explicit_vr && !((b[4] == 'O' && (b[5] == 'W' || b[5] == 'B')) && b[6] == 0 && b[7] == 0)) return 0;
  const std::size_t stored =
      std::size_t(l[0]) | (std::size_t(l[1]) << 8) | (std::size_t(l[2]) << 16) | (std::size_t(l[3]) << 24);
  return stored == len ? static_cast<std::size_t>(off) : 0;
}

}  // namespace

std::vector<Image> read_images(const std::string& path, std::size_t file_order, FileKind& kind,
                               std::string& why, std::string& failed_series_uid) {
  bool gz = false;
  auto ff = open_file(path, /*header_only=*/true, gz, kind, why);
  if (!ff) {
    if (kind == FileKind::unreadable && !gz) {
      // Which series lost this file? Parse up to the pixel data only.
      DcmFileFormat part;
      if (part.loadFileUntilTag(path.c_str(), EXS_Unknown, EGL_noChange, 4096, ERM_autoDetect, DCM_PixelData)
              .good())
        failed_series_uid = str(part.getDataset(), DCM_SeriesInstanceUID);
    }
    return {};
  }
  DcmDataset* ds = ff->getDataset();
  kind = FileKind::dicom;

  std::string sop_class = str(ds, DCM_SOPClassUID);
  if (sop_class.empty()) sop_class = str(ff->getMetaInfo(), DCM_MediaStorageSOPClassUID);
  if (sop_class == UID_MediaStorageDirectoryStorage || ds->tagExists(DCM_DirectoryRecordSequence)) {
    why = "DICOMDIR (a directory index, not an image)";
    return {};
  }
  if (!ds->tagExists(DCM_PixelData)) {
    const char* name = dcmFindNameOfUID(sop_class.c_str(), nullptr);
    why = std::string("no pixel data (") +
          (name                ? name
           : sop_class.empty() ? "unknown SOP class"
                               : sop_class.c_str()) +
          ")";
    return {};
  }

  auto fh = std::make_shared<FileHeader>();
  fh->path = path;
  fh->gz = gz;
  fill_acquisition(ds, *fh);
  failed_series_uid = fh->acq.series_uid;  // reported if this file turns out unusable
  fh->acq.sop_class_uid = sop_class;
  fh->transfer_syntax = DcmXfer(ds->getOriginalXfer()).getXferID();
  fh->acq.transfer_syntax_uid = fh->transfer_syntax;
  fh->rows = static_cast<unsigned>(inum(ds, DCM_Rows).value_or(0));
  fh->cols = static_cast<unsigned>(inum(ds, DCM_Columns).value_or(0));
  fh->frames = static_cast<unsigned>(std::max(1, inum(ds, DCM_NumberOfFrames).value_or(1)));
  fh->samples = static_cast<unsigned>(inum(ds, DCM_SamplesPerPixel).value_or(1));
  fh->bits_allocated = static_cast<unsigned>(inum(ds, DCM_BitsAllocated).value_or(16));
  fh->bits_stored =
      static_cast<unsigned>(inum(ds, DCM_BitsStored).value_or(static_cast<int>(fh->bits_allocated)));
  fh->high_bit = static_cast<unsigned>(inum(ds, DCM_HighBit).value_or(static_cast<int>(fh->bits_stored) - 1));
  fh->is_signed = inum(ds, DCM_PixelRepresentation).value_or(0) == 1;
  fh->photometric = str(ds, DCM_PhotometricInterpretation);
  if (fh->samples != 1 || (fh->photometric.rfind("MONOCHROME", 0) != 0 && !fh->photometric.empty())) {
    why = "colour image (" + fh->photometric + ", SamplesPerPixel " + std::to_string(fh->samples) +
          "): only greyscale images can form a volume";
    return {};
  }
  if (fh->rows == 0 || fh->cols == 0) {
    kind = FileKind::unreadable;
    why = "image with zero Rows or Columns";
    return {};
  }
  if (fh->bits_allocated != 8 && fh->bits_allocated != 16 && fh->bits_allocated != 32) {
    kind = FileKind::unreadable;
    why = "unsupported BitsAllocated " + std::to_string(fh->bits_allocated);
    return {};
  }
  if (fh->bits_stored == 0 || fh->bits_stored > fh->bits_allocated) fh->bits_stored = fh->bits_allocated;
  if (DcmElement* px = nullptr; ds->findAndGetElement(DCM_PixelData, px).good() && px)
    fh->pixel_bytes = px->getLength();
  // Never trust dimensions before the file is known to hold them: a header
  // claiming a huge matrix must fail here, before anything is allocated.
  const double uncompressed =
      double(fh->rows) * fh->cols * fh->frames * fh->samples * (fh->bits_allocated / 8);
  if (uncompressed > 4.0 * 1024 * 1024 * 1024) {
    kind = FileKind::unreadable;
    why = "implausible image size (" + std::to_string(fh->rows) + " x " + std::to_string(fh->cols) + " x " +
          std::to_string(fh->frames) + " frames: over 4 GiB of pixels)";
    return {};
  }
  if (DcmXfer(ds->getOriginalXfer()).isEncapsulated()) {
    // Every frame needs at least one fragment: a header claiming more frames
    // than the file holds fails here, before anything is allocated.
    DcmElement* el = nullptr;
    DcmPixelSequence* seq = nullptr;
    DcmPixelData* pd = nullptr;
    if (ds->findAndGetElement(DCM_PixelData, el).good()) pd = dynamic_cast<DcmPixelData*>(el);
    if (pd && pd->getEncapsulatedRepresentation(ds->getOriginalXfer(), nullptr, seq).good() && seq &&
        seq->card() < fh->frames + 1) {
      kind = FileKind::unreadable;
      why = "NumberOfFrames is " + std::to_string(fh->frames) + " but the pixel data holds only " +
            std::to_string(seq->card() > 0 ? seq->card() - 1 : 0) + " fragments";
      return {};
    }
  } else {
    const double need = double(fh->rows) * fh->cols * fh->frames * fh->samples * (fh->bits_allocated / 8);
    std::error_code ec;
    const auto size = gz ? 0 : std::filesystem::file_size(path, ec);
    if (double(fh->pixel_bytes) < need) {
      kind = FileKind::unreadable;
      why = "pixel data holds " + std::to_string(fh->pixel_bytes) +
            " bytes but Rows x Columns x Frames needs " +
            std::to_string(static_cast<unsigned long long>(need)) + " (corrupt header or truncated file)";
      return {};
    }
    const bool deflated = ds->getOriginalXfer() == EXS_DeflatedLittleEndianExplicit;
    if (!gz && !deflated && !ec && double(size) < need) {
      kind = FileKind::unreadable;
      why = "file is " + std::to_string(size) + " bytes, too short for its " +
            std::to_string(static_cast<unsigned long long>(need)) + " bytes of pixel data (truncated)";
      return {};
    }
    const E_TransferSyntax xs = ds->getOriginalXfer();
    const std::uint16_t probe = 1;
    const bool host_le = *reinterpret_cast<const unsigned char*>(&probe) == 1;
    if (host_le && !gz && !ec && (xs == EXS_LittleEndianExplicit || xs == EXS_LittleEndianImplicit))
      fh->pixel_offset = locate_trailing_pixels(path, size, fh->pixel_bytes, xs == EXS_LittleEndianExplicit);
  }

  Image base;
  base.file = fh;
  base.file_order = file_order;
  base.rows = fh->rows;
  base.cols = fh->cols;
  base.series_uid = fh->acq.series_uid;
  base.sop_uid = str(ds, DCM_SOPInstanceUID);
  base.series_number = fh->acq.series_number.value_or(0);
  base.echo_number = fh->acq.echo_number;
  base.echo_time = fh->acq.echo_time_ms;
  base.acquisition_number = fh->acq.acquisition_number;
  base.instance_number = inum(ds, DCM_InstanceNumber);
  base.temporal_index = inum(ds, DCM_TemporalPositionIdentifier);
  base.acq_time_s = tm_seconds(fh->acq.acquisition_time);
  if (base.acq_time_s && day_number(fh->acq.acquisition_date))
    *base.acq_time_s += *day_number(fh->acq.acquisition_date) * 86400.0;  // scans across midnight
  base.slope = num(ds, DCM_RescaleSlope).value_or(1.0);
  base.intercept = num(ds, DCM_RescaleIntercept).value_or(0.0);
  if (base.slope == 0.0) base.slope = 1.0;
  base.component = classic_component(fh->acq.image_type);
  if (base.component.empty() || base.component == "derived") {
    // GE stores magnitude/phase/real/imaginary in a private tag (0043,102F).
    if (const auto ge = ge_image_type(ds)) {
      static const char* names[4] = {"", "ph", "real", "imag"};
      if (*ge >= 1 && *ge <= 3) base.component = names[*ge];
    }
  }
  if (auto b = num(ds, DCM_DiffusionBValue)) base.b_value = b;

  std::vector<Image> out;
  const bool enhanced = ds->tagExists(DCM_PerFrameFunctionalGroupsSequence);
  if (enhanced) {
    fh->acq.enhanced = true;
    if (DcmItem* t = group(nullptr, item(ds, DCM_SharedFunctionalGroupsSequence),
                           DCM_MRTimingAndRelatedParametersSequence)) {
      if (!fh->acq.repetition_time_ms) fh->acq.repetition_time_ms = num(t, DCM_RepetitionTime);
      if (!fh->acq.flip_angle_deg) fh->acq.flip_angle_deg = num(t, DCM_FlipAngle);
    }
    if (DcmItem* pm = group(item(ds, DCM_PerFrameFunctionalGroupsSequence),
                            item(ds, DCM_SharedFunctionalGroupsSequence), DCM_PixelMeasuresSequence)) {
      if (!fh->acq.slice_thickness_mm) fh->acq.slice_thickness_mm = num(pm, DCM_SliceThickness);
      if (!fh->acq.spacing_between_slices_mm)
        fh->acq.spacing_between_slices_mm = num(pm, DCM_SpacingBetweenSlices);
    }
    enhanced_frames(ds, base, fh->frames, out);
    if (!out.empty() && !fh->acq.echo_time_ms) fh->acq.echo_time_ms = out.front().echo_time;
    if (!out.empty()) failed_series_uid.clear();
    return out;
  }
  if (fh->frames > 1) {
    kind = FileKind::unreadable;
    why = "multi-frame image without per-frame functional groups (" + std::to_string(fh->frames) +
          " frames): geometry of each frame unknown";
    return {};
  }
  double ipp[3], iop[6], ps[2];
  const bool has_ipp = vec(ds, DCM_ImagePositionPatient, ipp, 3);
  const bool has_iop = vec(ds, DCM_ImageOrientationPatient, iop, 6);
  const bool has_ps = vec(ds, DCM_PixelSpacing, ps, 2);
  if (has_ipp && has_iop && has_ps)
    set_geometry(base, ipp, iop, ps);
  else {
    base.ipp = {NAN, NAN, NAN};
    if (has_iop && has_ps) set_geometry(base, base.ipp.data(), iop, ps);
  }
  if (fh->acq.image_type.find("MOSAIC") != std::string::npos && has_ipp && has_iop && has_ps) {
    fh->acq.mosaic = true;
    expand_mosaic(ds, base, out, why);
    if (out.empty()) kind = FileKind::unreadable;
    if (!out.empty()) failed_series_uid.clear();
    return out;
  }
  out.push_back(std::move(base));
  failed_series_uid.clear();
  return out;
}

}  // namespace dicom
}  // namespace mrivol
