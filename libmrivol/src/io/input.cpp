#include "mrivol/io/input.hpp"

#include <cmath>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "mrivol/core/error.hpp"
#include "mrivol/core/sha256.hpp"
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

std::string input_checksum(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return sha256_file(path);
  std::vector<std::string> files;
  for (fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec)) files.push_back(fs::relative(it->path(), path, ec).string());
  std::sort(files.begin(), files.end());
  std::string list;
  for (const auto& f : files) list += f + '\0' + sha256_file((fs::path(path) / f).string()) + '\n';
  return sha256_hex(list.data(), list.size());
}

namespace {

// A scan to segment or register: a 3D volume of finite values.
Volume checked_scan(Volume v, const std::string& path) {
  if (v.geom.size[2] < 3)
    throw InputError(path, std::to_string(v.geom.size[2]) + " slice" + (v.geom.size[2] == 1 ? "" : "s") +
                               ": a 3D scan (at least 3 slices) is needed");
  std::size_t bad = 0;
  for (float x : v.data) bad += !std::isfinite(x);
  if (bad) throw InputError(path, std::to_string(bad) + " voxels are NaN or infinite");
  return v;
}

}  // namespace

Volume read_scan(const std::string& path, const std::string& series, unsigned threads, Reporter& rep) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw InputError(path, "no such file or folder");
  if (!std::filesystem::is_directory(path, ec) && is_image_file(path)) {
    if (!series.empty()) throw UsageError(path + ": a series can only be chosen in a DICOM folder");
    return checked_scan(read_image(path), path);
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
  return checked_scan(dicom::load(*s, lo, rep), path);
}

}  // namespace io
}  // namespace mrivol
