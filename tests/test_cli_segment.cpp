// mrivol-segment run as a user runs it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "mrivol/io/image.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using mrivol_test::TempDir;

namespace {

nlohmann::json load(const std::string& p) {
  std::ifstream f(p);
  return nlohmann::json::parse(f);
}

TEST(CliSegment, SegmentsAPhantomScanFromDicomAndMeasuresMasks) {
  TempDir d("cli_segment");
  auto r = mrivol_test::run_tool(
      "mrivol-phantom", "--out " + (d / "pair") + " --acquisition iso3d --seed 21 --no-previews -q", d);
  ASSERT_EQ(r.code, 0) << r.err;
  r = mrivol_test::run_tool("mrivol-segment", (d / "pair/pre") + " --out " + (d / "seg"), d);
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* f :
       {"plexus.nii.gz", "plexus_soft.nii.gz", "canal.nii.gz", "thecal_sac.nii.gz", "levels.nii.gz",
        "segmentation.json", "qc_sagittal.png", "qc_axial.png", "provenance.json"})
    EXPECT_TRUE(fs::exists(d / ("seg/" + std::string(f)))) << f;
  const auto j = load(d / "seg/segmentation.json");
  const auto t = load(d / "pair/truth/truth.json");
  EXPECT_EQ(j["schema"], "mrivol.segment/1");
  const double truth = t["plexus_volume_mm3"]["pre"].get<double>();
  EXPECT_NEAR(j["plexus_volume_soft_mm3"].get<double>(), truth, 0.05 * truth);
  EXPECT_NEAR(j["plexus_volume_mm3"].get<double>(), truth, 0.08 * truth);
  EXPECT_EQ(j["levels"].size(), 5u);
  EXPECT_EQ(j["levels"][4]["level"], "L5-S1");
  EXPECT_TRUE(j["levels"][4].contains("dural_sac_area_mm2"));
  // The contrast came from the DICOM metadata (TE/TR).
  EXPECT_NE(j["model"]["contrast_source"].get<std::string>().find("metadata"), std::string::npos);
  EXPECT_EQ(j["model"]["veins"], "dark");
  EXPECT_NE(r.err.find("plexus"), std::string::npos);  // the summary on stderr, stdout clean
  EXPECT_TRUE(r.out.empty());
  // The binary mask holds exactly the voxels counted.
  const auto m = mrivol::io::read_image(d / "seg/plexus.nii.gz");
  double n = 0;
  for (float x : m.data) n += x > 0.5f;
  const double vox = m.geom.spacing[0] * m.geom.spacing[1] * m.geom.spacing[2];
  EXPECT_NEAR(n * vox, j["plexus_volume_mm3"].get<double>(), 1e-6);

  // --measure: the mask alone (total only), and with the scan (per level).
  r = mrivol_test::run_tool("mrivol-segment",
                            "--measure " + (d / "seg/plexus.nii.gz") + " --out " + (d / "m1"), d);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto m1 = load(d / "m1/segmentation.json");
  EXPECT_NEAR(m1["plexus_volume_mm3"].get<double>(), j["plexus_volume_mm3"].get<double>(), 1e-6);
  r = mrivol_test::run_tool(
      "mrivol-segment", (d / "pair/pre") + " --measure " + (d / "seg/plexus.nii.gz") + " --out " + (d / "m2"),
      d);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto m2 = load(d / "m2/segmentation.json");
  for (int l = 0; l < 5; ++l)
    EXPECT_NEAR(m2["levels"][l]["plexus_volume_mm3"].get<double>(),
                j["levels"][l]["plexus_volume_mm3"].get<double>(), 1e-6);

  // Earlier results are never lost: an existing output folder is refused.
  r = mrivol_test::run_tool("mrivol-segment", (d / "pair/pre") + " --out " + (d / "seg"), d);
  EXPECT_EQ(r.code, 6);
  EXPECT_TRUE(fs::exists(d / "seg/segmentation.json"));
}

TEST(CliSegment, BadInputsAndOptions) {
  TempDir d("cli_segment_bad");
  auto r = mrivol_test::run_tool("mrivol-segment", (d / "nope") + " --out " + (d / "o"), d);
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(mrivol_test::count_lines(r.err), 1u) << r.err;
  r = mrivol_test::run_tool("mrivol-segment", "--out " + (d / "o"), d);
  EXPECT_EQ(r.code, 2);  // neither SCAN nor --measure
  r = mrivol_test::run_tool("mrivol-segment", "x.nii.gz --out " + (d / "o") + " --levels L6-S1", d);
  EXPECT_EQ(r.code, 2);
  r = mrivol_test::run_tool("mrivol-segment", "x.nii.gz --out " + (d / "o") + " --roi-box 1,2,3", d);
  EXPECT_EQ(r.code, 2);
  r = mrivol_test::run_tool("mrivol-segment", "x.nii.gz --out " + (d / "o") + " --veins purple", d);
  EXPECT_EQ(r.code, 2);
  // An image with no spine in it: exit 5, one line, nothing written.
  mrivol::Volume v;
  v.geom.size = {64, 64, 40};
  v.geom.spacing = {2, 2, 2};
  v.data.assign(v.geom.voxels(), 500.0f);
  mrivol::io::write_image(v, d / "flat.nii.gz");
  r = mrivol_test::run_tool("mrivol-segment", (d / "flat.nii.gz") + " --contrast t2 --out " + (d / "o"), d);
  EXPECT_EQ(r.code, 5) << r.err;
  EXPECT_EQ(mrivol_test::count_lines(r.err), 1u) << r.err;
  EXPECT_FALSE(fs::exists(d / "o"));
}

}  // namespace
