// Determinism across thread counts and repeated runs, and tools writing into
// one output folder at the same time.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "test_support.hpp"

namespace fs = std::filesystem;
using mrivol_test::TempDir;

namespace {

/// Every number of two reports agrees to `rel` (relative); run-time fields
/// (seconds, threads) are skipped. Returns the paths that differ.
void compare_json(const nlohmann::json& a, const nlohmann::json& b, const std::string& path, double rel,
                  std::vector<std::string>& diffs) {
  static const std::set<std::string> skip = {"seconds", "stage_seconds", "threads", "time_s", "command_line"};
  if (a.type() != b.type()) {
    diffs.push_back(path + " (type)");
    return;
  }
  if (a.is_object()) {
    for (auto it = a.begin(); it != a.end(); ++it) {
      if (skip.count(it.key())) continue;
      if (!b.contains(it.key())) {
        diffs.push_back(path + "/" + it.key() + " (missing)");
        continue;
      }
      compare_json(it.value(), b[it.key()], path + "/" + it.key(), rel, diffs);
    }
  } else if (a.is_array()) {
    if (a.size() != b.size()) {
      diffs.push_back(path + " (size)");
      return;
    }
    for (std::size_t i = 0; i < a.size(); ++i)
      compare_json(a[i], b[i], path + "/" + std::to_string(i), rel, diffs);
  } else if (a.is_number()) {
    const double x = a.get<double>(), y = b.get<double>();
    if (std::fabs(x - y) > rel * std::max({1.0, std::fabs(x), std::fabs(y)}))
      diffs.push_back(path + " " + std::to_string(x) + " vs " + std::to_string(y));
  } else if (a != b) {
    diffs.push_back(path);
  }
}

/// Run shell commands at the same time, each commit slowed down (a fault
/// injected to widen the window where unlocked writers would collide);
/// returns their exit codes.
std::vector<int> run_together(const std::vector<std::string>& cmds, const TempDir& d) {
  std::string script;
  for (std::size_t i = 0; i < cmds.size(); ++i)
    script += "(MRIVOL_FAULT_COMMIT_DELAY_MS=100 " + cmds[i] + " >/dev/null 2>" +
              (d / (".err" + std::to_string(i))) + "; echo $? >" + (d / (".rc" + std::to_string(i))) +
              ") &\n";
  script += "wait\n";
  std::ofstream(d / ".together.sh") << script;
  EXPECT_EQ(std::system(("bash " + (d / ".together.sh")).c_str()), 0);
  std::vector<int> codes;
  for (std::size_t i = 0; i < cmds.size(); ++i) {
    codes.push_back(std::atoi(mrivol_test::read_bytes(d / (".rc" + std::to_string(i))).c_str()));
    const std::string err = mrivol_test::read_bytes(d / (".err" + std::to_string(i)));
    EXPECT_TRUE(err.empty()) << cmds[i] << ": " << err;
  }
  return codes;
}

std::vector<std::string> leftovers(const std::string& dir) {
  std::vector<std::string> v;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    if (n.find(".tmp-") != std::string::npos || n.find(".old-") != std::string::npos) v.push_back(n);
  }
  return v;
}

const std::string tools = MRIVOL_TOOLS_DIR;

TEST(Determinism, ComparisonIsTheSameWhateverTheThreadCount) {
  TempDir d("det_threads");
  auto r = mrivol_test::run_tool("mrivol-phantom",
                                 "--out " + (d / "pair") + " --preset small --seed 5 --no-previews -q", d);
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string io = "--pre " + (d / "pair/pre") + " --post " + (d / "pair/post") + " -q";
  // one and two threads at the same time, then two threads again
  const auto codes = run_together({tools + "/mrivol-compare " + io + " --out " + (d / "t1") + " --threads 1",
                                   tools + "/mrivol-compare " + io + " --out " + (d / "t2") + " --threads 2"},
                                  d);
  ASSERT_EQ(codes, (std::vector<int>{0, 0}));
  r = mrivol_test::run_tool("mrivol-compare", io + " --out " + (d / "t2b") + " --threads 2", d);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j1 = nlohmann::json::parse(mrivol_test::read_bytes(d / "t1/report.json"));
  for (const char* other : {"t2", "t2b"}) {
    SCOPED_TRACE(other);
    const auto j2 = nlohmann::json::parse(mrivol_test::read_bytes(d / (std::string(other) + "/report.json")));
    // The stated tolerance (README): every reported number to 1e-9 relative;
    // in practice they are bit-identical.
    std::vector<std::string> diffs;
    compare_json(j1, j2, "", 1e-9, diffs);
    EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
    for (const char* f : {"pre_plexus.nii.gz", "post_plexus.nii.gz", "pre_plexus_soft.nii.gz",
                          "post_plexus_soft.nii.gz", "transform.tfm"})
      EXPECT_EQ(mrivol_test::read_bytes(d / ("t1/" + std::string(f))),
                mrivol_test::read_bytes(d / (std::string(other) + "/" + f)))
          << f;
  }
  EXPECT_EQ(j1["threads"], 1);
}

/// Many mrivol-load runs write the same image + sidecar names at once: the
/// pair left behind is always from one run (never one run's image with
/// another's sidecar), and nothing temporary is left.
TEST(Concurrency, LoadsIntoTheSameOutputNeverMixTheirFiles) {
  TempDir d("conc_load");
  auto r = mrivol_test::run_tool("mrivol-phantom",
                                 "--out " + (d / "pair") + " --preset small --seed 6 --no-previews -q", d);
  ASSERT_EQ(r.code, 0) << r.err;
  // Reference outputs, one run at a time, under the same file name.
  for (const char* s : {"pre", "post"}) {
    fs::create_directories(d / ("ref_" + std::string(s)));
    r = mrivol_test::run_tool(
        "mrivol-load",
        (d / ("pair/" + std::string(s))) + " -o " + (d / ("ref_" + std::string(s) + "/img.nii.gz")) + " -q",
        d);
    ASSERT_EQ(r.code, 0) << r.err;
  }
  fs::create_directories(d / "out");
  for (int round = 0; round < 6; ++round) {
    SCOPED_TRACE(round);
    std::vector<std::string> cmds;
    for (int i = 0; i < 6; ++i)
      cmds.push_back(tools + "/mrivol-load " + (d / (i % 2 ? "pair/post" : "pair/pre")) + " -o " +
                     (d / "out/img.nii.gz") + " --force -q");
    const auto codes = run_together(cmds, d);
    for (int c : codes) EXPECT_EQ(c, 0);
    const std::string img = mrivol_test::read_bytes(d / "out/img.nii.gz"),
                      side = mrivol_test::read_bytes(d / "out/img.json");
    const bool pre = img == mrivol_test::read_bytes(d / "ref_pre/img.nii.gz");
    const bool post = img == mrivol_test::read_bytes(d / "ref_post/img.nii.gz");
    ASSERT_TRUE(pre || post) << "the image is from no single run";
    EXPECT_EQ(side, mrivol_test::read_bytes(d / (pre ? "ref_pre/img.json" : "ref_post/img.json")))
        << "image and sidecar come from different runs";
    EXPECT_TRUE(leftovers(d / "out").empty());
  }
}

/// Different tools given the same --out folder at the same time: each run
/// either completes or fails cleanly; the folder left is one run's complete
/// output set, and nothing temporary is left beside it.
TEST(Concurrency, ToolsIntoTheSameFolderLeaveOneCompleteResult) {
  TempDir d("conc_tools");
  auto r = mrivol_test::run_tool("mrivol-phantom",
                                 "--out " + (d / "pair") + " --preset small --seed 7 --no-previews -q", d);
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string pre = d / "pair/pre", post = d / "pair/post", out = d / "res/out";
  fs::create_directories(d / "res");
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round);
    const auto codes = run_together(
        {tools + "/mrivol-segment " + pre + " --out " + out + " --force -q --threads 1",
         tools + "/mrivol-segment " + post + " --out " + out + " --force -q --threads 1",
         tools + "/mrivol-register " + pre + " " + post + " --out " + out + " --force -q --threads 1"},
        d);
    for (int c : codes) EXPECT_EQ(c, 0);
    const bool seg = fs::exists(out + "/segmentation.json"), reg = fs::exists(out + "/registration.json");
    EXPECT_NE(seg, reg) << "the folder mixes both tools' outputs";
    for (const auto& e : fs::directory_iterator(out)) {
      if (e.path().extension() == ".json") {
        EXPECT_NO_THROW(nlohmann::json::parse(mrivol_test::read_bytes(e.path().string())));
      }
    }
    const std::vector<std::string> seg_files = {"plexus.nii.gz", "plexus_soft.nii.gz", "canal.nii.gz",
                                                "levels.nii.gz"};
    const std::vector<std::string> reg_files = {"transform.tfm", "registered.nii.gz"};
    for (const auto& f : seg ? seg_files : reg_files) EXPECT_TRUE(fs::exists(out + "/" + f)) << f;
    EXPECT_TRUE(leftovers(d / "res").empty());
    std::size_t entries = 0;
    for (const auto& e : fs::directory_iterator(d / "res")) entries += !e.path().empty();
    EXPECT_EQ(entries, 1u);  // only out/
  }
  // Fast folder writers (de-identified copies, ~0.1 s each) collide often:
  // six at once into one folder, a few times over.
  const std::string share = d / "res/share";
  std::ofstream(d / "key") << "k\n";
  for (int round = 0; round < 4; ++round) {
    SCOPED_TRACE(round);
    std::vector<std::string> cmds;
    for (int i = 0; i < 6; ++i)
      cmds.push_back(tools + "/mrivol-load " + (i % 2 ? post : pre) + " --deidentify " + share +
                     " --pseudonym sub-01 --deid-key-file " + (d / "key") + " --force -q");
    const auto codes = run_together(cmds, d);
    for (int c : codes) EXPECT_EQ(c, 0);
    const auto j = nlohmann::json::parse(mrivol_test::read_bytes(share + "/deidentification.json"));
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(share)) n += e.path().extension() == ".dcm";
    EXPECT_EQ(n, j["files"].get<std::size_t>());
    EXPECT_TRUE(leftovers(d / "res").empty());
  }
}

}  // namespace
