// Folder scan: collect files, read headers in parallel, assemble series.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <system_error>

#include "../core/parallel.hpp"
#include "internal.hpp"
#include "mrivol/core/error.hpp"

namespace fs = std::filesystem;

namespace mrivol {
namespace dicom {

std::string transfer_syntax_name(const std::string& uid) {
  if (uid.empty()) return "unknown";
  DcmXfer x(uid.c_str());
  if (x.getXfer() == EXS_Unknown) return uid;
  return x.getXferName();
}

namespace {

std::vector<std::string> collect(const std::string& path, bool recursive, ScanResult& res) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) throw InputError(path, "no such file or folder");
  std::vector<std::string> files;
  if (fs::is_regular_file(st)) {
    files.push_back(path);
    return files;
  }
  if (!fs::is_directory(st)) throw InputError(path, "not a regular file or folder");
  const auto opts = fs::directory_options::skip_permission_denied;
  auto add = [&](const fs::directory_entry& e) {
    std::error_code e2;
    if (e.is_regular_file(e2)) files.push_back(e.path().string());
  };
  if (recursive) {
    fs::recursive_directory_iterator it(path, opts, ec), end;
    if (ec) throw InputError(path, "cannot read folder (" + ec.message() + ")");
    for (; it != end; it.increment(ec)) {
      if (ec) {
        res.warnings.push_back(path + ": cannot read part of the folder (" + ec.message() + ")");
        break;
      }
      add(*it);
    }
  } else {
    for (const auto& e : fs::directory_iterator(path, opts, ec)) add(e);
    if (ec) throw InputError(path, "cannot read folder (" + ec.message() + ")");
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

ScanResult scan(const std::string& path, const ScanOptions& opt, Reporter& rep) {
  register_codecs();
  ScanResult res;
  const std::vector<std::string> files = collect(path, opt.recursive, res);
  res.stats.files = files.size();
  rep.info("scanning " + std::to_string(files.size()) + " files in " + path);

  struct Out {
    std::vector<Image> images;
    FileKind kind = FileKind::not_dicom;
    std::string why, failed_uid;
  };
  std::vector<Out> outs(files.size());
  std::atomic<std::size_t> done{0};
  parallel_for(files.size(), opt.threads, [&](std::size_t i) {
    outs[i].images = read_images(files[i], i, outs[i].kind, outs[i].why, outs[i].failed_uid);
    const std::size_t d = ++done;
    if (d % 64 == 0 || d == files.size()) rep.progress("scan", static_cast<double>(d) / files.size());
  });

  std::vector<Image> images;
  std::map<std::string, std::pair<std::size_t, std::string>> failed;  // uid -> count, first
  for (std::size_t i = 0; i < files.size(); ++i) {
    Out& o = outs[i];
    if (!o.images.empty()) {
      ++res.stats.dicom_images;
      for (auto& im : o.images) images.push_back(std::move(im));
      continue;
    }
    switch (o.kind) {
      case FileKind::not_dicom:
        ++res.stats.non_dicom;
        break;
      case FileKind::unreadable:
        ++res.stats.unreadable;
        break;
      case FileKind::dicom:
        ++res.stats.non_image;
        break;
    }
    res.messages.push_back(files[i] + ": skipped: " + o.why);
    if (o.kind == FileKind::unreadable) res.warnings.push_back(files[i] + ": unreadable: " + o.why);
    if (o.kind == FileKind::unreadable && !o.failed_uid.empty()) {
      auto& f = failed[o.failed_uid];
      if (f.first++ == 0) f.second = files[i] + ": " + o.why;
    }
  }
  res.series = assemble(std::move(images), opt, res.stats.duplicates, res.messages);
  // A series with an unreadable member is incomplete: never load it silently.
  for (auto& s : res.series) {
    const auto it = failed.find(s.series_uid);
    if (it != failed.end() && s.error.empty())
      s.error = std::to_string(it->second.first) + " file(s) of this series are unreadable (" +
                it->second.second + ")";
  }
  for (const auto& m : res.messages) rep.debug(m);
  // With nothing loadable, the one error line below summarises and names the
  // first problem; the per-file findings are details (--verbose).
  for (const auto& w : res.warnings) res.series.empty() ? rep.debug(w) : rep.warn(w);
  if (res.series.empty()) {
    std::string detail = std::to_string(res.stats.files) + " files: " + std::to_string(res.stats.non_dicom) +
                         " not DICOM, " + std::to_string(res.stats.non_image) + " DICOM without images, " +
                         std::to_string(res.stats.unreadable) + " unreadable";
    if (res.stats.files == 0) detail = "folder is empty";
    if (!res.messages.empty() && res.stats.files == 1) detail = res.messages.front();
    if (!res.warnings.empty())
      detail += "; first: " + res.warnings.front();
    else if (!res.messages.empty() && res.stats.files > 1)
      detail += "; first: " + res.messages.front();
    throw DicomError(path, "no loadable DICOM image series (" + detail + ")");
  }
  return res;
}

const SeriesInfo& select(const ScanResult& scan, const std::string& key) {
  std::vector<const SeriesInfo*> hits;
  if (!key.empty() && key[0] == '#') {
    const std::size_t n = static_cast<std::size_t>(std::atol(key.c_str() + 1));
    if (n >= 1 && n <= scan.series.size()) return scan.series[n - 1];
    throw UsageError("--series " + key + ": list position out of range (1.." +
                     std::to_string(scan.series.size()) + ")");
  }
  for (const auto& s : scan.series)
    if (s.label == key || s.series_uid == key) hits.push_back(&s);
  if (hits.size() == 1) return *hits.front();
  if (hits.empty()) throw UsageError("--series " + key + ": no such series (see --list)");
  throw UsageError("--series " + key + ": matches " + std::to_string(hits.size()) +
                   " image sets; pick one by label (e.g. " + hits.front()->label + ")");
}

}  // namespace dicom
}  // namespace mrivol
