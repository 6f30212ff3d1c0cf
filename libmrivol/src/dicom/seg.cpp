#include "mrivol/dicom/seg.hpp"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmfg/fgderimg.h>
#include <dcmtk/dcmfg/fgfracon.h>
#include <dcmtk/dcmfg/fgpixmsr.h>
#include <dcmtk/dcmfg/fgplanor.h>
#include <dcmtk/dcmfg/fgplanpo.h>
#include <dcmtk/dcmiod/iodmacro.h>
#include <dcmtk/dcmseg/segdoc.h>
#include <dcmtk/dcmseg/segment.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <set>
#include <vector>

#include "internal.hpp"
#include "mrivol/core/error.hpp"
#include "mrivol/core/sha256.hpp"
#include "mrivol/core/version.hpp"
#include "mrivol/io/atomic.hpp"

namespace mrivol {
namespace dicom {
namespace {

void check(const OFCondition& c, const std::string& path, const char* what) {
  if (c.bad())
    throw OutputError(path,
                      std::string("cannot build the DICOM Segmentation (") + what + ": " + c.text() + ")");
}

}  // namespace

void write_segmentation(const Volume& mask, const Volume& source, const std::string& path,
                        const SegWriteOptions& opt) {
  const Acquisition& a = source.meta.acq;
  const Geometry& g = source.geom;
  const std::size_t nx = g.size[0], ny = g.size[1], nz = g.size[2];
  if (a.series_uid.empty() || a.study_uid.empty() || a.source_sop_uids.size() != nz)
    throw InputError(path,
                     "a DICOM Segmentation needs a scan loaded from DICOM (series, study and image UIDs)");
  bool same = mask.geom.size == g.size;
  for (int i = 0; i < 3 && same; ++i)
    same = std::fabs(mask.geom.spacing[i] - g.spacing[i]) < 1e-4 &&
           std::fabs(mask.geom.origin[i] - g.origin[i]) < 1e-3;
  for (int i = 0; i < 9 && same; ++i) same = std::fabs(mask.geom.direction[i] - g.direction[i]) < 1e-5;
  if (!same) throw InputError(path, "the mask is not on the scan's grid");
  if (nx > 65535 || ny > 65535) throw InputError(path, "matrix too large for DICOM");
  use_full_dictionary();

  IODGeneralEquipmentModule::EquipmentInfo eq;
  eq.m_Manufacturer = "mrivol";
  eq.m_ManufacturerModelName = "mrivol-compare";
  eq.m_DeviceSerialNumber = "0";
  eq.m_SoftwareVersions = version().c_str();
  ContentIdentificationMacro ident;
  ident.setInstanceNumber("1");
  ident.setContentLabel("PLEXUS");
  ident.setContentDescription("epidural venous plexus");
  ident.setContentCreatorName("mrivol^software");
  DcmSegmentation* raw = nullptr;
  check(DcmSegmentation::createBinarySegmentation(raw, static_cast<Uint16>(ny), static_cast<Uint16>(nx), eq,
                                                  ident),
        path, "create");
  std::unique_ptr<DcmSegmentation> seg(raw);

  // Patient, study and frame of reference of the source; identifiers only
  // when asked for.
  const std::string seed = a.series_uid + "|" + a.source_sop_uids.front() + "|" + opt.series_description +
                           "|" + opt.segment_label + "|" + (opt.include_identifiers ? "id" : "noid") + "|" +
                           version() + "|" + sha256_hex(mask.data.data(), mask.data.size() * sizeof(float));
  if (opt.include_identifiers) {
    const PatientIdentity& p = source.meta.patient;
    seg->getPatient().setPatientName(p.name.c_str(), OFFalse);
    seg->getPatient().setPatientID(p.id.c_str(), OFFalse);
    seg->getPatient().setPatientBirthDate(p.birth_date.c_str(), OFFalse);
    seg->getPatient().setPatientSex(p.sex.c_str(), OFFalse);
  }
  check(seg->getStudy().setStudyInstanceUID(a.study_uid.c_str()), path, "study");
  if (!a.frame_of_reference_uid.empty())
    check(seg->getFrameOfReference().setFrameOfReferenceUID(a.frame_of_reference_uid.c_str()), path, "frame");
  else
    check(seg->getFrameOfReference().setFrameOfReferenceUID(uid_from_seed(seed + "|for").c_str()), path,
          "frame");
  check(seg->getSeries().setSeriesInstanceUID(uid_from_seed(seed + "|series").c_str()), path, "series");
  check(seg->getSeries().setSeriesNumber(std::to_string(opt.series_number).c_str()), path, "series");
  check(seg->getSeries().setSeriesDescription(opt.series_description.c_str()), path, "series");
  check(seg->getSOPCommon().setSOPInstanceUID(uid_from_seed(seed + "|instance").c_str()), path, "instance");

  // Dimensions: segment, then position along the slice normal.
  const std::string dim_uid = uid_from_seed(seed + "|dimensions");
  IODMultiframeDimensionModule& dims = seg->getDimensions();
  check(dims.addDimensionIndex(DCM_ReferencedSegmentNumber, dim_uid.c_str(),
                               DCM_SegmentIdentificationSequence, "ReferencedSegmentNumber"),
        path, "dimension");
  check(dims.addDimensionIndex(DCM_ImagePositionPatient, dim_uid.c_str(), DCM_PlanePositionSequence,
                               "ImagePositionPatient"),
        path, "dimension");

  // Shared groups: orientation and pixel measures of the source grid.
  const Vec3 row = g.axis(0), col = g.axis(1);
  std::unique_ptr<FGPlaneOrientationPatient> orient(FGPlaneOrientationPatient::createMinimal(
      ds_text(row[0]).c_str(), ds_text(row[1]).c_str(), ds_text(row[2]).c_str(), ds_text(col[0]).c_str(),
      ds_text(col[1]).c_str(), ds_text(col[2]).c_str()));
  if (!orient) throw OutputError(path, "cannot build the plane orientation");
  check(seg->addForAllFrames(*orient), path, "orientation");
  FGPixelMeasures px;
  check(px.setPixelSpacing((ds_text(g.spacing[1]) + "\\" + ds_text(g.spacing[0])).c_str()), path, "spacing");
  check(px.setSliceThickness(ds_text(a.slice_thickness_mm.value_or(g.spacing[2])).c_str()), path,
        "thickness");
  check(px.setSpacingBetweenSlices(ds_text(g.spacing[2]).c_str()), path, "spacing");
  check(seg->addForAllFrames(px), path, "pixel measures");

  // The segment.
  DcmSegment* segment = nullptr;
  check(DcmSegment::create(segment, opt.segment_label.c_str(),
                           CodeSequenceMacro("123037004", "SCT", "Anatomical Structure"),
                           CodeSequenceMacro("29092000", "SCT", "Vein"), DcmSegTypes::SAT_AUTOMATIC,
                           ("mrivol " + version()).c_str()),
        path, "segment");
  {
    AlgorithmIdentificationMacro& alg = segment->getSegmentationAlgorithmIdentification();
    // CID 7162: the vessels come from a partial-volume intensity model fitted in the canal
    alg.getAlgorithmFamilyCode().set("123105", "DCM", "Histogram Analysis");
    alg.setAlgorithmName("mrivol");
    alg.setAlgorithmVersion(version().c_str());
  }
  segment->setSegmentDescription("epidural venous plexus (partial-volume threshold 0.5)");
  segment->setRecommendedDisplayCIELabValue(53390, 54394, 53019);  // red
  Uint16 number = 0;
  {
    std::unique_ptr<DcmSegment> owned(segment);
    check(seg->addSegment(segment, number), path, "segment");
    owned.release();  // the segmentation owns it now
  }

  // Frames: one per slice, each referencing its source image.
  const std::string sop_class = a.sop_class_uid.empty() ? UID_MRImageStorage : a.sop_class_uid;
  FGPlanePosPatient* pos = FGPlanePosPatient::createMinimal("0", "0", "0");
  std::unique_ptr<FGPlanePosPatient> pos_owner(pos);
  FGFrameContent content;
  FGDerivationImage deriv;
  std::vector<Uint8> frame(nx * ny);
  IODCommonInstanceReferenceModule& refs = seg->getCommonInstanceReference();
  auto series_ref = std::make_unique<IODSeriesAndInstanceReferenceMacro::ReferencedSeriesItem>();
  series_ref->setSeriesInstanceUID(a.series_uid.c_str());
  std::set<std::string> referenced;
  for (std::size_t k = 0; k < nz; ++k) {
    for (std::size_t p = 0; p < nx * ny; ++p) frame[p] = mask.data[k * nx * ny + p] > 0.5f ? 1 : 0;
    const Vec3 o = g.index_to_point(0, 0, double(k));
    check(pos->setImagePositionPatient(ds_text(o[0]).c_str(), ds_text(o[1]).c_str(), ds_text(o[2]).c_str()),
          path, "position");
    check(content.setDimensionIndexValues(number, 0), path, "frame content");
    check(content.setDimensionIndexValues(static_cast<Uint32>(k + 1), 1), path, "frame content");
    deriv.clearData();
    DerivationImageItem* item = nullptr;
    check(deriv.addDerivationImageItem(CodeSequenceMacro("113076", "DCM", "Segmentation"), "", item), path,
          "derivation");
    auto* src = new SourceImageItem;
    src->getPurposeOfReferenceCode().set("121322", "DCM", "Source image for image processing operation");
    ImageSOPInstanceReferenceMacro& ref = src->getImageSOPInstanceReference();
    ref.setReferencedSOPClassUID(sop_class.c_str());
    ref.setReferencedSOPInstanceUID(a.source_sop_uids[k].c_str());
    if (k < a.source_frames.size() && a.source_frames[k] > 0)
      ref.addReferencedFrameNumber(static_cast<Uint16>(a.source_frames[k]));
    item->getSourceImageItems().push_back(src);
    if (referenced.insert(a.source_sop_uids[k]).second) {
      auto* inst = new SOPInstanceReferenceMacro;
      inst->setReferencedSOPClassUID(sop_class.c_str());
      inst->setReferencedSOPInstanceUID(a.source_sop_uids[k].c_str());
      series_ref->getReferencedInstanceItems().push_back(inst);
    }
    OFVector<FGBase*> per_frame;
    per_frame.push_back(pos);
    per_frame.push_back(&content);
    per_frame.push_back(&deriv);
    check(seg->addFrame(frame.data(), number, per_frame), path, "frame");
  }
  refs.getReferencedSeriesItems().push_back(series_ref.release());

  io::AtomicOutput out(path, opt.overwrite);
  DcmFileFormat ff;
  check(seg->writeDataset(*ff.getDataset()), path, "write");
  ff.getDataset()->putAndInsertString(DCM_SegmentsOverlap, "NO");
  if (!a.body_part.empty()) ff.getDataset()->putAndInsertString(DCM_BodyPartExamined, a.body_part.c_str());
  const OFCondition st = ff.saveFile(out.temp_path().c_str(), EXS_LittleEndianExplicit);
  if (st.bad())
    throw OutputError(path, std::string("cannot write DICOM (") + st.text() + ")" +
                                io::disk_full_note(io::parent_folder(path)));
  out.commit();
}

}  // namespace dicom
}  // namespace mrivol
