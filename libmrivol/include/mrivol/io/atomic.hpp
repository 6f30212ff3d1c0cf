// Outputs are written under a temporary name in the destination folder and
// renamed when complete, so a failure never leaves a half-written file and
// never destroys an earlier result.
#pragma once

#include <string>

namespace mrivol {
namespace io {

class AtomicOutput {
 public:
  /// Throws OutputError when `path` exists and !overwrite, or its folder is
  /// missing or not writable.
  AtomicOutput(const std::string& path, bool overwrite);
  ~AtomicOutput();  ///< removes the temporary file unless committed
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;

  const std::string& temp_path() const { return temp_; }
  const std::string& final_path() const { return final_; }
  /// Rename the temporary file onto the final name.
  void commit();

 private:
  std::string final_, temp_;
  bool committed_ = false;
};

/// An output folder assembled under a temporary name beside it and swapped
/// into place by commit(); an existing folder (with overwrite) is removed only
/// once the new one is complete. The temporary folder is removed on failure.
class AtomicFolder {
 public:
  AtomicFolder(const std::string& dir, bool overwrite);
  ~AtomicFolder();
  AtomicFolder(const AtomicFolder&) = delete;
  AtomicFolder& operator=(const AtomicFolder&) = delete;
  const std::string& temp_path() const { return temp_; }
  std::string operator/(const std::string& name) const { return temp_ + "/" + name; }
  void commit();

 private:
  std::string final_, temp_;
  bool overwrite_, committed_ = false;
};

/// Throws OutputError unless `dir` could be created (or replaced, with overwrite).
void check_folder_writable(const std::string& dir, bool overwrite);

/// Write `content` to `path` atomically.
void write_text_file(const std::string& path, const std::string& content, bool overwrite);

/// Throws OutputError when `path` exists and !overwrite (check before work).
void check_writable(const std::string& path, bool overwrite);

}  // namespace io
}  // namespace mrivol
