// SHA-256 (FIPS 180-4), for input checksums in provenance records.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace mrivol {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, std::size_t len);
  /// Hex digest; the object must not be updated afterwards.
  std::string hex();

 private:
  void block(const unsigned char* p);
  std::uint32_t h_[8];
  unsigned char buf_[64];
  std::size_t buf_len_ = 0;
  std::uint64_t total_ = 0;
};

std::string sha256_hex(const void* data, std::size_t len);
/// Hex digest of a file's bytes; throws InputError when unreadable.
std::string sha256_file(const std::string& path);

}  // namespace mrivol
