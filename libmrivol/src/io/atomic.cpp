#include "mrivol/io/atomic.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "mrivol/core/error.hpp"

namespace fs = std::filesystem;

namespace mrivol {
namespace io {

namespace {
/// Fault injection for the concurrency tests: MRIVOL_FAULT_COMMIT_DELAY_MS
/// widens the window between the renames of one commit, where a concurrent
/// writer would interfere if the folder were not locked.
void fault_delay() {
  static const long ms = [] {
    const char* e = std::getenv("MRIVOL_FAULT_COMMIT_DELAY_MS");
    return e ? std::atol(e) : 0L;
  }();
  if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

/// "dir/" and "dir//" name the folder "dir" (tab completion adds the slash).
std::string without_trailing_slash(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}
}  // namespace

void check_writable(const std::string& path, bool overwrite) {
  std::error_code ec;
  if (fs::exists(path, ec) && !overwrite)
    throw OutputError(path, "already exists (use --force to overwrite)");
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  if (!fs::is_directory(dir, ec))
    throw OutputError(path, "output folder " + dir.string() + " does not exist");
  if (::access(dir.c_str(), W_OK) != 0)
    throw OutputError(path,
                      "output folder " + dir.string() + " is not writable (" + std::strerror(errno) + ")");
}

AtomicOutput::AtomicOutput(const std::string& path, bool overwrite) : final_(path) {
  check_writable(path, overwrite);
  const fs::path p(path);
  // Keep the extension(s), in lower case, so writers that choose their format
  // from the name (ITK) write the format the user asked for.
  std::string name = p.filename().string();
  std::string lower = name;
  for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  std::string ext;
  for (const char* e :
       {".nii.gz", ".nii", ".nrrd", ".mha", ".json", ".tsv", ".csv", ".tfm", ".png", ".html"}) {
    const std::string es(e);
    if (lower.size() > es.size() && lower.compare(lower.size() - es.size(), es.size(), es) == 0) {
      ext = es;
      name.resize(name.size() - es.size());
      break;
    }
  }
  // An unpredictable name, created exclusively and never through a symlink,
  // so nobody can redirect the write.
  static std::atomic<unsigned> counter{0};
  std::random_device rd;
  for (int attempt = 0;; ++attempt) {
    char suffix[32];
    std::snprintf(suffix, sizeof suffix, "%08x%04x", static_cast<unsigned>(rd()), counter++ & 0xffffu);
    temp_ =
        (p.parent_path() / ("." + name + ".tmp-" + std::to_string(::getpid()) + "-" + suffix + ext)).string();
    const int fd = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ::close(fd);
      break;
    }
    if (errno != EEXIST || attempt > 16)
      throw OutputError(path, std::string("cannot create a temporary file (") + std::strerror(errno) + ")");
  }
}

AtomicOutput::~AtomicOutput() {
  if (!committed_) {
    std::error_code ec;
    fs::remove(temp_, ec);
  }
}

void AtomicOutput::commit() {
  fault_delay();
  std::error_code ec;
  fs::rename(temp_, final_, ec);
  if (ec) throw OutputError(final_, "cannot rename temporary file into place (" + ec.message() + ")");
  committed_ = true;
}

std::string final_names(const std::string& text) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    // a temporary name starts with '.' at the start of a path component
    const bool start = text[i] == '.' && (i == 0 || text[i - 1] == '/' || text[i - 1] == ' ');
    const std::size_t mark = start ? text.find(".tmp-", i + 1) : std::string::npos;
    if (mark != std::string::npos) {
      std::size_t j = mark + 5;
      const std::size_t pid = j;
      while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
      const bool dash = j > pid && j < text.size() && text[j] == '-';
      std::size_t k = dash ? j + 1 : j;
      const std::size_t hex = k;
      while (k < text.size() && std::isxdigit(static_cast<unsigned char>(text[k]))) ++k;
      const std::string name = text.substr(i + 1, mark - i - 1);
      if (dash && k > hex && name.find('/') == std::string::npos && name.find(' ') == std::string::npos) {
        out += name;
        i = k;
        continue;
      }
    }
    out += text[i++];
  }
  return out;
}

std::string disk_full_note(const std::string& dir) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return "";
  const double free_bytes = static_cast<double>(st.f_bavail) * static_cast<double>(st.f_frsize);
  return free_bytes < 1024.0 * 1024.0 ? " (disk full)" : "";
}

std::string parent_folder(const std::string& path) {
  fs::path dir = fs::path(without_trailing_slash(path)).parent_path();
  return dir.empty() ? std::string(".") : dir.string();
}

FolderLock::FolderLock(const std::string& dir) {
  fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd_ < 0) return;  // the rename that follows reports a missing folder
  int rc;
  do {
    rc = ::flock(fd_, LOCK_EX);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {  // no flock here (ENOLCK, EOPNOTSUPP...): go on unlocked
    ::close(fd_);
    fd_ = -1;
  }
}

FolderLock::~FolderLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock
}

void check_folder_writable(const std::string& folder, bool overwrite) {
  const std::string dir = without_trailing_slash(folder);
  std::error_code ec;
  if (fs::exists(dir, ec) && !overwrite) throw OutputError(dir, "already exists (use --force to overwrite)");
  fs::path parent = fs::path(dir).parent_path();
  if (parent.empty()) parent = ".";
  if (!fs::is_directory(parent, ec))
    throw OutputError(dir, "parent folder " + parent.string() + " does not exist");
  if (::access(parent.c_str(), W_OK) != 0)
    throw OutputError(dir, "parent folder " + parent.string() + " is not writable");
}

AtomicFolder::AtomicFolder(const std::string& folder, bool overwrite)
    : final_(without_trailing_slash(folder)), overwrite_(overwrite) {
  const std::string& dir = final_;
  check_folder_writable(dir, overwrite);
  std::random_device rd;
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(rd()));
  std::string base = fs::path(dir).filename().string();
  if (base.empty()) base = "out";
  temp_ = (fs::path(dir).parent_path() / ("." + base + ".tmp-" + std::to_string(::getpid()) + "-" + suffix))
              .string();
  std::error_code ec;
  if (!fs::create_directory(temp_, ec) || ec)
    throw OutputError(
        dir, "cannot create a temporary folder (" + (ec ? ec.message() : std::string("exists")) + ")");
}

AtomicFolder::~AtomicFolder() {
  if (!committed_) {
    std::error_code ec;
    fs::remove_all(temp_, ec);
  }
}

void AtomicFolder::commit() {
  FolderLock lock(parent_folder(final_));
  std::error_code ec;
  const std::string old = final_ + ".old-" + std::to_string(::getpid());
  const bool had = fs::exists(final_, ec);
  if (had && !overwrite_) throw OutputError(final_, "appeared while writing (use --force to overwrite)");
  if (had) fs::rename(final_, old, ec);
  if (ec) throw OutputError(final_, "cannot move the existing folder aside (" + ec.message() + ")");
  fault_delay();
  fs::rename(temp_, final_, ec);
  if (ec) {
    std::error_code e2;
    if (had) fs::rename(old, final_, e2);
    throw OutputError(final_, "cannot rename the finished folder into place (" + ec.message() + ")");
  }
  committed_ = true;
  if (had) fs::remove_all(old, ec);
}

void write_text_file(const std::string& path, const std::string& content, bool overwrite) {
  AtomicOutput out(path, overwrite);
  {
    std::ofstream f(out.temp_path(), std::ios::binary);
    if (!f) throw OutputError(path, std::string("cannot create file (") + std::strerror(errno) + ")");
    f.write(content.data(), static_cast<std::streamsize>(content.size()));
    f.flush();
    if (!f) throw OutputError(path, std::string("write failed (") + std::strerror(errno) + ")");
  }
  out.commit();
}

}  // namespace io
}  // namespace mrivol
