// Opening files as DICOM with DCMTK: sniffing, gzip, codec registration.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdicent.h>
#include <dcmtk/dcmdata/dcdict.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcistrmb.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/oflog/oflog.h>
#include <zlib.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>

#include "internal.hpp"
#include "mrivol/core/error.hpp"

namespace mrivol {
namespace dicom {

namespace {

const DictRow kDictionary[] = {
#include "dicom_dict.inc"
};

/// DCMTK parses its whole text dictionary (~5000 entries, ~20 ms) on first
/// use. Unless the user chose a dictionary (DCMDICTPATH) or asked for the
/// full one (MRIVOL_FULL_DICOM_DICTIONARY=1), start DCMTK with an empty
/// dictionary and add only the entries the loader reads. Tags outside it are
/// still parsed (as UN in implicit-VR files) and never interpreted.
void setup_dictionary() {
  const bool user_choice =
      std::getenv("DCMDICTPATH") != nullptr || std::getenv("MRIVOL_FULL_DICOM_DICTIONARY") != nullptr;
  if (!user_choice) ::setenv("DCMDICTPATH", "/dev/null", 0);
  DcmDataDictionary& dict = dcmDataDict.wrlock();
  if (dict.numberOfNormalTagEntries() < 1000) {
    for (const DictRow& r : kDictionary)
      dict.addEntry(new DcmDictEntry(r.group, r.element, DcmVR(r.vr), r.name, r.vm_min, r.vm_max, "DICOM",
                                     OFFalse, nullptr));
  }
  dcmDataDict.wrunlock();
}

}  // namespace

void register_codecs() {
  static std::once_flag once;
  std::call_once(once, [] {
    // The library never prints: silence DCMTK's own logger.
    OFLog::configure(OFLogger::FATAL_LOG_LEVEL);
    setup_dictionary();
    DJDecoderRegistration::registerCodecs();    // JPEG baseline/extended/lossless
    DJLSDecoderRegistration::registerCodecs();  // JPEG-LS
    DcmRLEDecoderRegistration::registerCodecs();
  });
}

namespace {

bool looks_like_raw_dataset(const unsigned char* b, std::size_t n) {
  // ACR-NEMA / preamble-less DICOM starts with a group 0x0008 (or 0x0002)
  // element in little endian; accept only that, as dcm2niix does.
  return n >= 8 && b[1] == 0x00 && (b[0] == 0x08 || b[0] == 0x02) && b[3] == 0x00;
}

bool read_gz(const std::string& path, std::vector<unsigned char>& out, std::string& why) {
  gzFile g = gzopen(path.c_str(), "rb");
  if (!g) {
    why = "cannot open gzip file";
    return false;
  }
  gzbuffer(g, 1 << 20);
  unsigned char chunk[1 << 16];
  int n;
  while ((n = gzread(g, chunk, sizeof chunk)) > 0) {
    out.insert(out.end(), chunk, chunk + n);
    if (out.size() > (std::size_t(8) << 30)) {
      gzclose(g);
      why = "gzip content larger than 8 GiB";
      return false;
    }
  }
  int err = 0;
  const char* msg = gzerror(g, &err);
  const bool ok = n == 0 && err == Z_OK;
  if (!ok) why = std::string("corrupt gzip data (") + (msg ? msg : "?") + ")";
  gzclose(g);
  return ok;
}

}  // namespace

std::unique_ptr<DcmFileFormat> open_file(const std::string& path, bool header_only, bool& gz, FileKind& kind,
                                         std::string& why) {
  register_codecs();
  gz = false;
  kind = FileKind::not_dicom;
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    kind = FileKind::unreadable;
    why = std::string("cannot open (") + std::strerror(errno) + ")";
    return nullptr;
  }
  unsigned char head[132] = {};
  f.read(reinterpret_cast<char*>(head), sizeof head);
  const std::size_t got = static_cast<std::size_t>(f.gcount());
  f.close();
  if (got == 0) {
    why = "empty file";
    return nullptr;
  }

  std::vector<unsigned char> buf;
  const unsigned char* b = head;
  std::size_t n = got;
  if (got >= 2 && head[0] == 0x1f && head[1] == 0x8b) {
    if (!read_gz(path, buf, why)) {
      kind = FileKind::unreadable;
      return nullptr;
    }
    gz = true;
    b = buf.data();
    n = buf.size();
  }
  const bool has_preamble = n >= 132 && std::memcmp(b + 128, "DICM", 4) == 0;
  if (!has_preamble && !looks_like_raw_dataset(b, n)) {
    why = gz ? "gzip file does not contain DICOM" : "not a DICOM file";
    return nullptr;
  }

  auto ff = std::make_unique<DcmFileFormat>();
  OFCondition st;
  if (gz) {
    DcmInputBufferStream is;
    is.setBuffer(buf.data(), static_cast<offile_off_t>(buf.size()));
    is.setEos();
    ff->transferInit();
    st = ff->read(is, EXS_Unknown, EGL_noChange, DCM_MaxReadLength);
    ff->transferEnd();
    if (st.good()) ff->loadAllDataIntoMemory();
  } else {
    st = ff->loadFile(path.c_str(), EXS_Unknown, EGL_noChange,
                      // Full loads read every value now, so a file cut short fails here
                      // instead of yielding zero-filled pixels later.
                      header_only ? 4096 : 0xFFFFFFFEu, ERM_autoDetect);
  }
  if (st.bad()) {
    kind = FileKind::unreadable;
    why = std::string("corrupt or truncated DICOM (") + st.text() + ")";
    return nullptr;
  }
  kind = FileKind::dicom;
  return ff;
}

}  // namespace dicom
}  // namespace mrivol
