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

/// An exclusive advisory lock (flock) on a folder, held for the lifetime of
/// the object. mrivol takes it on the folder that receives its outputs while
/// it renames them into place, so runs writing into one folder at the same
/// time commit one after the other: each output set is complete and from one
/// run, never a mix. Where the file system has no flock (some NFS set-ups)
/// the lock is skipped. Not re-entrant within a process.
class FolderLock {
 public:
  explicit FolderLock(const std::string& dir);
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_ = -1;
};

/// `text` with every temporary output name mrivol makes (".NAME.tmp-PID-HEX"
/// and ".NAME.tmp-PID-HEX.EXT") replaced by the final name, so an error
/// names the output the user asked for.
std::string final_names(const std::string& text);

/// For an error while writing into `dir`: " (disk full)" when its file
/// system has less than 1 MiB left, else "".
std::string disk_full_note(const std::string& dir);

/// The folder that holds `path` ("." for a bare file name).
std::string parent_folder(const std::string& path);

/// Throws OutputError unless `dir` could be created (or replaced, with overwrite).
void check_folder_writable(const std::string& dir, bool overwrite);

/// Write `content` to `path` atomically.
void write_text_file(const std::string& path, const std::string& content, bool overwrite);

/// Throws OutputError when `path` exists and !overwrite (check before work).
void check_writable(const std::string& path, bool overwrite);

}  // namespace io
}  // namespace mrivol
