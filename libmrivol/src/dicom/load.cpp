// Pixel decoding and volume assembly.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>

#include "../core/parallel.hpp"
#include "internal.hpp"
#include "mrivol/core/error.hpp"

namespace mrivol {
namespace dicom {
namespace {

template <class T>
void convert(const T* src, std::size_t n, const FileHeader& fh, std::int32_t* dst) {
  const unsigned bs = fh.bits_stored, ba = fh.bits_allocated;
  const unsigned shift = (fh.high_bit + 1 >= bs && fh.high_bit < ba) ? fh.high_bit + 1 - bs : 0;
  if (bs == ba && shift == 0) {
    if (fh.is_signed) {
      using S = std::make_signed_t<T>;
      for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<S>(src[i]);
    } else {
      for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<std::int32_t>(src[i]);
    }
    return;
  }
  if (sizeof(T) == 4 && !fh.is_signed && bs > 31) {
    for (std::size_t i = 0; i < n; ++i)
      if (static_cast<std::uint32_t>(src[i]) > 0x7fffffffu)
        throw DicomError(fh.path, "unsigned 32-bit pixel values above 2147483647 are not supported");
  }
  const std::uint32_t mask = bs >= 32 ? 0xffffffffu : ((1u << bs) - 1u);
  const std::uint32_t sign = 1u << (bs - 1);
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t v = (static_cast<std::uint32_t>(src[i]) >> shift) & mask;
    if (fh.is_signed && (v & sign)) v |= ~mask;
    dst[i] = static_cast<std::int32_t>(v);
  }
}

}  // namespace

std::vector<std::int32_t, VoxelAllocator<std::int32_t>> decode_raw(const FileHeader& fh) {
  const std::size_t total = std::size_t(fh.rows) * fh.cols * fh.frames * fh.samples;
  const std::size_t bytes = fh.bits_allocated / 8;
  if (fh.pixel_offset > 0) {
    // Fast path (native little endian, pixel data last, verified at scan):
    // read the values directly, as dcm2niix does, without a second parse.
    std::vector<unsigned char, VoxelAllocator<unsigned char>> buf(total * bytes);
    std::FILE* f = std::fopen(fh.path.c_str(), "rb");
    const bool ok = f && std::fseek(f, static_cast<long>(fh.pixel_offset), SEEK_SET) == 0 &&
                    std::fread(buf.data(), 1, buf.size(), f) == buf.size();
    if (f) std::fclose(f);
    if (!ok) throw DicomError(fh.path, "cannot read pixel data (file changed or truncated since the scan?)");
    std::vector<std::int32_t, VoxelAllocator<std::int32_t>> out(total);
    if (bytes == 1)
      convert(buf.data(), total, fh, out.data());
    else if (bytes == 2)
      convert(reinterpret_cast<const std::uint16_t*>(buf.data()), total, fh, out.data());
    else
      convert(reinterpret_cast<const std::uint32_t*>(buf.data()), total, fh, out.data());
    return out;
  }
  bool gz = false;
  FileKind kind;
  std::string why;
  auto ff = open_file(fh.path, /*header_only=*/false, gz, kind, why);
  if (!ff) throw DicomError(fh.path, why);
  DcmDataset* ds = ff->getDataset();
  if (DcmXfer(ds->getOriginalXfer()).isEncapsulated()) {
    const OFCondition c = ds->chooseRepresentation(EXS_LittleEndianExplicit, nullptr);
    if (c.bad() || !ds->canWriteXfer(EXS_LittleEndianExplicit)) {
      const E_TransferSyntax x = ds->getOriginalXfer();
      if (x == EXS_JPEG2000LosslessOnly || x == EXS_JPEG2000) return decode_jpeg2000(fh, ds);
      throw DicomError(fh.path, "cannot decode transfer syntax " + transfer_syntax_name(fh.transfer_syntax) +
                                    " (" + (c.bad() ? c.text() : "no decoder") + ")");
    }
  }
  DcmElement* px = nullptr;
  if (ds->findAndGetElement(DCM_PixelData, px).bad() || px == nullptr)
    throw DicomError(fh.path, "no pixel data");
  const std::size_t have = px->getLength();
  if (have < total * bytes)
    throw DicomError(fh.path, "pixel data is " + std::to_string(have) + " bytes, " +
                                  std::to_string(total * bytes) + " expected (truncated file?)");
  std::vector<std::int32_t, VoxelAllocator<std::int32_t>> out(total);
  Uint8* p8 = nullptr;
  Uint16* p16 = nullptr;
  OFCondition st;
  if (bytes == 1) {
    st = px->getUint8Array(p8);
    if (st.good() && p8) convert(p8, total, fh, out.data());
  } else {
    st = px->getUint16Array(p16);
    if (st.bad() || !p16) {
      st = px->getUint8Array(p8);
      p16 = reinterpret_cast<Uint16*>(p8);
    }
    if (st.good() && p16) {
      if (bytes == 2) {
        convert(p16, total, fh, out.data());
      } else {
        std::vector<std::uint32_t> w(total);
        std::memcpy(w.data(), p16, total * 4);
        convert(w.data(), total, fh, out.data());
      }
    }
  }
  if (st.bad() || (!p8 && !p16))
    throw DicomError(fh.path, std::string("cannot read pixel data (") + st.text() + ")");
  return out;
}

Volume load(const SeriesInfo& s, const LoadOptions& opt, Reporter& rep) {
  if (!s.images_ || s.images_->images.empty()) throw DicomError(s.label, "series has no images");
  const ImageList& L = *s.images_;
  const Image& f0 = L.images.front();
  if (!s.error.empty()) throw DicomError(f0.file->path, s.error);

  Volume v;
  v.geom = s.geom;
  v.timepoints = L.nt;
  const std::size_t nx = s.geom.size[0], ny = s.geom.size[1];
  const std::size_t plane = nx * ny;
  v.data.resize(plane * L.nz * L.nt);  // not zero-filled: every plane is written below

  // Which images each file provides, so every file is decoded once.
  std::map<std::size_t, std::vector<std::size_t>> by_file;
  for (std::size_t i = 0; i < L.images.size(); ++i) by_file[L.images[i].file_order].push_back(i);
  std::vector<std::vector<std::size_t>> jobs;
  for (auto& [order, idx] : by_file) jobs.push_back(std::move(idx));

  std::atomic<std::size_t> done{0};
  parallel_for(jobs.size(), opt.threads, [&](std::size_t j) {
    const FileHeader& fh = *L.images[jobs[j].front()].file;
    const auto raw = decode_raw(fh);
    const std::size_t frame_px = std::size_t(fh.rows) * fh.cols;
    for (std::size_t idx : jobs[j]) {
      const Image& im = L.images[idx];
      float* dst = v.data.data() + idx * plane;
      const std::int32_t* src = raw.data() + im.frame * frame_px;
      const float m = static_cast<float>(im.slope), b = static_cast<float>(im.intercept);
      const bool identity = im.slope == 1.0 && im.intercept == 0.0;
      if (im.tile >= 0) {
        const std::size_t tr = static_cast<std::size_t>(im.tile) / im.tiles_per_row;
        const std::size_t tc = static_cast<std::size_t>(im.tile) % im.tiles_per_row;
        for (std::size_t r = 0; r < ny; ++r) {
          const std::int32_t* row = src + (tr * ny + r) * fh.cols + tc * nx;
          for (std::size_t c = 0; c < nx; ++c) dst[r * nx + c] = identity ? row[c] : row[c] * m + b;
        }
      } else if (identity) {
        for (std::size_t p = 0; p < plane; ++p) dst[p] = static_cast<float>(src[p]);
      } else {
        for (std::size_t p = 0; p < plane; ++p)
          dst[p] = static_cast<float>(static_cast<double>(src[p]) * im.slope + im.intercept);
      }
    }
    const std::size_t d = ++done;
    rep.progress("load", static_cast<double>(d) / jobs.size());
  });

  // Metadata and how the values were stored.
  v.meta.acq = f0.file->acq;
  v.meta.patient = f0.file->patient;
  v.meta.acq.source_files = s.files;
  v.meta.acq.volume_label = s.volume_label;
  if (f0.echo_time) v.meta.acq.echo_time_ms = f0.echo_time;
  if (f0.echo_number) v.meta.acq.echo_number = f0.echo_number;
  v.meta.warnings = s.warnings;
  for (std::size_t k = 0; k < L.nz && k < L.images.size(); ++k) {
    const Image& im = L.images[k];
    v.meta.acq.source_sop_uids.push_back(im.sop_uid);
    v.meta.acq.source_frames.push_back(im.file->frames > 1 && im.tile < 0 ? im.frame + 1 : 0);
  }
  bool uniform = true;
  for (const auto& im : L.images) uniform = uniform && im.slope == f0.slope && im.intercept == f0.intercept;
  if (uniform && f0.file->bits_allocated <= 16)
    v.stored =
        StoredScaling{f0.slope, f0.intercept, f0.file->is_signed, static_cast<int>(f0.file->bits_allocated)};
  for (std::size_t t = 0; t < L.nt; ++t) {
    const Image& im = L.images[t * L.nz];
    if (im.b_value) v.meta.acq.b_values.push_back(*im.b_value);
  }
  if (v.meta.acq.b_values.size() != L.nt) v.meta.acq.b_values.clear();
  if (L.nt > 1 && v.meta.acq.repetition_time_ms) v.time_step_s = *v.meta.acq.repetition_time_ms / 1000.0;
  return v;
}

}  // namespace dicom
}  // namespace mrivol
