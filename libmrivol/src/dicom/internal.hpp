// Internal records of the DICOM module (not installed).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mrivol/core/buffer.hpp"
#include "mrivol/core/geometry.hpp"
#include "mrivol/core/metadata.hpp"
#include "mrivol/dicom/series.hpp"

class DcmFileFormat;
class DcmItem;
class DcmDataset;

namespace mrivol {
namespace dicom {

/// What a file's header says about the whole file (shared by its images).
struct FileHeader {
  std::string path;
  bool gz = false;
  Acquisition acq;
  PatientIdentity patient;
  std::string transfer_syntax;
  unsigned rows = 0, cols = 0, frames = 1, samples = 1;
  unsigned bits_allocated = 16, bits_stored = 16, high_bit = 15;
  bool is_signed = false;
  std::string photometric;
  std::size_t pixel_bytes = 0;  ///< length of the PixelData element (0 if encapsulated/unknown)
  /// File offset of native little-endian pixel data when it is the last
  /// element (verified at scan); 0 = decode through DCMTK.
  std::size_t pixel_offset = 0;
};

/// One 2D image: a classic file, one frame of a multi-frame file, or one
/// tile of a Siemens mosaic.
struct Image {
  std::shared_ptr<const FileHeader> file;
  std::size_t file_order = 0;   ///< index of the file in the sorted scan
  unsigned frame = 0;           ///< frame index in the file's pixel data
  int tile = -1;                ///< mosaic tile index, or -1
  unsigned tiles_per_row = 1;   ///< mosaic layout
  unsigned rows = 0, cols = 0;  ///< size of this image (tile size for mosaic)
  Vec3 ipp{}, row_dir{}, col_dir{};
  double dx = 0, dy = 0;  ///< spacing along a row (between columns) and between rows
  double slope = 1, intercept = 0;
  std::string series_uid, sop_uid;
  int series_number = 0;
  std::optional<int> echo_number, acquisition_number, instance_number, temporal_index;
  std::optional<double> echo_time, acq_time_s, b_value;
  std::string component;              ///< "", "ph", "real", "imag", "fieldmap", "derived"...
  std::optional<Vec3> mosaic_normal;  ///< Siemens CSA SliceNormalVector
  std::optional<double> mosaic_spacing;
};

struct ImageList {
  std::vector<Image> images;  ///< volume-major: images[t * nz + k]
  std::size_t nz = 0, nt = 1;
};

/// A DICOM dictionary entry (the tables generated from DCMTK's dicom.dic by
/// cmake/make_dicom_dict.cmake).
struct DictRow {
  std::uint16_t group, element;
  const char *vr, *name;
  int vm_min, vm_max;
};

/// Decimal String text of a value (10 significant digits; |v| < 1e-12 is 0).
std::string ds_text(double v);

/// A UID under the 2.25 root (PS3.5 B.2) from the first 128 bits of
/// SHA-256(seed): the same seed always gives the same UID.
std::string uid_from_seed(const std::string& seed);

/// Register the DCMTK decoders once (thread-safe).
void register_codecs();

/// Add every standard entry to DCMTK's dictionary (the loader runs with a
/// subset): needed by de-identification and by dcmseg/dcmiod. Once, thread-safe.
void use_full_dictionary();

enum class FileKind { dicom, not_dicom, unreadable };

/// Open a file as DICOM. Returns nullptr with kind/why set when the file is
/// not DICOM or cannot be read or parsed. Gzip-compressed files are
/// decompressed in memory. With header_only, large values (pixel data) are
/// left on disk and read on first access.
std::unique_ptr<DcmFileFormat> open_file(const std::string& path, bool header_only, bool& gz, FileKind& kind,
                                         std::string& why);

/// Header extraction: the images a file contributes (empty + reason if none).
/// When a file is unreadable but its SeriesInstanceUID is known, it is
/// returned in failed_series_uid so the series can be marked incomplete.
std::vector<Image> read_images(const std::string& path, std::size_t file_order, FileKind& kind,
                               std::string& skip_reason, std::string& failed_series_uid);

/// Siemens CSA header: value of a named element (first item), if present.
std::optional<std::string> csa_value(const unsigned char* data, std::size_t len, const std::string& name,
                                     unsigned item = 0);

/// Group images into series (split, order, validate).
std::vector<SeriesInfo> assemble(std::vector<Image> images, const ScanOptions& opt, std::size_t& duplicates,
                                 std::vector<std::string>& messages);

/// Decode all frames of a file to raw stored integers (no rescale), sign
/// extended and masked to BitsStored: frames * rows * cols values.
std::vector<std::int32_t, VoxelAllocator<std::int32_t>> decode_raw(const FileHeader& fh);

/// JPEG 2000 (which open-source DCMTK cannot decode) through OpenJPEG.
std::vector<std::int32_t, VoxelAllocator<std::int32_t>> decode_jpeg2000(const FileHeader& fh, DcmDataset* ds);

}  // namespace dicom
}  // namespace mrivol
