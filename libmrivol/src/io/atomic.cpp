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
