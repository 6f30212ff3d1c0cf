// Issue 8: the bad-input corpus. Every case is generated here, then given to
// every tool it applies to, run as a user runs it. Each run must end with the
// documented exit code, exactly one line on stderr ("TOOL: error: ...") that
// names the offending file or folder, and no output: the output folder is not
// created, or an existing one (with --force) keeps its earlier content.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "mrivol/core/volume.hpp"
#include "mrivol/io/image.hpp"
#include "synth_dicom.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using mrivol_test::TempDir;

namespace {

std::string bytes_of(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
void put_bytes(const std::string& p, const std::string& b) { std::ofstream(p, std::ios::binary) << b; }

std::vector<mrivol_test::SynthSlice> stack3(unsigned rows = 16, unsigned cols = 16) {
  auto st = mrivol_test::make_stack(6, {-10, -10, -5}, {1, 0, 0, 0, 1, 0}, 2.0, rows, cols);
  for (std::size_t i = 0; i < st.size(); ++i)
    st[i].sop_uid = st[i].series_uid + ".7." + std::to_string(i + 1);
  return st;
}

/// Write a stack, then edit file `which` (or all with which < 0) through DCMTK.
std::string edited_series(const std::string& dir, int which, const std::function<void(DcmDataset*)>& edit) {
  const auto st = stack3();
  mrivol_test::write_stack(dir, st);
  int i = 0;
  for (const auto& e : fs::directory_iterator(dir)) (void)e, ++i;
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  for (int k = 0; k < static_cast<int>(files.size()); ++k) {
    if (which >= 0 && k != which) continue;
    DcmFileFormat ff;
    if (ff.loadFile(files[k].c_str()).bad()) throw std::runtime_error("cannot reload " + files[k]);
    edit(ff.getDataset());
    if (ff.saveFile(files[k].c_str(), EXS_LittleEndianExplicit).bad())
      throw std::runtime_error("cannot save " + files[k]);
  }
  return dir;
}

/// A non-image DICOM object (SR, presentation state, DICOMDIR-like) in `dir`.
std::string non_image(const std::string& dir, const char* sop_class, const std::string& name) {
  fs::create_directories(dir);
  DcmFileFormat ff;
  DcmDataset* ds = ff.getDataset();
  ds->putAndInsertString(DCM_SOPClassUID, sop_class);
  ds->putAndInsertString(DCM_SOPInstanceUID, "1.2.826.0.1.3680043.8.498.999.1");
  ds->putAndInsertString(DCM_StudyInstanceUID, "1.2.826.0.1.3680043.8.498.999.2");
  ds->putAndInsertString(DCM_SeriesInstanceUID, "1.2.826.0.1.3680043.8.498.999.3");
  ds->putAndInsertString(DCM_Modality, std::string(sop_class) == UID_BasicTextSRStorage ? "SR" : "PR");
  ds->putAndInsertString(DCM_PatientName, "Doe^Jane");
  const std::string path = dir + "/" + name;
  if (ff.saveFile(path.c_str(), EXS_LittleEndianExplicit).bad())
    throw std::runtime_error("cannot write " + path);
  return dir;
}

struct Outcome {
  int code = -1;
  std::string err;
  long max_rss_kb = 0;
};

/// Run a tool (optionally as another user), with its peak memory.
Outcome run(const std::string& tool, const std::string& args, const TempDir& scratch,
            bool as_nobody = false) {
  const std::string e = scratch / ".stderr";
  std::string cmd = std::string(MRIVOL_TOOLS_DIR) + "/" + tool + " " + args + " -q 2>" + e + " >/dev/null";
  if (as_nobody) cmd = "setpriv --reuid=65534 --regid=65534 --clear-groups sh -c '" + cmd + "'";
  const pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int st = 0;
  struct rusage ru {};
  wait4(pid, &st, 0, &ru);
  Outcome o;
  o.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  o.err = mrivol_test::slurp(e);
  o.max_rss_kb = ru.ru_maxrss;
  fs::remove(e);
  return o;
}

struct Case {
  std::string name;
  std::string input;                  ///< the bad input
  std::string mentions;               ///< what the error line must name
  std::map<std::string, int> expect;  ///< tool -> exit code (tools absent: not applicable)
};

class Corpus : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // one folder per process: CTest runs each test of this suite in its own
    // process, in parallel
    dir_ = new TempDir("robustness_" + std::to_string(getpid()));
    const TempDir& d = *dir_;
    // A good scan for the other side of register/compare.
    const auto r = mrivol_test::run_tool(
        "mrivol-phantom", "--out " + (d / "good") + " --preset small --seed 3 --no-previews -q", d);
    ASSERT_EQ(r.code, 0) << r.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static TempDir* dir_;
  // A failed set-up fails every test (instead of gtest's silent skip).
  void SetUp() override { ASSERT_TRUE(fs::is_directory((*dir_) / "good/pre")) << "phantom set-up failed"; }

  /// Run `c` through every tool it names; assert code, one error line naming
  /// the input, no output, earlier output kept.
  void check(const Case& c) {
    const TempDir& d = *dir_;
    const std::string good = d / "good/pre";
    for (const auto& [tool, code] : c.expect) {
      SCOPED_TRACE(c.name + " / " + tool);
      const std::string out = d / ("out_" + c.name + "_" + tool);
      fs::remove_all(out);
      std::string args;
      if (tool == "mrivol-load") args = c.input + " -o " + out + "/scan.nii.gz";
      if (tool == "mrivol-segment") args = c.input + " --out " + out;
      if (tool == "mrivol-register") args = good + " " + c.input + " --out " + out;
      if (tool == "mrivol-compare") args = "--pre " + good + " --post " + c.input + " --out " + out;
      if (tool == "mrivol-load") fs::create_directories(out);
      const Outcome o = run(tool, args, d);
      EXPECT_EQ(o.code, code) << o.err;
      EXPECT_EQ(mrivol_test::count_lines(o.err), 1u) << o.err;
      EXPECT_EQ(o.err.rfind(tool + ": error: ", 0), 0u) << o.err;
      EXPECT_NE(o.err.find(c.mentions), std::string::npos)
          << "error does not name " << c.mentions << ": " << o.err;
      EXPECT_LT(o.max_rss_kb, 600 * 1024) << "peak memory " << o.max_rss_kb << " KiB";
      if (tool == "mrivol-load")
        EXPECT_TRUE(fs::is_empty(out)) << "partial output left in " << out;
      else
        EXPECT_FALSE(fs::exists(out)) << "output folder created: " << out;
      // With --force over an earlier result, the earlier result survives.
      if (tool != "mrivol-load") {
        fs::create_directories(out);
        put_bytes(out + "/earlier.txt", "earlier result\n");
        const Outcome o2 = run(tool, args + " --force", d);
        EXPECT_EQ(o2.code, code) << o2.err;
        EXPECT_EQ(bytes_of(out + "/earlier.txt"), "earlier result\n");
        std::size_t n = 0;
        for (const auto& e : fs::directory_iterator(out)) (void)e, ++n;
        EXPECT_EQ(n, 1u) << "files added to " << out;
        for (const auto& e : fs::directory_iterator(d.str()))
          EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos)
              << "temporary left: " << e.path();
        fs::remove_all(out);
      }
    }
  }
};
TempDir* Corpus::dir_ = nullptr;

const std::map<std::string, int> all_tools(int code) {
  return {
      {"mrivol-load", code}, {"mrivol-segment", code}, {"mrivol-register", code}, {"mrivol-compare", code}};
}

TEST_F(Corpus, FoldersWithoutImages) {
  const TempDir& d = *dir_;
  fs::create_directories(d / "empty");
  check({"empty", d / "empty", "empty", all_tools(4)});

  fs::create_directories(d / "text");
  put_bytes(d / "text/notes.txt", "scan notes\n");
  put_bytes(d / "text/picture.png", "\x89PNG\r\n\x1a\n0000");
  check({"non_dicom", d / "text", "text", all_tools(4)});

  fs::create_directories(d / "zero");
  put_bytes(d / "zero/IMG0001.dcm", "");
  check({"zero_byte", d / "zero", "zero", all_tools(4)});

  non_image(d / "sr", UID_BasicTextSRStorage, "SR0001.dcm");
  check({"structured_report", d / "sr", "sr", all_tools(4)});
  non_image(d / "pr", UID_GrayscaleSoftcopyPresentationStateStorage, "PR0001.dcm");
  check({"presentation_state", d / "pr", "pr", all_tools(4)});
  non_image(d / "dicomdir", UID_MediaStorageDirectoryStorage, "DICOMDIR");
  check({"dicomdir", d / "dicomdir", "dicomdir", all_tools(4)});
}

TEST_F(Corpus, CorruptFiles) {
  const TempDir& d = *dir_;
  // truncated: every file cut in the middle of its pixel data
  edited_series(d / "trunc", -1, [](DcmDataset*) {});
  for (const auto& e : fs::directory_iterator(d / "trunc")) {
    const std::string b = bytes_of(e.path());
    put_bytes(e.path(), b.substr(0, b.size() - 200));
  }
  check({"truncated", d / "trunc", "trunc", all_tools(4)});

  // bad length: the SeriesDescription length field claims 60000 bytes
  edited_series(d / "badlen", -1,
                [](DcmDataset* ds) { ds->putAndInsertString(DCM_SeriesDescription, "MARKER"); });
  for (const auto& e : fs::directory_iterator(d / "badlen")) {
    std::string b = bytes_of(e.path());
    const std::size_t at = b.find("MARKER");
    ASSERT_NE(at, std::string::npos);
    b[at - 2] = '\x60';
    b[at - 1] = '\xea';
    put_bytes(e.path(), b);
  }
  check({"bad_length", d / "badlen", "badlen", all_tools(4)});

  // bad VR on the PixelData element
  edited_series(d / "badvr", -1, [](DcmDataset*) {});
  for (const auto& e : fs::directory_iterator(d / "badvr")) {
    std::string b = bytes_of(e.path());
    const std::string tag("\xe0\x7f\x10\x00", 4);
    const std::size_t at = b.rfind(tag);
    ASSERT_NE(at, std::string::npos);
    b[at + 4] = 'Q';
    b[at + 5] = 'Q';
    put_bytes(e.path(), b);
  }
  // DCMTK reads an element with an unknown VR by its length: the series loads
  // with the same values as the intact one
  {
    fs::create_directories(d / "intact");
    mrivol_test::write_stack(d / "intact", stack3());
    auto r1 = mrivol_test::run_tool("mrivol-load", (d / "badvr") + " -o " + (d / "badvr.nii.gz") + " -q", d);
    auto r2 =
        mrivol_test::run_tool("mrivol-load", (d / "intact") + " -o " + (d / "intact.nii.gz") + " -q", d);
    ASSERT_EQ(r1.code, 0) << r1.err;
    ASSERT_EQ(r2.code, 0) << r2.err;
    const auto a = mrivol::io::read_image(d / "badvr.nii.gz"),
               b = mrivol::io::read_image(d / "intact.nii.gz");
    EXPECT_TRUE(std::equal(a.data.begin(), a.data.end(), b.data.begin(), b.data.end()));
  }

  // a header claiming a huge matrix over a tiny pixel data element: refused
  // before anything is allocated (peak memory is checked by check())
  edited_series(d / "huge", -1, [](DcmDataset* ds) {
    ds->putAndInsertUint16(DCM_Rows, 60000);
    ds->putAndInsertUint16(DCM_Columns, 60000);
    ds->putAndInsertString(DCM_NumberOfFrames, "1000");
  });
  check({"huge_dimensions", d / "huge", "huge", all_tools(4)});
}

TEST_F(Corpus, UnusableGeometryAndImages) {
  const TempDir& d = *dir_;
  edited_series(d / "rgb", -1, [](DcmDataset* ds) {
    ds->putAndInsertString(DCM_SOPClassUID, UID_SecondaryCaptureImageStorage);
    ds->putAndInsertUint16(DCM_SamplesPerPixel, 3);
    ds->putAndInsertString(DCM_PhotometricInterpretation, "RGB");
    ds->putAndInsertUint16(DCM_PlanarConfiguration, 0);
    ds->putAndInsertUint16(DCM_BitsAllocated, 8);
    ds->putAndInsertUint16(DCM_BitsStored, 8);
    ds->putAndInsertUint16(DCM_HighBit, 7);
    std::vector<Uint8> px(16 * 16 * 3, 100);
    ds->putAndInsertUint8Array(DCM_PixelData, px.data(), px.size());
  });
  check({"rgb_secondary_capture", d / "rgb", "colour", all_tools(4)});

  edited_series(d / "noipp", 2, [](DcmDataset* ds) { delete ds->remove(DCM_ImagePositionPatient); });
  check({"missing_ipp", d / "noipp", "ImagePositionPatient", all_tools(4)});

  edited_series(d / "badiop", -1, [](DcmDataset* ds) {
    ds->putAndInsertString(DCM_ImageOrientationPatient, "1\\0\\0\\1\\0\\0");
  });
  check({"degenerate_iop", d / "badiop", "ImageOrientationPatient", all_tools(4)});

  edited_series(d / "zerosp", -1, [](DcmDataset* ds) { ds->putAndInsertString(DCM_PixelSpacing, "0\\0"); });
  check({"zero_spacing", d / "zerosp", "PixelSpacing", all_tools(4)});
  edited_series(d / "negsp", -1,
                [](DcmDataset* ds) { ds->putAndInsertString(DCM_PixelSpacing, "-0.5\\-0.5"); });
  check({"negative_spacing", d / "negsp", "PixelSpacing", all_tools(4)});

  // a single slice loads (mrivol-load), but is no scan to segment or register
  fs::create_directories(d / "single");
  mrivol_test::write_stack(d / "single", {stack3()[0]});
  check({"single_slice",
         d / "single",
         "single",
         {{"mrivol-segment", 3}, {"mrivol-register", 3}, {"mrivol-compare", 3}}});
}

TEST_F(Corpus, InconsistentSeries) {
  const TempDir& d = *dir_;
  // one slice with another matrix / another pixel spacing: split off as its
  // own image set, so the folder holds two and the tools ask which one
  {
    auto st = stack3();
    st[3].rows = 12;
    fs::create_directories(d / "matrix");
    mrivol_test::write_stack(d / "matrix", st);
  }
  check({"mixed_matrix", d / "matrix", "matrix", all_tools(4)});
  {
    auto st = stack3();
    st[3].row_spacing = st[3].col_spacing = 0.7;
    fs::create_directories(d / "spacing");
    mrivol_test::write_stack(d / "spacing", st);
  }
  check({"mixed_spacing", d / "spacing", "spacing", all_tools(4)});
}

TEST_F(Corpus, NonFiniteImagesAndTransforms) {
  const TempDir& d = *dir_;
  mrivol::Volume v;
  v.geom.size = {32, 32, 16};
  v.geom.spacing = {1, 1, 1};
  v.data.assign(32 * 32 * 16, 100.0f);
  v.data[1000] = std::numeric_limits<float>::quiet_NaN();
  v.data[2000] = std::numeric_limits<float>::infinity();
  mrivol::io::WriteOptions as_float;
  as_float.keep_integer_storage = false;
  mrivol::io::write_image(v, d / "nan.nii.gz", as_float);
  check({"nan_image",
         d / "nan.nii.gz",
         "nan.nii.gz",
         {{"mrivol-segment", 3}, {"mrivol-register", 3}, {"mrivol-compare", 3}}});

  put_bytes(d / "nan.tfm",
            "#Insight Transform File V1.0\n#Transform 0\nTransform: VersorRigid3DTransform_double_3_3\n"
            "Parameters: 0 0 nan 1 2 3\nFixedParameters: 0 0 0\n");
  const std::string out = d / "out_nan_tfm";
  const Outcome o =
      run("mrivol-register",
          (d / "good/pre") + " " + (d / "good/post") + " --init " + (d / "nan.tfm") + " --out " + out, d);
  EXPECT_EQ(o.code, 3) << o.err;
  EXPECT_EQ(mrivol_test::count_lines(o.err), 1u) << o.err;
  EXPECT_NE(o.err.find("nan.tfm"), std::string::npos) << o.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(Corpus, MasksOnAnotherGrid) {
  const TempDir& d = *dir_;
  mrivol::Volume m;
  m.geom.size = {20, 20, 10};
  m.geom.spacing = {2, 2, 2};
  m.data.assign(20 * 20 * 10, 1.0f);
  mrivol::io::write_image(m, d / "mask_other_grid.nii.gz");
  const std::string mask = d / "mask_other_grid.nii.gz";
  // A label map drawn on another grid (ITK-SNAP, Slicer) is measured after
  // nearest-neighbour resampling onto the scan, with a warning.
  const std::string out = d / "out_mask_measure";
  Outcome o = run("mrivol-segment", (d / "good/pre") + " --measure " + mask + " --out " + out, d);
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.err.find("another grid"), std::string::npos) << o.err;
  // An ROI mask is read in PRE's physical space, on any grid; one that lies
  // entirely outside PRE's field of view is refused.
  m.geom.origin = {5000, 5000, 5000};
  mrivol::io::WriteOptions over;
  over.overwrite = true;
  mrivol::io::write_image(m, mask, over);
  const std::string out2 = d / "out_mask_roi";
  o = run("mrivol-compare",
          "--pre " + (d / "good/pre") + " --post " + (d / "good/post") + " --roi " + mask + " --out " + out2,
          d);
  EXPECT_EQ(o.code, 3) << o.err;
  EXPECT_EQ(mrivol_test::count_lines(o.err), 1u) << o.err;
  EXPECT_NE(o.err.find("mask_other_grid"), std::string::npos) << o.err;
  EXPECT_FALSE(fs::exists(out2));
}

TEST_F(Corpus, UnreadableFiles) {
  const TempDir& d = *dir_;
  fs::create_directories(d / "locked");
  mrivol_test::write_stack(d / "locked", stack3());
  for (const auto& e : fs::directory_iterator(d / "locked")) fs::permissions(e.path(), fs::perms::none);
  // root reads anything: run the tools as nobody then
  const bool as_nobody = geteuid() == 0;
  fs::permissions(d.str(), fs::perms::all, fs::perm_options::add);
  const std::string out = d / "out_locked";
  const Outcome o = run("mrivol-load", (d / "locked") + " -o " + out + ".nii.gz", d, as_nobody);
  EXPECT_EQ(o.code, 4) << o.err;
  EXPECT_EQ(mrivol_test::count_lines(o.err), 1u) << o.err;
  EXPECT_NE(o.err.find("locked"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("ermission"), std::string::npos) << "error does not say why: " << o.err;
  EXPECT_FALSE(fs::exists(out + ".nii.gz"));
}

TEST_F(Corpus, OutputNotWritable) {
  const TempDir& d = *dir_;
  put_bytes(d / "a_file", "x");
  const std::string good = d / "good/pre";
  for (const std::string tool : {"mrivol-load", "mrivol-segment", "mrivol-compare"}) {
    SCOPED_TRACE(tool);
    const std::string out = d / "a_file/sub";
    std::string args = tool == "mrivol-load" ? good + " -o " + out + "/x.nii.gz"
                       : tool == "mrivol-segment"
                           ? good + " --out " + out
                           : "--pre " + good + " --post " + (d / "good/post") + " --out " + out;
    const Outcome o = run(tool, args, d);
    EXPECT_EQ(o.code, 6) << o.err;
    EXPECT_EQ(mrivol_test::count_lines(o.err), 1u) << o.err;
    EXPECT_NE(o.err.find("a_file"), std::string::npos) << o.err;
  }
}

TEST_F(Corpus, DifferentPatientsWarnOrRefuseUnderStrict) {
  const TempDir& d = *dir_;
  // another phantom: another PatientID (and frame of reference)
  auto r = mrivol_test::run_tool("mrivol-phantom",
                                 "--out " + (d / "other") + " --preset small --seed 4 --no-previews -q", d);
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string pre = d / "good/pre", post = d / "other/post";
  const Outcome o =
      run("mrivol-compare", "--pre " + pre + " --post " + post + " --out " + (d / "strict") + " --strict", d);
  EXPECT_EQ(o.code, 3) << o.err;
  EXPECT_EQ(mrivol_test::count_lines(o.err), 1u) << o.err;
  EXPECT_NE(o.err.find("different patients"), std::string::npos) << o.err;
  EXPECT_EQ(o.err.find("MRIVOL-PHANTOM"), std::string::npos) << "identifier in the message: " << o.err;
  EXPECT_FALSE(fs::exists(d / "strict"));
  // without --strict: a warning, in registration.json too, and the result
  r = mrivol_test::run_tool("mrivol-register", pre + " " + post + " --out " + (d / "reg"), d);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("different patients"), std::string::npos) << r.err;
  EXPECT_NE(mrivol_test::slurp(d / "reg/registration.json").find("different patients"), std::string::npos);
}

}  // namespace
