// NIfTI-1 writer. The header is built field by field from the LPS geometry:
// sform = exact affine (RAS), qform = the nearest rotation (polar
// decomposition) with qfac carrying the handedness, both code 1 (scanner).
#include "nifti.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "mrivol/core/error.hpp"
#include "mrivol/core/version.hpp"

namespace mrivol {
namespace io {
namespace {

#pragma pack(push, 1)
struct Nifti1Header {
  std::int32_t sizeof_hdr;
  char data_type[10];
  char db_name[18];
  std::int32_t extents;
  std::int16_t session_error;
  char regular;
  char dim_info;
  std::int16_t dim[8];
  float intent_p1, intent_p2, intent_p3;
  std::int16_t intent_code, datatype, bitpix, slice_start;
  float pixdim[8];
  float vox_offset, scl_slope, scl_inter;
  std::int16_t slice_end;
  char slice_code, xyzt_units;
  float cal_max, cal_min, slice_duration, toffset;
  std::int32_t glmax, glmin;
  char descrip[80];
  char aux_file[24];
  std::int16_t qform_code, sform_code;
  float quatern_b, quatern_c, quatern_d, qoffset_x, qoffset_y, qoffset_z;
  float srow_x[4], srow_y[4], srow_z[4];
  char intent_name[16];
  char magic[4];
};
#pragma pack(pop)
static_assert(sizeof(Nifti1Header) == 348, "NIfTI-1 header must be 348 bytes");

using M3 = std::array<std::array<double, 3>, 3>;

double det3(const M3& m) {
  return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
         m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
         m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
}

M3 inverse_transpose(const M3& m) {
  const double d = det3(m);
  M3 c{};
  // cofactor matrix / det = inverse transpose
  c[0][0] = (m[1][1] * m[2][2] - m[1][2] * m[2][1]) / d;
  c[0][1] = -(m[1][0] * m[2][2] - m[1][2] * m[2][0]) / d;
  c[0][2] = (m[1][0] * m[2][1] - m[1][1] * m[2][0]) / d;
  c[1][0] = -(m[0][1] * m[2][2] - m[0][2] * m[2][1]) / d;
  c[1][1] = (m[0][0] * m[2][2] - m[0][2] * m[2][0]) / d;
  c[1][2] = -(m[0][0] * m[2][1] - m[0][1] * m[2][0]) / d;
  c[2][0] = (m[0][1] * m[1][2] - m[0][2] * m[1][1]) / d;
  c[2][1] = -(m[0][0] * m[1][2] - m[0][2] * m[1][0]) / d;
  c[2][2] = (m[0][0] * m[1][1] - m[0][1] * m[1][0]) / d;
  return c;
}

/// Nearest orthogonal matrix (polar decomposition by Newton iteration).
M3 orthogonalise(M3 r) {
  for (int it = 0; it < 30; ++it) {
    const M3 t = inverse_transpose(r);
    double delta = 0;
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) {
        const double n = 0.5 * (r[i][j] + t[i][j]);
        delta = std::max(delta, std::fabs(n - r[i][j]));
        r[i][j] = n;
      }
    if (delta < 1e-12) break;
  }
  return r;
}

void set_quaternion(Nifti1Header& h, const Geometry& g) {
  M3 r{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) r[i][j] = g.direction[3 * i + j] * (i < 2 ? -1.0 : 1.0);
  r = orthogonalise(r);
  double qfac = 1.0;
  if (det3(r) < 0) {
    qfac = -1.0;
    for (int i = 0; i < 3; ++i) r[i][2] = -r[i][2];
  }
  double a = r[0][0] + r[1][1] + r[2][2] + 1.0, b, c, d;
  if (a > 0.5) {
    a = 0.5 * std::sqrt(a);
    b = 0.25 * (r[2][1] - r[1][2]) / a;
    c = 0.25 * (r[0][2] - r[2][0]) / a;
    d = 0.25 * (r[1][0] - r[0][1]) / a;
  } else {
    const double xd = 1.0 + r[0][0] - (r[1][1] + r[2][2]);
    const double yd = 1.0 + r[1][1] - (r[0][0] + r[2][2]);
    const double zd = 1.0 + r[2][2] - (r[0][0] + r[1][1]);
    if (xd > 1.0) {
      b = 0.5 * std::sqrt(xd);
      c = 0.25 * (r[0][1] + r[1][0]) / b;
      d = 0.25 * (r[0][2] + r[2][0]) / b;
      a = 0.25 * (r[2][1] - r[1][2]) / b;
    } else if (yd > 1.0) {
      c = 0.5 * std::sqrt(yd);
      b = 0.25 * (r[0][1] + r[1][0]) / c;
      d = 0.25 * (r[1][2] + r[2][1]) / c;
      a = 0.25 * (r[0][2] - r[2][0]) / c;
    } else {
      d = 0.5 * std::sqrt(zd);
      b = 0.25 * (r[0][2] + r[2][0]) / d;
      c = 0.25 * (r[1][2] + r[2][1]) / d;
      a = 0.25 * (r[1][0] - r[0][1]) / d;
    }
    if (a < 0.0) {
      b = -b;
      c = -c;
      d = -d;
    }
  }
  h.quatern_b = static_cast<float>(b);
  h.quatern_c = static_cast<float>(c);
  h.quatern_d = static_cast<float>(d);
  h.pixdim[0] = static_cast<float>(qfac);
}

struct Storage {
  std::int16_t datatype = 16, bitpix = 32;
  double slope = 1.0, inter = 0.0;
};

/// Integer storage when the source was integer data and all values fit.
Storage choose_storage(const Volume& v, const WriteOptions& opt, long& lo, long& hi) {
  Storage s;
  if (!opt.keep_integer_storage || !v.stored || v.stored->slope == 0.0 || v.data.empty()) return s;
  // Range of the stored integers from the float extremes (one vectorisable pass).
  float fmin = v.data[0], fmax = v.data[0];
  for (float x : v.data) {  // written so the compiler vectorises it
    fmin = x < fmin ? x : fmin;
    fmax = x > fmax ? x : fmax;
  }
  const double m = v.stored->slope, b = v.stored->intercept;
  const double r0 = std::nearbyint((fmin - b) / m), r1 = std::nearbyint((fmax - b) / m);
  lo = static_cast<long>(std::min(r0, r1));
  hi = static_cast<long>(std::max(r0, r1));
  if (lo >= -32768 && hi <= 32767)
    s = {4, 16, m, b};
  else if (lo >= 0 && hi <= 65535)
    s = {512, 16, m, b};
  return s;
}

class Sink {
 public:
  Sink(const std::string& path, bool gz, int level) : path_(path) {
    if (gz) {
      const std::string mode = "wb" + std::to_string(std::clamp(level, 1, 9));
      g_ = gzopen(path.c_str(), mode.c_str());
      if (g_) gzbuffer(g_, 1 << 20);
      ok_ = g_ != nullptr;
    } else {
      f_ = std::fopen(path.c_str(), "wb");
      ok_ = f_ != nullptr;
    }
    if (!ok_) throw OutputError(path, std::string("cannot create file (") + std::strerror(errno) + ")");
  }
  ~Sink() {
    // Only reached on an error path (close() is called explicitly on success):
    // release the handle without throwing.
    if (g_) gzclose(g_);
    if (f_) std::fclose(f_);
  }
  void write(const void* p, std::size_t n) {
    if (g_) {
      const char* c = static_cast<const char*>(p);
      while (n > 0 && ok_) {
        const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n, 1u << 30));
        ok_ = gzwrite(g_, c, chunk) == static_cast<int>(chunk);
        c += chunk;
        n -= chunk;
      }
    } else {
      ok_ = ok_ && std::fwrite(p, 1, n, f_) == n;
    }
    if (!ok_) throw OutputError(path_, std::string("write failed (") + std::strerror(errno) + ")");
  }
  void close() {
    bool ok = true;
    if (g_) ok = gzclose(g_) == Z_OK;
    if (f_) ok = std::fclose(f_) == 0;
    g_ = nullptr;
    f_ = nullptr;
    if (!ok && ok_) {
      ok_ = false;
      throw OutputError(path_, std::string("write failed on close (") + std::strerror(errno) + ")");
    }
  }

 private:
  std::string path_;
  gzFile g_ = nullptr;
  std::FILE* f_ = nullptr;
  bool ok_ = true;
};

template <class T>
void write_converted(Sink& sink, const Volume& v, const Storage& s) {
  constexpr std::size_t chunk = 1 << 18;
  std::unique_ptr<T[]> buf(new T[chunk]);
  const bool identity = s.slope == 1.0 && s.inter == 0.0;
  const double inv = 1.0 / s.slope;
  for (std::size_t i = 0; i < v.data.size(); i += chunk) {
    const std::size_t n = std::min(chunk, v.data.size() - i);
    const float* src = v.data.data() + i;
    if (identity) {
      // Values are exact integers here (they came from integer storage).
      for (std::size_t j = 0; j < n; ++j) buf[j] = static_cast<T>(src[j]);
    } else {
      for (std::size_t j = 0; j < n; ++j) {
        const double r = (src[j] - s.inter) * inv;
        buf[j] = static_cast<T>(r >= 0 ? r + 0.5 : r - 0.5);
      }
    }
    sink.write(buf.get(), n * sizeof(T));
  }
}

}  // namespace

void write_nifti(const Volume& v, const std::string& path, bool gz, const WriteOptions& opt) {
  Nifti1Header h;
  std::memset(&h, 0, sizeof h);
  h.sizeof_hdr = 348;
  h.regular = 'r';
  const Geometry& g = v.geom;
  h.dim[0] = v.timepoints > 1 ? 4 : 3;
  for (int i = 0; i < 3; ++i) {
    if (g.size[i] > 32767) throw OutputError(path, "dimension too large for NIfTI-1");
    h.dim[i + 1] = static_cast<std::int16_t>(g.size[i]);
    h.pixdim[i + 1] = static_cast<float>(g.spacing[i]);
  }
  if (v.timepoints > 32767)
    throw OutputError(path, "too many volumes for NIfTI-1 (" + std::to_string(v.timepoints) + ")");
  h.dim[4] = static_cast<std::int16_t>(v.timepoints);
  for (int i = 5; i < 8; ++i) h.dim[i] = 1;
  if (opt.vector) {
    h.dim[0] = 5;
    h.dim[4] = 1;
    h.dim[5] = static_cast<std::int16_t>(v.timepoints);
    h.intent_code = 1007;  // NIFTI_INTENT_VECTOR
  }
  h.pixdim[4] = static_cast<float>(v.timepoints > 1 && !opt.vector ? v.time_step_s : 0.0);
  h.xyzt_units = 2 | 8;  // mm, s
  long lo = 0, hi = 0;
  const Storage s = choose_storage(v, opt, lo, hi);
  h.datatype = s.datatype;
  h.bitpix = s.bitpix;
  h.scl_slope = static_cast<float>(s.slope);
  h.scl_inter = static_cast<float>(s.inter);
  h.vox_offset = 352;
  std::snprintf(h.descrip, sizeof h.descrip, "mrivol %s", version().c_str());
  h.qform_code = 1;
  h.sform_code = 1;
  set_quaternion(h, g);
  // RAS = diag(-1,-1,1) * LPS.
  float* rows[3] = {h.srow_x, h.srow_y, h.srow_z};
  for (int r = 0; r < 3; ++r) {
    const double sgn = r < 2 ? -1.0 : 1.0;
    for (int c = 0; c < 3; ++c) rows[r][c] = static_cast<float>(sgn * g.direction[3 * r + c] * g.spacing[c]);
    rows[r][3] = static_cast<float>(sgn * g.origin[r]);
  }
  h.qoffset_x = h.srow_x[3];
  h.qoffset_y = h.srow_y[3];
  h.qoffset_z = h.srow_z[3];
  std::memcpy(h.magic, "n+1\0", 4);

  Sink sink(path, gz, opt.gzip_level > 0 ? opt.gzip_level : s.datatype == 16 ? 1 : 6);
  sink.write(&h, sizeof h);
  const char ext[4] = {0, 0, 0, 0};
  sink.write(ext, 4);
  if (s.datatype == 4)
    write_converted<std::int16_t>(sink, v, s);
  else if (s.datatype == 512)
    write_converted<std::uint16_t>(sink, v, s);
  else
    sink.write(v.data.data(), v.data.size() * sizeof(float));
  sink.close();
}

std::size_t nifti_nonfinite(const std::string& path) {
  gzFile g = gzopen(path.c_str(), "rb");  // reads plain files too
  if (!g) return 0;
  std::array<unsigned char, 352> h{};
  std::size_t bad = 0;
  if (gzread(g, h.data(), 348) == 348) {
    std::int32_t sizeof_hdr = 0;
    std::int16_t datatype = 0;
    float vox_offset = 0;
    std::memcpy(&sizeof_hdr, h.data(), 4);
    std::memcpy(&datatype, h.data() + 70, 2);
    std::memcpy(&vox_offset, h.data() + 108, 4);
    const bool swap = sizeof_hdr != 348;  // big-endian files: not checked here
    const int bytes = datatype == 16 ? 4 : datatype == 64 ? 8 : 0;
    if (!swap && bytes && vox_offset >= 348 && vox_offset < 1e7 &&
        gzseek(g, static_cast<z_off_t>(vox_offset), SEEK_SET) >= 0) {
      std::vector<unsigned char> buf(1 << 20);
      int n = 0, carry = 0;
      while ((n = gzread(g, buf.data() + carry, static_cast<unsigned>(buf.size() - carry))) > 0) {
        const int have = n + carry, whole = have / bytes * bytes;
        for (int i = 0; i < whole; i += bytes) {
          if (bytes == 4) {
            float x;
            std::memcpy(&x, buf.data() + i, 4);
            bad += !std::isfinite(x);
          } else {
            double x;
            std::memcpy(&x, buf.data() + i, 8);
            bad += !std::isfinite(x);
          }
        }
        carry = have - whole;
        std::memmove(buf.data(), buf.data() + whole, static_cast<std::size_t>(carry));
      }
    }
  }
  gzclose(g);
  return bad;
}

}  // namespace io
}  // namespace mrivol
