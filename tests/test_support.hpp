// Shared helpers for the tests: locating ../shared, temporary folders.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace mrivol_test {

/// ../shared/dicom beside the checkout (MRIVOL_SHARED_DIR overrides).
inline std::string shared_dicom_dir() {
  if (const char* e = std::getenv("MRIVOL_SHARED_DIR")) return std::string(e) + "/dicom";
  return std::string(MRIVOL_SOURCE_DIR) + "/../shared/dicom";
}

/// A fresh, empty folder under the build tree, removed by the destructor.
class TempDir {
 public:
  explicit TempDir(const std::string& name) {
    path_ = std::filesystem::path(MRIVOL_TEST_TMP) / name;
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string str() const { return path_.string(); }
  std::string operator/(const std::string& s) const { return (path_ / s).string(); }

 private:
  std::filesystem::path path_;
};

inline std::string slurp(const std::string& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

/// A file's bytes, exactly (binary).
inline std::string read_bytes(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

/// A tool run as a user runs it: exit code, stdout, stderr.
struct ToolRun {
  int code = -1;
  std::string out, err;
};

inline ToolRun run_tool(const std::string& tool, const std::string& args, const TempDir& scratch) {
  const std::string o = scratch / ".stdout", e = scratch / ".stderr";
  const std::string cmd = std::string(MRIVOL_TOOLS_DIR) + "/" + tool + " " + args + " >" + o + " 2>" + e;
  const int st = std::system(cmd.c_str());
  ToolRun r;
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = slurp(o);
  r.err = slurp(e);
  std::filesystem::remove(o);
  std::filesystem::remove(e);
  return r;
}

inline std::size_t count_lines(const std::string& s) {
  std::size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

}  // namespace mrivol_test
