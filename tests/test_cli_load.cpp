// mrivol-load run as a user runs it: exit codes, one-line errors, no partial
// output, no patient identifiers.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "synth_dicom.hpp"
#include "test_support.hpp"

using mrivol_test::TempDir;
namespace fs = std::filesystem;

namespace {

struct Result {
  int code = -1;
  std::string out, err;
};

std::string slurp(const std::string& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

Result run(const std::string& args, const TempDir& d) {
  const std::string o = d / ".stdout", e = d / ".stderr";
  const std::string cmd = std::string(MRIVOL_TOOLS_DIR) + "/mrivol-load " + args + " >" + o + " 2>" + e;
  const int st = std::system(cmd.c_str());
  Result r;
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = slurp(o);
  r.err = slurp(e);
  fs::remove(o);
  fs::remove(e);
  return r;
}

std::size_t lines(const std::string& s) {
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

void make_two_series(const std::string& dir) {
  auto a = mrivol_test::make_stack(3, {0, 0, 0}, {1, 0, 0, 0, 1, 0}, 2.0);
  auto b = mrivol_test::make_stack(4, {0, 0, 0}, {0, 1, 0, 0, 0, -1}, 2.0);
  for (auto& s : b) {
    s.series_uid += ".2";
    s.series_number = 2;
    s.sop_uid += ".2";
    s.description = "t2_sag";
  }
  mrivol_test::write_stack(dir, a, "a");
  mrivol_test::write_stack(dir, b, "b");
}

TEST(CliLoad, HelpAndVersion) {
  TempDir d("cli_help");
  Result r = run("--help", d);
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("Usage: mrivol-load"), std::string::npos);
  EXPECT_NE(r.out.find("Exit codes"), std::string::npos);
  r = run("--version", d);
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("DCMTK"), std::string::npos);
}

TEST(CliLoad, UsageErrors) {
  TempDir d("cli_usage");
  EXPECT_EQ(run("", d).code, 2);
  EXPECT_EQ(run(d.str(), d).code, 2);  // neither --list nor -o
  EXPECT_EQ(run("--bogus-option x", d).code, 2);
  const Result r = run(d.str() + " -o " + (d / "x.unknown"), d);
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lines(r.err), 1u) << r.err;
}

TEST(CliLoad, MissingAndEmptyInputs) {
  TempDir d("cli_missing");
  Result r = run((d / "nope") + " --list", d);
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find(d / "nope"), std::string::npos);
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  fs::create_directories(d / "empty");
  r = run((d / "empty") + " --list", d);
  EXPECT_EQ(r.code, 4);
  EXPECT_NE(r.err.find("no loadable DICOM"), std::string::npos);
  std::ofstream(d / "junk/readme.txt", std::ios::out).flush();
  fs::create_directories(d / "junk");
  std::ofstream(d / "junk/readme.txt") << "hello";
  r = run((d / "junk") + " -o " + (d / "out.nii"), d);
  EXPECT_EQ(r.code, 4);
  EXPECT_FALSE(fs::exists(d / "out.nii"));
}

TEST(CliLoad, ListPrintsOneLinePerSeries) {
  TempDir d("cli_list");
  make_two_series(d / "in");
  const Result r = run((d / "in") + " --list -q", d);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(lines(r.out), 3u) << r.out;  // header + 2
  EXPECT_NE(r.out.find("t2_sag"), std::string::npos);
  EXPECT_NE(r.out.find("SAG"), std::string::npos);
  EXPECT_NE(r.out.find("Little Endian Explicit"), std::string::npos);
  EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST(CliLoad, SeveralSeriesWithoutChoiceIsRefused) {
  TempDir d("cli_ambiguous");
  make_two_series(d / "in");
  const Result r = run((d / "in") + " -o " + (d / "out.nii.gz"), d);
  EXPECT_EQ(r.code, 4);
  EXPECT_NE(r.err.find("--series"), std::string::npos);
  EXPECT_NE(r.err.find("t2_sag"), std::string::npos);
  EXPECT_FALSE(fs::exists(d / "out.nii.gz"));
  EXPECT_FALSE(fs::exists(d / "out.json"));
}

TEST(CliLoad, ConvertsChosenSeriesWithoutIdentifiers) {
  TempDir d("cli_convert");
  make_two_series(d / "in");
  const Result r = run((d / "in") + " -o " + (d / "sag.nii.gz") + " --series 2", d);
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_TRUE(fs::exists(d / "sag.nii.gz"));
  const std::string json = slurp(d / "sag.json");
  EXPECT_NE(json.find("\"SeriesDescription\": \"t2_sag\""), std::string::npos);
  EXPECT_NE(json.find("LPS"), std::string::npos);
  for (const char* id : {"Doe^Jane", "PID-0042", "19800101", "ACC-777", "Test Hospital Zeta"})
    EXPECT_EQ(json.find(id), std::string::npos) << id;
  // Only the two outputs, no temporaries.
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(d.str())) files += e.is_regular_file();
  EXPECT_EQ(files, 2u);
  // Identifiers only on explicit request.
  const Result r2 = run((d / "in") + " -o " + (d / "sag2.nii") + " --series 2 --include-identifiers", d);
  ASSERT_EQ(r2.code, 0) << r2.err;
  EXPECT_NE(slurp(d / "sag2.json").find("Doe^Jane"), std::string::npos);
}

TEST(CliLoad, ExistingOutputIsKeptWithoutForce) {
  TempDir d("cli_exists");
  make_two_series(d / "in");
  std::ofstream(d / "out.nii") << "earlier result";
  Result r = run((d / "in") + " -o " + (d / "out.nii") + " --series 1", d);
  EXPECT_EQ(r.code, 6);
  EXPECT_EQ(slurp(d / "out.nii"), "earlier result");
  r = run((d / "in") + " -o " + (d / "out.nii") + " --series 1 --force", d);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(slurp(d / "out.nii"), "earlier result");
}

TEST(CliLoad, UpperCaseExtensionsWork) {
  TempDir d("cli_upper");
  make_two_series(d / "in");
  const Result r = run((d / "in") + " -o " + (d / "OUT.MHA") + " --series 1", d);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(d / "OUT.MHA"));
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(d.str())) files += e.is_regular_file();
  EXPECT_EQ(files, 2u);  // OUT.MHA and OUT.json, no temporaries
}

TEST(CliLoad, UnwritableOutputFolder) {
  TempDir d("cli_unwritable");
  make_two_series(d / "in");
  const Result r = run((d / "in") + " -o " + (d / "no/such/dir/out.nii") + " --series 1", d);
  EXPECT_EQ(r.code, 6);
  EXPECT_EQ(lines(r.err), 1u) << r.err;
}

}  // namespace
