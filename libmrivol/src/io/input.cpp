#include "mrivol/io/input.hpp"

#include <filesystem>
#include <sstream>

#include "mrivol/core/error.hpp"
#include "mrivol/dicom/series.hpp"
#include "mrivol/io/image.hpp"

namespace mrivol {
namespace io {

bool is_image_file(const std::string& path) {
  try {
    format_from_path(path);
    return true;
  } catch (const UsageError&) {
    return false;
  }
}

Volume read_scan(const std::string& path, const std::string& series, unsigned threads, Reporter& rep) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw InputError(path, "no such file or folder");
  if (!std::filesystem::is_directory(path, ec) && is_image_file(path)) {
    if (!series.empty()) throw UsageError(path + ": a series can only be chosen in a DICOM folder");
    return read_image(path);
  }
  dicom::ScanOptions so;
  so.threads = threads;
  const dicom::ScanResult scan = dicom::scan(path, so, rep);
  const dicom::SeriesInfo* s = nullptr;
  if (!series.empty()) {
    s = &dicom::select(scan, series);
  } else if (scan.series.size() == 1) {
    s = &scan.series.front();
  } else {
    std::ostringstream o;
    for (const auto& x : scan.series)
      o << " " << x.label << (x.description.empty() ? "" : " (" + x.description + ")") << ";";
    std::string l = o.str();
    l.pop_back();
    throw DicomError(path, std::to_string(scan.series.size()) + " image sets found; choose one:" + l);
  }
  dicom::LoadOptions lo;
  lo.threads = threads;
  return dicom::load(*s, lo, rep);
}

}  // namespace io
}  // namespace mrivol
