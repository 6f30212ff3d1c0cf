// JPEG 2000 frames (open-source DCMTK has no codec for them) decoded with
// OpenJPEG straight from the encapsulated fragments DCMTK has parsed.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <openjpeg-2.5/openjpeg.h>  // explicit: ITK ships an older openjpeg.h on its include path

#include <algorithm>
#include <cstring>
#include <memory>

#include "internal.hpp"
#include "mrivol/core/error.hpp"

namespace mrivol {
namespace dicom {
namespace {

struct Mem {
  const unsigned char* p;
  std::size_t n, pos;
};

OPJ_SIZE_T mem_read(void* buf, OPJ_SIZE_T n, void* u) {
  auto* m = static_cast<Mem*>(u);
  if (m->pos >= m->n) return static_cast<OPJ_SIZE_T>(-1);
  n = std::min<OPJ_SIZE_T>(n, m->n - m->pos);
  std::memcpy(buf, m->p + m->pos, n);
  m->pos += n;
  return n;
}
OPJ_OFF_T mem_skip(OPJ_OFF_T n, void* u) {
  auto* m = static_cast<Mem*>(u);
  const OPJ_OFF_T room = static_cast<OPJ_OFF_T>(m->n - m->pos);
  n = std::clamp<OPJ_OFF_T>(n, -static_cast<OPJ_OFF_T>(m->pos), room);
  m->pos = static_cast<std::size_t>(static_cast<OPJ_OFF_T>(m->pos) + n);
  return n;
}
OPJ_BOOL mem_seek(OPJ_OFF_T n, void* u) {
  auto* m = static_cast<Mem*>(u);
  if (n < 0 || static_cast<std::size_t>(n) > m->n) return OPJ_FALSE;
  m->pos = static_cast<std::size_t>(n);
  return OPJ_TRUE;
}
void quiet(const char*, void*) {}

void decode_codestream(const FileHeader& fh, const std::vector<unsigned char>& cs, std::int32_t* out) {
  const bool jp2 = cs.size() > 8 && cs[4] == 'j' && cs[5] == 'P';
  std::unique_ptr<opj_codec_t, void (*)(opj_codec_t*)> codec(
      opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K), opj_destroy_codec);
  std::unique_ptr<opj_stream_t, void (*)(opj_stream_t*)> stream(opj_stream_create(1 << 16, OPJ_TRUE),
                                                                opj_stream_destroy);
  if (!codec || !stream) throw DicomError(fh.path, "cannot start the JPEG 2000 decoder");
  opj_set_info_handler(codec.get(), quiet, nullptr);
  opj_set_warning_handler(codec.get(), quiet, nullptr);
  opj_set_error_handler(codec.get(), quiet, nullptr);
  Mem m{cs.data(), cs.size(), 0};
  opj_stream_set_read_function(stream.get(), mem_read);
  opj_stream_set_skip_function(stream.get(), mem_skip);
  opj_stream_set_seek_function(stream.get(), mem_seek);
  opj_stream_set_user_data(stream.get(), &m, nullptr);
  opj_stream_set_user_data_length(stream.get(), cs.size());
  opj_dparameters_t params;
  opj_set_default_decoder_parameters(&params);
  opj_image_t* raw = nullptr;
  const bool ok = opj_setup_decoder(codec.get(), &params) &&
                  opj_read_header(stream.get(), codec.get(), &raw) &&
                  opj_decode(codec.get(), stream.get(), raw) && opj_end_decompress(codec.get(), stream.get());
  std::unique_ptr<opj_image_t, void (*)(opj_image_t*)> img(raw, opj_image_destroy);
  if (!ok || !img || img->numcomps < 1) throw DicomError(fh.path, "corrupt JPEG 2000 pixel data");
  const opj_image_comp_t& c = img->comps[0];
  if (img->numcomps != 1 || c.w != fh.cols || c.h != fh.rows)
    throw DicomError(fh.path, "JPEG 2000 frame is " + std::to_string(c.w) + "x" + std::to_string(c.h) + "x" +
                                  std::to_string(img->numcomps) + ", header says " + std::to_string(fh.cols) +
                                  "x" + std::to_string(fh.rows) + "x1");
  std::copy(c.data, c.data + std::size_t(c.w) * c.h, out);
}

}  // namespace

std::vector<std::int32_t, VoxelAllocator<std::int32_t>> decode_jpeg2000(const FileHeader& fh,
                                                                        DcmDataset* ds) {
  DcmElement* el = nullptr;
  DcmPixelData* pd = nullptr;
  if (ds->findAndGetElement(DCM_PixelData, el).good()) pd = dynamic_cast<DcmPixelData*>(el);
  DcmPixelSequence* seq = nullptr;
  if (!pd || pd->getEncapsulatedRepresentation(ds->getOriginalXfer(), nullptr, seq).bad() || !seq)
    throw DicomError(fh.path, "JPEG 2000 pixel data is not encapsulated");
  // Fragments -> frames: a fragment starting with the SOC marker (FF 4F)
  // or a JP2 signature box begins a new frame.
  std::vector<std::vector<unsigned char>> frames;
  for (unsigned long i = 1; i < seq->card(); ++i) {
    DcmPixelItem* item = nullptr;
    Uint8* data = nullptr;
    if (seq->getItem(item, i).bad() || !item || item->getUint8Array(data).bad()) continue;
    const std::size_t len = item->getLength();
    const bool starts =
        len >= 2 && ((data[0] == 0xFF && data[1] == 0x4F) || (len >= 8 && data[4] == 'j' && data[5] == 'P'));
    if (frames.empty() || (starts && frames.size() < fh.frames)) frames.emplace_back();
    frames.back().insert(frames.back().end(), data, data + len);
  }
  if (frames.size() != fh.frames)
    throw DicomError(fh.path, "found " + std::to_string(frames.size()) + " JPEG 2000 frames, header says " +
                                  std::to_string(fh.frames));
  const std::size_t per = std::size_t(fh.rows) * fh.cols;
  std::vector<std::int32_t, VoxelAllocator<std::int32_t>> out(per * fh.frames);
  for (std::size_t f = 0; f < frames.size(); ++f) decode_codestream(fh, frames[f], out.data() + f * per);
  return out;
}

}  // namespace dicom
}  // namespace mrivol
