// mrivol-register run as a user runs it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "mrivol/io/transform_file.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using mrivol_test::TempDir;

namespace {

TEST(CliRegister, RegistersAPhantomPairFromDicomFolders) {
  TempDir d("cli_register");
  auto r = mrivol_test::run_tool("mrivol-phantom",
                                 "--out " + (d / "pair") + " --preset small --no-previews -q", d);
  ASSERT_EQ(r.code, 0) << r.err;
  r = mrivol_test::run_tool("mrivol-register",
                            (d / "pair/pre") + " " + (d / "pair/post") + " --out " + (d / "reg"), d);
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* f : {"transform.tfm", "registered.nii.gz", "registration.json", "qc_before.png",
                        "qc_after.png", "provenance.json"})
    EXPECT_TRUE(fs::exists(d / ("reg/" + std::string(f)))) << f;
  std::ifstream jf(d / "reg/registration.json");
  const auto j = nlohmann::json::parse(jf);
  EXPECT_EQ(j["schema"], "mrivol.register/1");
  EXPECT_LT(j["metric"]["after"].get<double>(), j["metric"]["before"].get<double>());
  const mrivol::Transform t = mrivol::io::read_transform(d / "reg/transform.tfm");
  for (int i = 0; i < 3; ++i)
    EXPECT_NEAR(t.translation[i], j["transform"]["translation_mm"][i].get<double>(), 1e-6);
  // The true motion (3 degrees) was found.
  EXPECT_NEAR(j["transform"]["rotation_deg"].get<double>(), 3.0, 0.2);
  EXPECT_NE(r.err.find("rigid"), std::string::npos);  // summary on stderr, stdout clean
  EXPECT_TRUE(r.out.empty());
}

TEST(CliRegister, BadInputsAndOptions) {
  TempDir d("cli_register_bad");
  auto r =
      mrivol_test::run_tool("mrivol-register", (d / "nope") + " " + (d / "nope2") + " --out " + (d / "o"), d);
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(mrivol_test::count_lines(r.err), 1u) << r.err;
  r = mrivol_test::run_tool("mrivol-register", "a b", d);
  EXPECT_EQ(r.code, 2);  // no --out
  fs::create_directories(d / "exists");
  r = mrivol_test::run_tool("mrivol-register", "a b --out " + (d / "exists"), d);
  EXPECT_EQ(r.code, 6);
  r = mrivol_test::run_tool("mrivol-register", "a b --out " + (d / "o") + " --shrink 4,x", d);
  EXPECT_EQ(r.code, 2);
  // Stage and level options are refused before any input is read.
  for (const std::string bad : {"--stages affine", "--stages rigid,bspline,affine", "--stages rigid,demons",
                                "--stages rigid,bspline --bspline-spacing 2", "--shrink 6,3 --smooth 1",
                                "--samples 10", "--bspline-iterations 0 --stages rigid,bspline"}) {
    r = mrivol_test::run_tool("mrivol-register", "a b --out " + (d / "o") + " " + bad, d);
    EXPECT_EQ(r.code, 2) << bad;
    EXPECT_EQ(mrivol_test::count_lines(r.err), 1u) << bad << ": " << r.err;
  }
  EXPECT_FALSE(fs::exists(d / "o"));
}

}  // namespace
