// libFuzzer target over DICOM series assembly: bytes in, a volume or a typed
// mrivol::Error out. The input is one to four files joined by the marker
// "MRIVOLFUZZSPLIT" (so grouping, ordering and geometry across files are
// exercised); they are written to a private folder and go through
// dicom::scan and dicom::load exactly as the tools use them. Anything else
// (a crash, a sanitizer report, an exception that is not an mrivol::Error, an
// allocation beyond libFuzzer's limit, a volume inconsistent with its
// geometry) is a bug.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "mrivol/core/error.hpp"
#include "mrivol/dicom/series.hpp"

namespace fs = std::filesystem;

// Deliberately leaked, so the exit handler that removes the folder can still
// read its name after static destructors ran.
static const std::string& work_dir() {
  static const std::string& dir = *new std::string([] {
    const char* t = std::getenv("TMPDIR");
    std::string tmpl = std::string(t && *t ? t : "/tmp") + "/mrivol-fuzz-dicom.XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) std::abort();
    std::string d(buf.data());
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(work_dir(), ec);
    });
    return d;
  }());
  return dir;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string dir = work_dir();
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) fs::remove_all(e.path(), ec);

  static const std::string marker = "MRIVOLFUZZSPLIT";
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> parts;
  std::size_t from = 0;
  while (parts.size() < 3) {
    const std::size_t at = bytes.find(marker, from);
    if (at == std::string::npos) break;
    parts.push_back(bytes.substr(from, at - from));
    from = at + marker.size();
  }
  parts.push_back(bytes.substr(from));
  for (std::size_t i = 0; i < parts.size(); ++i) {
    std::ofstream out(dir + "/IMG" + std::to_string(i) + ".dcm", std::ios::binary);
    out.write(parts[i].data(), static_cast<std::streamsize>(parts[i].size()));
  }

  try {
    mrivol::dicom::ScanOptions so;
    so.threads = 1;
    const auto scan = mrivol::dicom::scan(dir, so);
    for (const auto& s : scan.series) {
      if (!s.error.empty()) continue;
      mrivol::dicom::LoadOptions lo;
      lo.threads = 1;
      const mrivol::Volume v = mrivol::dicom::load(s, lo);
      const std::size_t n = v.geom.size[0] * v.geom.size[1] * v.geom.size[2] * v.timepoints;
      if (v.data.size() != n) std::abort();  // volume inconsistent with its geometry
    }
  } catch (const mrivol::Error&) {
    // the expected outcome for bad input: a typed error with a message
  }
  return 0;
}
