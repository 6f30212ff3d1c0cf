// DICOM Segmentation output: a mask on a real series, written with dcmseg,
// validated by dciodvfy (dicom3tools) and read back frame by frame.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/dcmseg/segdoc.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "mrivol/core/error.hpp"
#include "mrivol/dicom/seg.hpp"
#include "mrivol/dicom/series.hpp"
#include "synth_dicom.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using mrivol_test::TempDir;

namespace {

/// A mask with structure: the brighter half of the voxels.
mrivol::Volume bright_half(const mrivol::Volume& v) {
  mrivol::Volume m = v;
  const std::size_t n = v.voxels_per_volume();
  std::vector<float> s(v.data.begin(), v.data.begin() + static_cast<long>(n));
  std::nth_element(s.begin(), s.begin() + static_cast<long>(n / 2), s.end());
  const float t = s[n / 2];
  m.timepoints = 1;
  m.data.resize(n);
  for (std::size_t i = 0; i < n; ++i) m.data[i] = v.data[i] > t ? 1.0f : 0.0f;
  return m;
}

void check_seg(const std::string& path, const mrivol::Volume& src, const mrivol::Volume& mask) {
  // DICOM conformance (dciodvfy reports "Error - ..." lines for violations).
  const std::string log = path + ".dciodvfy";
  ASSERT_EQ(std::system(("dciodvfy " + path + " >" + log + " 2>&1").c_str()) >= 0, true);
  const std::string report = mrivol_test::read_bytes(log);
  EXPECT_NE(report.find("Segmentation"), std::string::npos) << report;
  EXPECT_EQ(report.find("Error"), std::string::npos) << report;
  // DCMTK's own SEG reader accepts it.
  DcmSegmentation* seg = nullptr;
  ASSERT_TRUE(DcmSegmentation::loadFile(path.c_str(), seg).good());
  std::unique_ptr<DcmSegmentation> owner(seg);
  const auto& g = src.geom;
  const std::size_t nx = g.size[0], ny = g.size[1], nz = g.size[2];
  EXPECT_EQ(seg->getNumberOfFrames(), nz);
  // Frame by frame with dcmdata: pixels (bit-packed), position, source image.
  DcmFileFormat ff;
  ASSERT_TRUE(ff.loadFile(path.c_str()).good());
  DcmDataset* ds = ff.getDataset();
  EXPECT_EQ(mrivol_test::element_text(ds, DCM_SOPClassUID), UID_SegmentationStorage);
  EXPECT_EQ(mrivol_test::element_text(ds, DCM_SegmentationType), "BINARY");
  EXPECT_EQ(mrivol_test::element_text(ds, DCM_StudyInstanceUID), src.meta.acq.study_uid);
  EXPECT_EQ(mrivol_test::element_text(ds, DCM_FrameOfReferenceUID), src.meta.acq.frame_of_reference_uid);
  EXPECT_EQ(std::stoul(mrivol_test::element_text(ds, DCM_Rows)), ny);
  EXPECT_EQ(std::stoul(mrivol_test::element_text(ds, DCM_Columns)), nx);
  const Uint8* px = nullptr;
  unsigned long len = 0;
  ASSERT_TRUE(ds->findAndGetUint8Array(DCM_PixelData, px, &len).good());
  ASSERT_GE(len * 8, nx * ny * nz);
  std::size_t wrong = 0, inside = 0;
  for (std::size_t i = 0; i < nx * ny * nz; ++i) {
    const bool bit = (px[i / 8] >> (i % 8)) & 1;
    wrong += bit != (mask.data[i] > 0.5f);
    inside += bit;
  }
  EXPECT_EQ(wrong, 0u);
  EXPECT_GT(inside, 0u);
  DcmSequenceOfItems* per = nullptr;
  ASSERT_TRUE(ds->findAndGetSequence(DCM_PerFrameFunctionalGroupsSequence, per).good());
  ASSERT_EQ(per->card(), nz);
  for (std::size_t k = 0; k < nz; ++k) {
    DcmItem* f = per->getItem(static_cast<unsigned long>(k));
    DcmItem* pos = nullptr;
    ASSERT_TRUE(f->findAndGetSequenceItem(DCM_PlanePositionSequence, pos).good());
    const mrivol::Vec3 o = g.index_to_point(0, 0, double(k));
    for (int a = 0; a < 3; ++a) {
      Float64 x = 0;
      ASSERT_TRUE(pos->findAndGetFloat64(DCM_ImagePositionPatient, x, static_cast<unsigned long>(a)).good());
      EXPECT_NEAR(x, o[a], 1e-3) << "frame " << k;
    }
    DcmItem* der = nullptr;
    ASSERT_TRUE(f->findAndGetSequenceItem(DCM_DerivationImageSequence, der).good());
    DcmItem* srcimg = nullptr;
    ASSERT_TRUE(der->findAndGetSequenceItem(DCM_SourceImageSequence, srcimg).good());
    EXPECT_EQ(mrivol_test::element_text(srcimg, DCM_ReferencedSOPInstanceUID),
              src.meta.acq.source_sop_uids[k]);
    if (src.meta.acq.source_frames[k] > 0) {
      EXPECT_EQ(mrivol_test::element_text(srcimg, DCM_ReferencedFrameNumber),
                std::to_string(src.meta.acq.source_frames[k]));
    }
  }
}

TEST(DicomSeg, MaskOnRealSeriesIsValidAndReadsBack) {
  TempDir d("dicom_seg");
  const std::string shared = mrivol_test::shared_dicom_dir();
  // classic single-frame sagittal, and enhanced multi-frame
  for (const char* name : {"siemens_sag_t1_hfs", "siemens_enh_xa30_t1"}) {
    SCOPED_TRACE(name);
    const auto scan = mrivol::dicom::scan(shared + "/" + name);
    const mrivol::Volume v = mrivol::dicom::load(scan.series.front());
    ASSERT_EQ(v.meta.acq.source_sop_uids.size(), v.geom.size[2]);
    const mrivol::Volume m = bright_half(v);
    const std::string out = d / (std::string(name) + ".seg.dcm");
    mrivol::dicom::SegWriteOptions o;
    mrivol::dicom::write_segmentation(m, v, out, o);
    check_seg(out, v, m);
    // No patient identifier unless asked for.
    const std::string b = mrivol_test::read_bytes(out);
    for (const auto& id : v.meta.patient.values())
      if (id.size() >= 4) {
        EXPECT_EQ(b.find(id), std::string::npos) << "identifier in the SEG";
      }
    // Same inputs, same object: UIDs and frames (ContentDate/Time is when
    // the object was written, so the bytes may differ in that second).
    const std::string again = d / (std::string(name) + ".again.seg.dcm");
    mrivol::dicom::write_segmentation(m, v, again, o);
    {
      DcmFileFormat f1, f2;
      ASSERT_TRUE(f1.loadFile(out.c_str()).good());
      ASSERT_TRUE(f2.loadFile(again.c_str()).good());
      for (const DcmTagKey& k : {DCM_SOPInstanceUID, DCM_SeriesInstanceUID, DCM_StudyInstanceUID,
                                 DCM_FrameOfReferenceUID, DCM_NumberOfFrames})
        EXPECT_EQ(mrivol_test::element_text(f1.getDataset(), k),
                  mrivol_test::element_text(f2.getDataset(), k));
      const Uint8 *p1 = nullptr, *p2 = nullptr;
      unsigned long n1 = 0, n2 = 0;
      ASSERT_TRUE(f1.getDataset()->findAndGetUint8Array(DCM_PixelData, p1, &n1).good());
      ASSERT_TRUE(f2.getDataset()->findAndGetUint8Array(DCM_PixelData, p2, &n2).good());
      ASSERT_EQ(n1, n2);
      EXPECT_EQ(std::memcmp(p1, p2, n1), 0);
    }
    // With identifiers (for PACS), the patient is named.
    o.include_identifiers = true;
    const std::string with = d / (std::string(name) + ".id.seg.dcm");
    mrivol::dicom::write_segmentation(m, v, with, o);
    DcmFileFormat ff;
    ASSERT_TRUE(ff.loadFile(with.c_str()).good());
    if (!v.meta.patient.id.empty()) {
      EXPECT_EQ(mrivol_test::element_text(ff.getDataset(), DCM_PatientID), v.meta.patient.id);
    }
    // An existing file is kept without overwrite.
    o.include_identifiers = false;
    EXPECT_THROW(mrivol::dicom::write_segmentation(m, v, out, o), mrivol::OutputError);
  }
}

TEST(DicomSeg, RefusesScansNotFromDicomAndOtherGrids) {
  TempDir d("dicom_seg_bad");
  const auto scan = mrivol::dicom::scan(mrivol_test::shared_dicom_dir() + "/siemens_sag_t1_hfs");
  mrivol::Volume v = mrivol::dicom::load(scan.series.front());
  mrivol::Volume m = bright_half(v);
  mrivol::Volume other = m;
  other.geom.size[0] -= 1;
  other.data.resize(other.geom.voxels());
  EXPECT_THROW(mrivol::dicom::write_segmentation(other, v, d / "a.seg.dcm", {}), mrivol::InputError);
  v.meta.acq.source_sop_uids.clear();
  EXPECT_THROW(mrivol::dicom::write_segmentation(m, v, d / "b.seg.dcm", {}), mrivol::InputError);
  EXPECT_FALSE(fs::exists(d / "a.seg.dcm"));
  EXPECT_FALSE(fs::exists(d / "b.seg.dcm"));
}

}  // namespace
