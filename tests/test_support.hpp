// Shared helpers for the tests: locating ../shared, temporary folders.
#pragma once

#include <cstdlib>
#include <filesystem>
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

}  // namespace mrivol_test
