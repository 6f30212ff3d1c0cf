#include "mrivol/io/png.hpp"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "mrivol/core/error.hpp"
#include "mrivol/io/atomic.hpp"

namespace mrivol {
namespace io {
namespace {

void be32(std::string& s, std::uint32_t v) {
  for (int i = 3; i >= 0; --i) s += static_cast<char>((v >> (8 * i)) & 0xff);
}

void chunk(std::string& out, const char* type, const std::string& data) {
  be32(out, static_cast<std::uint32_t>(data.size()));
  std::string td = std::string(type, 4) + data;
  out += td;
  be32(out, static_cast<std::uint32_t>(
                crc32(0, reinterpret_cast<const Bytef*>(td.data()), static_cast<uInt>(td.size()))));
}

}  // namespace

void write_png(const std::string& path, unsigned w, unsigned h, const std::vector<std::uint8_t>& px,
               int channels, bool overwrite) {
  if ((channels != 1 && channels != 3) || px.size() != std::size_t(w) * h * channels || w == 0 || h == 0)
    throw Error(ExitCode::internal, path, "bad picture dimensions");
  std::string raw;
  raw.reserve((std::size_t(w) * channels + 1) * h);
  for (unsigned y = 0; y < h; ++y) {
    raw += '\0';  // filter: none
    raw.append(reinterpret_cast<const char*>(px.data() + std::size_t(y) * w * channels),
               std::size_t(w) * channels);
  }
  uLongf zlen = compressBound(static_cast<uLong>(raw.size()));
  std::string z(zlen, '\0');
  if (compress2(reinterpret_cast<Bytef*>(&z[0]), &zlen, reinterpret_cast<const Bytef*>(raw.data()),
                static_cast<uLong>(raw.size()), 6) != Z_OK)
    throw Error(ExitCode::internal, path, "PNG compression failed");
  z.resize(zlen);
  std::string ihdr;
  be32(ihdr, w);
  be32(ihdr, h);
  ihdr += static_cast<char>(8);                      // bit depth
  ihdr += static_cast<char>(channels == 1 ? 0 : 2);  // greyscale / RGB
  ihdr += std::string(3, '\0');                      // compression, filter, interlace
  std::string out("\x89PNG\r\n\x1a\n", 8);
  chunk(out, "IHDR", ihdr);
  chunk(out, "IDAT", z);
  chunk(out, "IEND", "");
  write_text_file(path, out, overwrite);
}

Plane sagittal_plane(const Vec3& c, double mm, unsigned w, unsigned h) {
  return Plane{c, {0, 1, 0}, {0, 0, -1}, mm, w, h};
}
Plane axial_plane(const Vec3& c, double mm, unsigned w, unsigned h) {
  return Plane{c, {1, 0, 0}, {0, 1, 0}, mm, w, h};
}

std::vector<float> sample_plane(const Volume& v, const Plane& p) {
  std::vector<float> out(std::size_t(p.width) * p.height, 0.0f);
  const auto& g = v.geom;
  const long nx = static_cast<long>(g.size[0]), ny = static_cast<long>(g.size[1]),
             nz = static_cast<long>(g.size[2]);
  for (unsigned r = 0; r < p.height; ++r)
    for (unsigned c = 0; c < p.width; ++c) {
      const double a = (c - (p.width - 1) / 2.0) * p.pixel_mm, b = (r - (p.height - 1) / 2.0) * p.pixel_mm;
      const Vec3 q{p.centre[0] + a * p.right[0] + b * p.down[0], p.centre[1] + a * p.right[1] + b * p.down[1],
                   p.centre[2] + a * p.right[2] + b * p.down[2]};
      const Vec3 idx = g.point_to_index(q);
      const long i0 = static_cast<long>(std::floor(idx[0])), j0 = static_cast<long>(std::floor(idx[1])),
                 k0 = static_cast<long>(std::floor(idx[2]));
      const double fx = idx[0] - i0, fy = idx[1] - j0, fz = idx[2] - k0;
      double acc = 0, wsum = 0;
      for (int dk = 0; dk < 2; ++dk)
        for (int dj = 0; dj < 2; ++dj)
          for (int di = 0; di < 2; ++di) {
            const long i = i0 + di, j = j0 + dj, k = k0 + dk;
            if (i < 0 || j < 0 || k < 0 || i >= nx || j >= ny || k >= nz) continue;
            const double wgt = (di ? fx : 1 - fx) * (dj ? fy : 1 - fy) * (dk ? fz : 1 - fz);
            acc += wgt * v.data[(static_cast<std::size_t>(k) * ny + j) * nx + i];
            wsum += wgt;
          }
      // Half a voxel beyond the edge still counts (slab thickness); further out is blank.
      out[std::size_t(r) * p.width + c] = wsum > 0.25 ? static_cast<float>(acc / wsum) : 0.0f;
    }
  return out;
}

std::vector<std::uint8_t> window(const std::vector<float>& values, double lo_pct, double hi_pct) {
  std::vector<float> nz;
  for (float x : values)
    if (x != 0.0f && std::isfinite(x)) nz.push_back(x);
  std::vector<std::uint8_t> out(values.size(), 0);
  if (nz.empty()) return out;
  auto pct = [&](double q) {
    const std::size_t k = std::min(nz.size() - 1, static_cast<std::size_t>(q / 100.0 * (nz.size() - 1)));
    std::nth_element(nz.begin(), nz.begin() + static_cast<long>(k), nz.end());
    return nz[k];
  };
  const double lo = pct(lo_pct), hi = std::max(pct(hi_pct), static_cast<float>(lo + 1e-6));
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double t = (values[i] - lo) / (hi - lo);
    out[i] = static_cast<std::uint8_t>(std::lround(255.0 * std::clamp(t, 0.0, 1.0)));
  }
  return out;
}

void write_checkerboard(const Volume& a, const Volume& b, const std::string& path, bool overwrite) {
  const auto& g = a.geom;
  const Vec3 c = g.index_to_point((g.size[0] - 1) / 2.0, (g.size[1] - 1) / 2.0, (g.size[2] - 1) / 2.0);
  double ext = 0;
  for (int i = 0; i < 3; ++i) ext = std::max(ext, g.size[i] * g.spacing[i]);
  const double px = std::max(ext / 400.0, std::min({g.spacing[0], g.spacing[1], g.spacing[2]}));
  const unsigned n = static_cast<unsigned>(std::min(512.0, ext / px));
  const Plane planes[2] = {sagittal_plane(c, px, n, n), axial_plane(c, px, n, n)};
  const unsigned gap = 4, w = 2 * n + gap;
  std::vector<std::uint8_t> out(std::size_t(w) * n, 0);
  for (int p = 0; p < 2; ++p) {
    const auto wa = window(sample_plane(a, planes[p])), wb = window(sample_plane(b, planes[p]));
    for (unsigned r = 0; r < n; ++r)
      for (unsigned col = 0; col < n; ++col) {
        const bool use_b = ((r / 16) + (col / 16)) % 2 == 1;
        out[std::size_t(r) * w + p * (n + gap) + col] = (use_b ? wb : wa)[std::size_t(r) * n + col];
      }
  }
  write_png(path, w, n, out, 1, overwrite);
}

}  // namespace io
}  // namespace mrivol
