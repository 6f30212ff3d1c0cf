#include "mrivol/io/atomic.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

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
  static std::atomic<unsigned> counter{0};
  const fs::path p(path);
  // Keep the extension(s) so writers that look at the name still work.
  std::string name = p.filename().string();
  std::string ext;
  for (const char* e :
       {".nii.gz", ".nii", ".nrrd", ".mha", ".json", ".tsv", ".csv", ".tfm", ".png", ".html"}) {
    const std::string es(e);
    if (name.size() > es.size() && name.compare(name.size() - es.size(), es.size(), es) == 0) {
      ext = es;
      name.resize(name.size() - es.size());
      break;
    }
  }
  temp_ = (p.parent_path() /
           ("." + name + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ext))
              .string();
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
