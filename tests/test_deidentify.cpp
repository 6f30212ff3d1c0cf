// mrivol-load --deidentify: pseudonymised DICOM copies for sharing.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "mrivol/dicom/series.hpp"
#include "synth_dicom.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using mrivol_test::TempDir;

namespace {

struct Copy {
  DcmFileFormat ff;
  DcmDataset* ds = nullptr;
  explicit Copy(const std::string& p) {
    EXPECT_TRUE(ff.loadFile(p.c_str()).good()) << p;
    ds = ff.getDataset();
  }
};

std::vector<std::string> dicom_files(const std::string& dir) {
  std::vector<std::string> v;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".dcm") v.push_back(e.path().string());
  std::sort(v.begin(), v.end());
  return v;
}

/// A slice whose header carries identifying values in the places real
/// files do: nested sequences, other person names, private text, overlays,
/// free-text comments, referenced instances.
void add_identifiers(const std::string& path) {
  DcmFileFormat ff;
  ASSERT_TRUE(ff.loadFile(path.c_str()).good());
  DcmDataset* ds = ff.getDataset();
  ds->putAndInsertString(DCM_InstitutionName, "St Elsewhere Hospital");
  ds->putAndInsertString(DCM_InstitutionAddress, "1 Hospital Road, Springfield");
  ds->putAndInsertString(DCM_AccessionNumber, "ACC778899");
  ds->putAndInsertString(DCM_ReferringPhysicianName, "Kildare^James");
  ds->putAndInsertString(DCM_PerformingPhysicianName, "Casey^Ben");
  ds->putAndInsertString(DCM_OperatorsName, "Hawkeye^Pierce");
  ds->putAndInsertString(DCM_StationName, "MRI-ROOM-3");
  ds->putAndInsertString(DCM_DeviceSerialNumber, "SN-445566");
  ds->putAndInsertString(DCM_StudyDate, "20240315");
  ds->putAndInsertString(DCM_SeriesDate, "20240315");
  ds->putAndInsertString(DCM_AcquisitionDateTime, "20240315101500.000000");
  ds->putAndInsertString(DCM_ImageComments, "patient Doe^Jane anxious");
  ds->putAndInsertString(DCM_PatientSex, "F");
  ds->putAndInsertString(DCM_PatientAge, "044Y");
  DcmItem* it = nullptr;
  ASSERT_TRUE(ds->findOrCreateSequenceItem(DCM_OtherPatientIDsSequence, it, -2).good());
  it->putAndInsertString(DCM_PatientID, "PID-0042-OLD");
  ASSERT_TRUE(ds->findOrCreateSequenceItem(DCM_RequestAttributesSequence, it, -2).good());
  it->putAndInsertString(DCM_RequestedProcedureID, "REQ-12345");
  ASSERT_TRUE(ds->findOrCreateSequenceItem(DCM_ReferencedImageSequence, it, -2).good());
  it->putAndInsertString(DCM_ReferencedSOPClassUID, UID_MRImageStorage);
  it->putAndInsertString(DCM_ReferencedSOPInstanceUID, "1.2.826.0.1.3680043.8.498.77");
  ASSERT_TRUE(ds->findOrCreateSequenceItem(DCM_ProcedureCodeSequence, it, -2).good());
  it->putAndInsertString(DCM_CodeMeaning, "MRI lumbar spine");
  DcmItem* nested = nullptr;
  ASSERT_TRUE(it->findOrCreateSequenceItem(DCM_ContentSequence, nested, -2).good());
  nested->putAndInsertString(DCM_PersonName, "Doe^Jane");
  nested->putAndInsertString(DCM_Date, "20240301");
  ds->putAndInsertString(DcmTagKey(0x0009, 0x0010), "ACME PRIVATE");
  ds->putAndInsertString(DcmTagKey(0x0009, 0x1001), "Doe^Jane PID-0042");
  ds->putAndInsertUint16(DcmTagKey(0x6000, 0x0010), 8);
  // Public elements stored as UN (a gateway that did not know them): a known
  // one (InstitutionalDepartmentName) and one no dictionary knows.
  for (const DcmTagKey& k : {DcmTagKey(0x0008, 0x1040), DcmTagKey(0x0008, 0x9999)}) {
    auto* un = new DcmOtherByteOtherWord(DcmTag(k, EVR_UN));
    const std::string text = "Radiology of Doe^Jane ";
    un->putUint8Array(reinterpret_cast<const Uint8*>(text.data()), static_cast<unsigned long>(text.size()));
    ASSERT_TRUE(ds->insert(un, OFTrue).good());
  }
  ASSERT_TRUE(ff.saveFile(path.c_str(), EXS_LittleEndianExplicit).good());
}

TEST(Deidentify, SyntheticHeaderLosesEveryIdentifier) {
  TempDir d("deid_synth");
  auto st = mrivol_test::make_stack(4, {0, 0, 0}, {1, 0, 0, 0, 1, 0}, 2.0);
  mrivol_test::write_stack(d / "in", st);
  for (const auto& f : dicom_files(d / "in")) add_identifiers(f);
  std::ofstream(d / "key") << "a secret only the research team holds\n";
  const std::string args = (d / "in") + " --deidentify " + (d / "out") +
                           " --pseudonym sub-07 --deid-key-file " + (d / "key") + " -q";
  auto r = mrivol_test::run_tool("mrivol-load", args, d);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");  // a key was given: no warning
  const auto files = dicom_files(d / "out");
  ASSERT_EQ(files.size(), 4u);
  for (const auto& f : files) {
    const std::string b = mrivol_test::read_bytes(f);
    for (const char* id : {"Doe", "Jane", "PID-0042", "19800101", "St Elsewhere", "Hospital Road",
                           "ACC778899", "Kildare", "Casey", "Hawkeye", "MRI-ROOM-3", "SN-445566", "REQ-12345",
                           "ACME", "anxious", "Radiology", "1.2.826.0.1.3680043.8.498"})
      EXPECT_EQ(b.find(id), std::string::npos) << f << " contains " << id;
    Copy c(f);
    EXPECT_EQ(mrivol_test::element_text(c.ds, DCM_PatientName), "sub-07");
    EXPECT_EQ(mrivol_test::element_text(c.ds, DCM_PatientID), "sub-07");
    EXPECT_EQ(mrivol_test::element_text(c.ds, DCM_PatientBirthDate), "");
    EXPECT_EQ(mrivol_test::element_text(c.ds, DCM_PatientIdentityRemoved), "YES");
    EXPECT_EQ(mrivol_test::element_text(c.ds, DCM_PatientSex), "F");  // patient characteristics kept (113108)
    EXPECT_EQ(mrivol_test::element_text(c.ds, DCM_PatientAge), "044Y");
    EXPECT_EQ(mrivol_test::element_text(c.ds, DCM_SeriesDescription), "synthetic");
    EXPECT_EQ(mrivol_test::element_text(c.ds, DCM_SOPClassUID), UID_MRImageStorage);
    EXPECT_EQ(mrivol_test::element_text(c.ds, DCM_PixelData), "<absent>");  // headers only
    EXPECT_EQ(mrivol_test::element_text(c.ds, DCM_StationName), "<absent>");
    EXPECT_EQ(mrivol_test::element_text(c.ds, DcmTagKey(0x6000, 0x0010)), "<absent>");
    EXPECT_EQ(mrivol_test::element_text(c.ds, DCM_StudyInstanceUID).rfind("2.25.", 0), 0u);
    // One offset for every date, nested ones included; times kept.
    const std::string study = mrivol_test::element_text(c.ds, DCM_StudyDate);
    EXPECT_NE(study, "20240315");
    EXPECT_EQ(mrivol_test::element_text(c.ds, DCM_SeriesDate), study);
    EXPECT_EQ(mrivol_test::element_text(c.ds, DCM_AcquisitionDateTime), study + "101500.000000");
    DcmItem* proc = nullptr;
    ASSERT_TRUE(c.ds->findAndGetSequenceItem(DCM_ProcedureCodeSequence, proc).good());
    DcmItem* nested = nullptr;
    ASSERT_TRUE(proc->findAndGetSequenceItem(DCM_ContentSequence, nested).good());
    EXPECT_EQ(mrivol_test::element_text(nested, DCM_PersonName), "<absent>");
    // 2024-03-01 is 14 days before 2024-03-15: the interval survives.
    const std::string date = mrivol_test::element_text(nested, DCM_Date);
    ASSERT_EQ(date.size(), 8u);
    DcmItem* ref = nullptr;
    ASSERT_TRUE(c.ds->findAndGetSequenceItem(DCM_ReferencedImageSequence, ref).good());
    EXPECT_EQ(mrivol_test::element_text(ref, DCM_ReferencedSOPClassUID), UID_MRImageStorage);
    EXPECT_EQ(mrivol_test::element_text(ref, DCM_ReferencedSOPInstanceUID).rfind("2.25.", 0), 0u);
  }
  // Same original UID -> same new UID in every file; distinct instances stay distinct.
  std::set<std::string> studies, sops;
  for (const auto& f : files) {
    Copy c(f);
    studies.insert(mrivol_test::element_text(c.ds, DCM_StudyInstanceUID));
    sops.insert(mrivol_test::element_text(c.ds, DCM_SOPInstanceUID));
  }
  EXPECT_EQ(studies.size(), 1u);
  EXPECT_EQ(sops.size(), 4u);
  const auto j = nlohmann::json::parse(mrivol_test::read_bytes(d / "out/deidentification.json"));
  EXPECT_EQ(j["schema"], "mrivol.deidentify/1");
  EXPECT_EQ(j["files"], 4);
  EXPECT_EQ(j["pixel_data"], "removed");
  EXPECT_EQ(j["key"], "given");

  // Deterministic: the same inputs, pseudonym and key give the same bytes.
  r = mrivol_test::run_tool("mrivol-load", args + " --force", d);
  ASSERT_EQ(r.code, 0) << r.err;
  // ... and the interval between dates is kept exactly.
  {
    Copy c(files[0]);
    DcmItem* proc = nullptr;
    c.ds->findAndGetSequenceItem(DCM_ProcedureCodeSequence, proc);
    DcmItem* nested = nullptr;
    proc->findAndGetSequenceItem(DCM_ContentSequence, nested);
    const std::string a = mrivol_test::element_text(nested, DCM_Date),
                      b = mrivol_test::element_text(c.ds, DCM_StudyDate);
    std::tm ta{}, tb{};
    ta.tm_year = std::stoi(a.substr(0, 4)) - 1900;
    ta.tm_mon = std::stoi(a.substr(4, 2)) - 1;
    ta.tm_mday = std::stoi(a.substr(6, 2));
    tb.tm_year = std::stoi(b.substr(0, 4)) - 1900;
    tb.tm_mon = std::stoi(b.substr(4, 2)) - 1;
    tb.tm_mday = std::stoi(b.substr(6, 2));
    ta.tm_hour = tb.tm_hour = 12;
    EXPECT_NEAR(std::difftime(timegm(&tb), timegm(&ta)) / 86400.0, 14.0, 1e-9);
  }
  std::vector<std::string> first;
  for (const auto& f : files) first.push_back(mrivol_test::read_bytes(f));
  fs::rename(d / "out", d / "out1");
  r = mrivol_test::run_tool("mrivol-load", args, d);
  ASSERT_EQ(r.code, 0) << r.err;
  for (std::size_t i = 0; i < files.size(); ++i)
    EXPECT_EQ(mrivol_test::read_bytes(files[i]), first[i]) << files[i];
  // Another key: other UIDs and dates.
  std::ofstream(d / "key2") << "another secret\n";
  r = mrivol_test::run_tool("mrivol-load",
                            (d / "in") + " --deidentify " + (d / "out2") +
                                " --pseudonym sub-07 --deid-key-file " + (d / "key2") + " -q",
                            d);
  ASSERT_EQ(r.code, 0) << r.err;
  Copy a(files[0]), b2(dicom_files(d / "out2")[0]);
  EXPECT_NE(mrivol_test::element_text(a.ds, DCM_StudyInstanceUID),
            mrivol_test::element_text(b2.ds, DCM_StudyInstanceUID));
}

TEST(Deidentify, UsageAndOutputErrors) {
  TempDir d("deid_errors");
  mrivol_test::write_stack(d / "in", mrivol_test::make_stack(3, {0, 0, 0}, {1, 0, 0, 0, 1, 0}, 2.0));
  auto r = mrivol_test::run_tool("mrivol-load", (d / "in") + " --deidentify " + (d / "o"), d);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("--pseudonym"), std::string::npos) << r.err;
  r = mrivol_test::run_tool("mrivol-load", (d / "in") + " --deidentify " + (d / "o") + " --pseudonym a/b", d);
  EXPECT_EQ(r.code, 2) << r.err;
  r = mrivol_test::run_tool("mrivol-load",
                            (d / "in") + " --list --deidentify " + (d / "o") + " --pseudonym s", d);
  EXPECT_EQ(r.code, 2) << r.err;
  r = mrivol_test::run_tool("mrivol-load", (d / "in") + " -o " + (d / "x.nii") + " --pseudonym s", d);
  EXPECT_EQ(r.code, 2) << r.err;
  r = mrivol_test::run_tool(
      "mrivol-load",
      (d / "in") + " --deidentify " + (d / "o") + " --pseudonym s --deid-key-file " + (d / "missing"), d);
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("missing"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(d / "o"));
  // An existing folder is kept without --force.
  fs::create_directory(d / "o");
  std::ofstream(d / "o/earlier.txt") << "keep me";
  r = mrivol_test::run_tool("mrivol-load", (d / "in") + " --deidentify " + (d / "o") + " --pseudonym s -q",
                            d);
  EXPECT_EQ(r.code, 6) << r.err;
  EXPECT_EQ(mrivol_test::count_lines(r.err), 1u) << r.err;
  EXPECT_EQ(mrivol_test::read_bytes(d / "o/earlier.txt"), "keep me");
  // Without a key the user is told what that means.
  r = mrivol_test::run_tool("mrivol-load", (d / "in") + " --deidentify " + (d / "o2") + "/ --pseudonym s -q",
                            d);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("warning"), std::string::npos);
  // (a trailing slash names the same folder)
  EXPECT_TRUE(fs::exists(d / "o2/deidentification.json"));
}

/// Real scanner series: the copies with pixels load to the same image and
/// carry none of the source's identifying values.
TEST(Deidentify, RealSeriesKeepTheirImages) {
  const std::string shared = mrivol_test::shared_dicom_dir();
  TempDir d("deid_real");
  for (const char* name : {"siemens_enh_xa10_epi", "ts_implicit_le", "siemens_sag_t1_hfs", "ge_ax_epi_hfs",
                           "philips_dualecho_magph", "canon_enh_dwi_oblique", "ts_jpegls_dcmtk"}) {
    SCOPED_TRACE(name);
    const std::string src = shared + "/" + name;
    ASSERT_TRUE(fs::exists(src)) << src;
    const auto scan = mrivol::dicom::scan(src);
    const auto& s = scan.series.front();
    const mrivol::Volume v = mrivol::dicom::load(s);
    const std::string out = d / name;
    auto r = mrivol_test::run_tool(
        "mrivol-load",
        src + " --series " + s.label + " --deidentify " + out + " --pseudonym sub-01 --deidentify-pixels -q",
        d);
    ASSERT_EQ(r.code, 0) << r.err;
    for (const auto& f : dicom_files(out)) {
      const std::string b = mrivol_test::read_bytes(f);
      for (const std::string& id : v.meta.patient.values())
        if (id.size() >= 4) {
          EXPECT_EQ(b.find(id), std::string::npos) << f << " contains an identifier";
        }
    }
    const auto scan2 = mrivol::dicom::scan(out);
    ASSERT_GE(scan2.series.size(), 1u);
    const mrivol::Volume w = mrivol::dicom::load(scan2.series.front());
    EXPECT_TRUE(w.meta.patient.values().size() <= 2u);  // the pseudonym as name and ID
    ASSERT_EQ(w.geom.size, v.geom.size);
    ASSERT_EQ(w.timepoints, v.timepoints);
    for (int a = 0; a < 3; ++a) {
      EXPECT_NEAR(w.geom.origin[a], v.geom.origin[a], 1e-6);
      EXPECT_NEAR(w.geom.spacing[a], v.geom.spacing[a], 1e-6);
    }
    const std::size_t n = v.voxels_per_volume() * v.timepoints;
    std::size_t diff = 0;
    for (std::size_t i = 0; i < n; ++i) diff += w.data[i] != v.data[i];
    EXPECT_EQ(diff, 0u);
  }
}

}  // namespace
