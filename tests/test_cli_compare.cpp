// mrivol-compare run as a user runs it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace fs = std::filesystem;
using mrivol_test::TempDir;

namespace {

TEST(CliCompare, ComparesTheCasePairFromDicom) {
  TempDir d("cli_compare");
  auto r =
      mrivol_test::run_tool("mrivol-phantom", "--out " + (d / "pair") + " --preset case --no-previews -q", d);
  ASSERT_EQ(r.code, 0) << r.err;
  r = mrivol_test::run_tool(
      "mrivol-compare",
      "--pre " + (d / "pair/pre") + " --post " + (d / "pair/post") + " --out " + (d / "cmp") + " --dicom-seg",
      d);
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* f : {"report.json", "report.csv", "report.html", "pre_plexus.nii.gz", "post_plexus.nii.gz",
                        "transform.tfm", "qc_registration.png", "provenance.json", "pre_plexus.seg.dcm",
                        "post_plexus.seg.dcm"})
    EXPECT_TRUE(fs::exists(d / ("cmp/" + std::string(f)))) << f;
  std::ifstream jf(d / "cmp/report.json");
  const auto j = nlohmann::json::parse(jf);
  EXPECT_EQ(j["schema"], "mrivol.compare/1");
  const double pre = j["pre"]["plexus_volume_mm3"], post = j["post"]["plexus_volume_mm3"];
  EXPECT_NEAR(j["change"]["percent"].get<double>(), 100 * (post - pre) / pre, 1e-9);
  EXPECT_NEAR(j["change"]["absolute_mm3"].get<double>(), post - pre, 1e-6);
  EXPECT_EQ(j["pre"]["mask"], "pre_plexus.nii.gz");
  EXPECT_EQ(j["post"]["dicom_seg"], "post_plexus.seg.dcm");
  EXPECT_EQ(j["registration"]["transform"], "transform.tfm");
  EXPECT_EQ(j["levels"].size(), 5u);
  std::ifstream tf(d / "pair/truth/truth.json");
  const auto t = nlohmann::json::parse(tf);
  EXPECT_NEAR(j["change"]["percent"].get<double>(), t["change"]["percent"].get<double>(), 5.0);
  // The CSV is a header and one row with as many fields.
  const std::string csv = mrivol_test::slurp(d / "cmp/report.csv");
  EXPECT_EQ(mrivol_test::count_lines(csv), 2u);
  const auto nl = csv.find('\n');
  const auto fields = [](const std::string& s) { return std::count(s.begin(), s.end(), ','); };
  EXPECT_EQ(fields(csv.substr(0, nl)), fields(csv.substr(nl + 1)));
  // The page is self-contained (images inline).
  const std::string html = mrivol_test::slurp(d / "cmp/report.html");
  EXPECT_NE(html.find("data:image/png;base64,"), std::string::npos);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  // A real browser loads the page without errors and decodes every image
  // (headless Chromium; the page records its own check on <body>).
  {
    const std::string dom = d / "dom.html", err = d / "chromium.err";
    const std::string cmd = "timeout 120 chromium --headless --no-sandbox --disable-gpu --user-data-dir=" +
                            (d / "chromium-profile") + " --virtual-time-budget=5000 --dump-dom file://" +
                            fs::absolute(d / "cmp/report.html").string() + " >" + dom + " 2>" + err;
    ASSERT_EQ(std::system(cmd.c_str()), 0)
        << "chromium (Debian package chromium) must be installed: " << mrivol_test::slurp(err);
    const std::string page = mrivol_test::slurp(dom);
    EXPECT_NE(page.find("data-images-loaded=\"yes\""), std::string::npos) << page.substr(0, 400);
    EXPECT_NE(page.find("data-script-errors=\"0\""), std::string::npos);
    EXPECT_EQ(mrivol_test::slurp(err).find("Uncaught"), std::string::npos);
    fs::remove_all(d / "chromium-profile");
    fs::remove(dom);
    fs::remove(err);
  }
  // No patient identifier in any output.
  for (const auto& e : fs::directory_iterator(d / "cmp")) {
    const std::string text = mrivol_test::slurp(e.path().string());
    // every identifying value the phantom's DICOM carries
    for (const char* id : {"PHANTOM^LUMBAR", "MRIVOL-PHANTOM-", "19760229", "MRIVOLACC",
                           "MRIVOL PHANTOM HOSPITAL", "REFERRER^PHANTOM", "OPERATOR^PHANTOM"})
      EXPECT_EQ(text.find(id), std::string::npos) << e.path() << " contains " << id;
  }
}

TEST(CliCompare, BadInputsAndOptions) {
  TempDir d("cli_compare_bad");
  auto r = mrivol_test::run_tool("mrivol-compare", "--pre a --out " + (d / "o"), d);
  EXPECT_EQ(r.code, 2);
  r = mrivol_test::run_tool("mrivol-compare",
                            "--pre " + (d / "nope") + " --post " + (d / "nope2") + " --out " + (d / "o"), d);
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(mrivol_test::count_lines(r.err), 1u) << r.err;
  r = mrivol_test::run_tool("mrivol-compare", "--pre a --post b --out " + (d / "o") + " --roi 1,2,3", d);
  EXPECT_EQ(r.code, 2);
  // A DICOM SEG needs DICOM inputs; identifiers only go into SEG objects.
  std::ofstream(d / "pre.nii.gz") << "x";
  r = mrivol_test::run_tool(
      "mrivol-compare", "--pre " + (d / "pre.nii.gz") + " --post b --out " + (d / "o") + " --dicom-seg", d);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("--dicom-seg needs DICOM inputs"), std::string::npos) << r.err;
  r = mrivol_test::run_tool("mrivol-compare",
                            "--pre a --post b --out " + (d / "o") + " --include-identifiers", d);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_FALSE(fs::exists(d / "o"));
}

}  // namespace
