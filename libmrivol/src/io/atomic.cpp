#include "mrivol/io/atomic.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "mrivol/core/error.hpp"

namespace fs = std::filesystem;

namespace mrivol {
namespace io {

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
  std::error_code ec;
  fs::rename(temp_, final_, ec);
  if (ec) throw OutputError(final_, "cannot rename temporary file into place (" + ec.message() + ")");
  committed_ = true;
}

void check_folder_writable(const std::string& dir, bool overwrite) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !overwrite) throw OutputError(dir, "already exists (use --force to overwrite)");
  fs::path parent = fs::path(dir).parent_path();
  if (parent.empty()) parent = ".";
  if (!fs::is_directory(parent, ec))
    throw OutputError(dir, "parent folder " + parent.string() + " does not exist");
  if (::access(parent.c_str(), W_OK) != 0)
    throw OutputError(dir, "parent folder " + parent.string() + " is not writable");
}

AtomicFolder::AtomicFolder(const std::string& dir, bool overwrite) : final_(dir), overwrite_(overwrite) {
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
  std::error_code ec;
  const std::string old = final_ + ".old-" + std::to_string(::getpid());
  const bool had = fs::exists(final_, ec);
  if (had && !overwrite_) throw OutputError(final_, "appeared while writing (use --force to overwrite)");
  if (had) fs::rename(final_, old, ec);
  if (ec) throw OutputError(final_, "cannot move the existing folder aside (" + ec.message() + ")");
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
