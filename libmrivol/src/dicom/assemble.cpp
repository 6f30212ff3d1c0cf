// Grouping images into loadable series: split where one volume is not
// possible, order slices geometrically, check the stack.
#include <algorithm>
#include <array>
#include <cctype>
#include <climits>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "internal.hpp"

namespace mrivol {
namespace dicom {
namespace {

std::string fmt(double v, int prec = 3) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

long long q(double v, double step) { return std::isfinite(v) ? std::llround(v / step) : LLONG_MIN; }

bool has_geometry(const Image& im) {
  return std::isfinite(im.ipp[0]) && std::isfinite(im.ipp[1]) && std::isfinite(im.ipp[2]);
}

/// Key of images that may share one volume (before acquisition splitting).
std::string split_key(const Image& im) {
  std::ostringstream k;
  k << im.series_uid << '|' << im.rows << 'x' << im.cols << '|' << q(im.dx, 1e-4) << ',' << q(im.dy, 1e-4);
  for (double v : im.row_dir) k << ',' << q(v, 1e-4);
  for (double v : im.col_dir) k << ',' << q(v, 1e-4);
  k << '|' << (im.echo_number ? *im.echo_number : -1) << '|' << (im.echo_time ? q(*im.echo_time, 1e-2) : -1)
    << '|' << im.component << '|' << (im.tile >= 0 ? "mosaic" : "");
  return k.str();
}

Vec3 slice_normal(const Image& im) {
  if (im.mosaic_normal) return *im.mosaic_normal;
  Vec3 n = cross(im.row_dir, im.col_dir);
  const double l = norm(n);
  for (auto& c : n) c /= (l > 0 ? l : 1);
  return n;
}

/// Order of images at the same slice position (volumes of a 4D series).
auto time_key(const Image& im) {
  return std::make_tuple(im.temporal_index.value_or(INT_MIN), im.acq_time_s.value_or(-1e300),
                         im.acquisition_number.value_or(INT_MIN), im.instance_number.value_or(INT_MIN),
                         im.file_order, im.frame, im.tile);
}

std::string orientation_code(const Vec3& n) {
  const double ax[3] = {std::fabs(n[0]), std::fabs(n[1]), std::fabs(n[2])};
  const int best = static_cast<int>(std::max_element(ax, ax + 3) - ax);
  const double off_deg = std::acos(std::min(1.0, ax[best])) * 180.0 / M_PI;
  if (off_deg > 1.0) return "OBL";
  return best == 0 ? "SAG" : best == 1 ? "COR" : "AX";
}

/// Build one series from images that belong together; sets info.error on
/// problems that make it unloadable.
SeriesInfo build(std::vector<Image> ims, const ScanOptions& opt) {
  SeriesInfo s;
  const Image& f0 = ims.front();
  s.series_uid = f0.series_uid;
  s.series_number = f0.series_number;
  s.description = f0.file->acq.series_description;
  s.transfer_syntax = transfer_syntax_name(f0.file->transfer_syntax);
  std::set<const FileHeader*> files;
  for (const auto& im : ims) files.insert(im.file.get());
  s.files = files.size();
  s.images = ims.size();
  auto list = std::make_shared<ImageList>();

  const auto n_missing =
      std::count_if(ims.begin(), ims.end(), [](const Image& i) { return !has_geometry(i); });
  const double rl = norm(f0.row_dir), cl = norm(f0.col_dir);
  if (n_missing > 0) {
    s.error =
        std::to_string(n_missing) + " of " + std::to_string(ims.size()) +
        " images lack ImagePositionPatient/ImageOrientationPatient/PixelSpacing (e.g. " +
        std::find_if(ims.begin(), ims.end(), [](const Image& i) { return !has_geometry(i); })->file->path +
        "): slices cannot be placed in space";
  } else if (std::fabs(rl - 1) > 0.01 || std::fabs(cl - 1) > 0.01 ||
             std::fabs(dot(f0.row_dir, f0.col_dir)) > 0.01) {
    s.error = "degenerate ImageOrientationPatient (row/column cosines not unit length and orthogonal) in " +
              f0.file->path;
  } else if (!(f0.dx > 0) || !(f0.dy > 0)) {
    s.error = "zero or negative PixelSpacing in " + f0.file->path;
  }
  Geometry& g = s.geom;
  g.size = {f0.cols, f0.rows, 1};
  g.spacing = {f0.dx, f0.dy, 1.0};
  if (!s.error.empty()) {
    list->images = std::move(ims);
    s.images_ = list;
    return s;
  }

  const Vec3 r{f0.row_dir[0] / rl, f0.row_dir[1] / rl, f0.row_dir[2] / rl};
  const Vec3 c{f0.col_dir[0] / cl, f0.col_dir[1] / cl, f0.col_dir[2] / cl};
  const Vec3 n = slice_normal(f0);
  std::stable_sort(ims.begin(), ims.end(),
                   [&](const Image& a, const Image& b) { return dot(a.ipp, n) < dot(b.ipp, n); });
  // Cluster positions (same projection within 0.01 mm).
  std::vector<std::size_t> starts{0};
  for (std::size_t i = 1; i < ims.size(); ++i)
    if (dot(ims[i].ipp, n) - dot(ims[starts.back()].ipp, n) > 0.01) starts.push_back(i);
  starts.push_back(ims.size());
  const std::size_t nz = starts.size() - 1;
  const std::size_t nt = starts[1] - starts[0];
  for (std::size_t k = 0; k < nz; ++k) {
    const std::size_t cnt = starts[k + 1] - starts[k];
    if (cnt != nt) {
      s.error = "uneven number of images per slice position (" + std::to_string(nt) + " at the first, " +
                std::to_string(cnt) + " at position " + fmt(dot(ims[starts[k]].ipp, n)) + " mm, e.g. " +
                ims[starts[k]].file->path + "): duplicate or missing images";
      break;
    }
  }
  // Images sharing a slice position must share the whole position: an
  // in-plane shift means a different prescription, not another time point.
  for (std::size_t k = 0; k < nz && s.error.empty(); ++k)
    for (std::size_t i = starts[k] + 1; i < starts[k + 1]; ++i) {
      const Vec3 d{ims[i].ipp[0] - ims[starts[k]].ipp[0], ims[i].ipp[1] - ims[starts[k]].ipp[1],
                   ims[i].ipp[2] - ims[starts[k]].ipp[2]};
      if (norm(d) > 0.05) {
        s.error = "images at the same slice position are shifted by " + fmt(norm(d)) +
                  " mm within the plane (" + ims[i].file->path + " vs " + ims[starts[k]].file->path +
                  "): different prescriptions";
        break;
      }
    }
  std::vector<Image> ordered;
  ordered.reserve(ims.size());
  if (s.error.empty()) {
    for (std::size_t k = 0; k < nz; ++k)
      std::sort(ims.begin() + starts[k], ims.begin() + starts[k + 1],
                [](const Image& a, const Image& b) { return time_key(a) < time_key(b); });
    for (std::size_t t = 0; t < nt; ++t)
      for (std::size_t k = 0; k < nz; ++k) ordered.push_back(ims[starts[k] + t]);
  }

  double spacing = 0;
  if (s.error.empty() && nz > 1) {
    std::vector<double> gaps;
    for (std::size_t k = 0; k + 1 < nz; ++k) {
      const Image& a = ordered[k];
      const Image& b = ordered[k + 1];
      gaps.push_back(dot(b.ipp, n) - dot(a.ipp, n));
      // In-plane offset between consecutive slices = gantry tilt / shear.
      Vec3 d{b.ipp[0] - a.ipp[0], b.ipp[1] - a.ipp[1], b.ipp[2] - a.ipp[2]};
      const double along = dot(d, n);
      const Vec3 inplane{d[0] - along * n[0], d[1] - along * n[1], d[2] - along * n[2]};
      if (norm(inplane) > 0.01 + 1e-3 * std::fabs(along) && s.error.empty())
        s.error = "sheared stack (gantry tilt?): consecutive slices are offset by " + fmt(norm(inplane)) +
                  " mm within the slice plane (" + b.file->path + "); refusing to guess the geometry";
    }
    std::vector<double> sorted = gaps;
    std::sort(sorted.begin(), sorted.end());
    const double med = sorted[sorted.size() / 2];
    spacing = (dot(ordered[nz - 1].ipp, n) - dot(ordered[0].ipp, n)) / static_cast<double>(nz - 1);
    for (std::size_t k = 0; k < gaps.size() && s.error.empty(); ++k) {
      if (std::fabs(gaps[k] - med) > opt.spacing_tolerance * med + 1e-3) {
        s.error = "non-uniform slice spacing: gap of " + fmt(gaps[k]) + " mm (typical " + fmt(med) +
                  " mm) after slice " + std::to_string(k + 1) + " of " + std::to_string(nz) + " (" +
                  ordered[k].file->path + "): missing slices?";
      }
    }
  } else if (s.error.empty()) {
    spacing = f0.mosaic_spacing.value_or(
        f0.file->acq.spacing_between_slices_mm.value_or(f0.file->acq.slice_thickness_mm.value_or(1.0)));
    s.warnings.push_back("single slice: slice spacing taken from the header (" + fmt(spacing) + " mm)");
  }
  if (s.error.empty() && f0.tile >= 0 && !f0.mosaic_spacing)
    s.warnings.push_back("mosaic without SpacingBetweenSlices: 1 mm assumed");
  if (spacing <= 0 && s.error.empty()) s.error = "slice spacing is zero";

  g.size = {f0.cols, f0.rows, nz};
  g.spacing = {f0.dx, f0.dy, spacing > 0 ? spacing : 1.0};
  g.origin = ordered.empty() ? f0.ipp : ordered.front().ipp;
  g.direction = {r[0], c[0], n[0], r[1], c[1], n[1], r[2], c[2], n[2]};
  s.timepoints = nt;
  s.orientation = orientation_code(n);
  list->nz = nz;
  list->nt = nt;
  list->images = ordered.empty() ? std::move(ims) : std::move(ordered);
  s.images_ = list;
  return s;
}

std::string component_label(const Image& im, const std::map<double, int>& echo_rank) {
  std::string l;
  if (echo_rank.size() > 1 && im.echo_time) l = "e" + std::to_string(echo_rank.at(*im.echo_time));
  if (!im.component.empty()) l += (l.empty() ? "" : "_") + im.component;
  return l;
}

}  // namespace

std::vector<SeriesInfo> assemble(std::vector<Image> images, const ScanOptions& opt, std::size_t& duplicates,
                                 std::vector<std::string>& messages) {
  // 1. Exact duplicates (same SOP instance and frame, e.g. a copied file).
  std::map<std::string, std::string> seen;
  std::vector<Image> unique;
  unique.reserve(images.size());
  for (auto& im : images) {
    if (!im.sop_uid.empty()) {
      const std::string key = im.sop_uid + "/" + std::to_string(im.frame) + "/" + std::to_string(im.tile);
      auto [it, fresh] = seen.emplace(key, im.file->path);
      if (!fresh) {
        if (im.tile <= 0 && im.frame == 0) {
          ++duplicates;
          messages.push_back(im.file->path + ": duplicate of " + it->second +
                             " (same SOPInstanceUID), ignored");
        }
        continue;
      }
    }
    unique.push_back(std::move(im));
  }

  // 2. Split by what must be equal within one volume.
  std::map<std::string, std::vector<Image>> groups;
  for (auto& im : unique) groups[split_key(im)].push_back(std::move(im));

  // 3. Acquisitions with different slice prescriptions become separate sets.
  std::vector<std::vector<Image>> sets;
  for (auto& [key, ims] : groups) {
    std::map<int, std::vector<Image>> by_acq;
    for (auto& im : ims) by_acq[im.acquisition_number.value_or(0)].push_back(im);
    bool differ = false;
    if (by_acq.size() > 1) {
      // Whole positions (0.05 mm), so in-plane shifts count as a new prescription.
      auto positions = [](const std::vector<Image>& v) {
        std::set<std::array<long long, 3>> pos;
        for (const auto& im : v) pos.insert({q(im.ipp[0], 0.05), q(im.ipp[1], 0.05), q(im.ipp[2], 0.05)});
        return pos;
      };
      const auto first = positions(by_acq.begin()->second);
      for (const auto& [a, v] : by_acq) {
        const auto pos = positions(v);
        if (pos != first && pos.size() > 1) differ = true;
      }
    }
    if (differ) {
      for (auto& [a, v] : by_acq) sets.push_back(std::move(v));
    } else {
      sets.push_back(std::move(ims));
    }
  }

  // 4. Build, then label: number, sub-index when a UID was split.
  std::vector<SeriesInfo> out;
  std::map<std::string, std::map<double, int>> echoes;  // uid -> TE -> rank
  for (const auto& set : sets)
    for (const auto& im : set)
      if (im.echo_time) echoes[im.series_uid][*im.echo_time] = 0;
  for (auto& [uid, m] : echoes) {
    int r = 0;
    for (auto& [te, rank] : m) rank = ++r;
  }
  for (auto& set : sets) {
    const Image first = set.front();
    std::map<int, int> acqs;
    SeriesInfo s = build(std::move(set), opt);
    s.volume_label = component_label(first, echoes[first.series_uid]);
    out.push_back(std::move(s));
  }
  // Sets that still share a label differ by orientation, matrix or
  // acquisition: say which.
  std::map<std::string, std::vector<SeriesInfo*>> same;
  for (auto& s : out) same[s.series_uid + "|" + s.volume_label].push_back(&s);
  for (auto& [key, group] : same) {
    if (group.size() < 2) continue;
    std::set<std::string> orients, matrices;
    for (const SeriesInfo* s : group) {
      orients.insert(s->orientation);
      matrices.insert(std::to_string(s->geom.size[0]) + "x" + std::to_string(s->geom.size[1]));
    }
    int index = 0;
    for (SeriesInfo* s : group) {
      const auto& im = s->images_->images.front();
      std::string tag;
      if (orients.size() == group.size()) {
        tag = s->orientation;
        for (auto& ch : tag) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      } else if (matrices.size() == group.size()) {
        tag = std::to_string(s->geom.size[0]) + "x" + std::to_string(s->geom.size[1]);
      } else {
        tag = "acq" + std::to_string(im.acquisition_number.value_or(0)) + "-" + std::to_string(++index);
      }
      s->volume_label += (s->volume_label.empty() ? "" : "_") + tag;
    }
  }
  std::sort(out.begin(), out.end(), [](const SeriesInfo& a, const SeriesInfo& b) {
    return std::tie(a.series_number, a.series_uid, a.volume_label) <
           std::tie(b.series_number, b.series_uid, b.volume_label);
  });
  std::map<int, int> count;
  for (const auto& s : out) count[s.series_number]++;
  std::map<int, int> next;
  for (auto& s : out) {
    s.label = std::to_string(s.series_number);
    if (count[s.series_number] > 1) {
      s.sub_index = ++next[s.series_number];
      s.label += "." + std::to_string(s.sub_index);
    }
  }
  return out;
}

}  // namespace dicom
}  // namespace mrivol
