// mrivol-phantom run as a user runs it.
#include <gtest/gtest.h>

#include <filesystem>

#include "test_support.hpp"

namespace fs = std::filesystem;
using mrivol_test::count_lines;
using mrivol_test::TempDir;

namespace {

mrivol_test::ToolRun phantom(const std::string& args, const TempDir& d) {
  return mrivol_test::run_tool("mrivol-phantom", args, d);
}

TEST(CliPhantom, WritesAPairThatMrivolLoadReads) {
  TempDir d("cli_phantom");
  const auto r = phantom("--out " + (d / "pair") + " --preset small --seed 3 -q", d);
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* f :
       {"pre", "post", "truth/truth.json", "truth/pre_plexus.nii.gz", "phantom.json", "provenance.json"})
    EXPECT_TRUE(fs::exists(d / ("pair/" + std::string(f)))) << f;
  const auto l = mrivol_test::run_tool("mrivol-load", (d / "pair/post") + " --list -q", d);
  ASSERT_EQ(l.code, 0) << l.err;
  EXPECT_EQ(count_lines(l.out), 2u);
  EXPECT_NE(l.out.find("SAG"), std::string::npos);
  // Replaying the recorded configuration gives byte-identical pixel data.
  const auto r2 = phantom("--out " + (d / "again") + " --preset " + (d / "pair/phantom.json") + " -q", d);
  ASSERT_EQ(r2.code, 0) << r2.err;
  for (const auto& e : fs::directory_iterator(d / "pair/pre")) {
    const std::string a = mrivol_test::slurp(e.path().string());
    const std::string b = mrivol_test::slurp(d / ("again/pre/" + e.path().filename().string()));
    EXPECT_EQ(a, b) << e.path();
  }
}

TEST(CliPhantom, BadArgumentsAndExistingOutput) {
  TempDir d("cli_phantom_bad");
  auto r = phantom("--preset small", d);
  EXPECT_EQ(r.code, 2);  // no --out
  r = phantom("--out " + (d / "x") + " --engorgement 9", d);
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("engorgement"), std::string::npos);
  r = phantom("--out " + (d / "x") + " --contrast pd", d);
  EXPECT_EQ(r.code, 3);
  r = phantom("--out " + (d / "x") + " --preset /no/such/file.json", d);
  EXPECT_EQ(r.code, 3);
  EXPECT_FALSE(fs::exists(d / "x"));
  fs::create_directories(d / "exists");
  r = phantom("--out " + (d / "exists") + " --preset small -q", d);
  EXPECT_EQ(r.code, 6);
  EXPECT_TRUE(fs::is_empty(d / "exists"));
  r = phantom("--out " + (d / "no/parent/here") + " --preset small -q", d);
  EXPECT_EQ(r.code, 6);
}

}  // namespace
