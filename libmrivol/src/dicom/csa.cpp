// Siemens CSA header (private tags 0029,1010 / 0029,1020): a small binary
// table of named elements. Two layouts exist: CSA2 ("SV10" signature) and the
// older CSA1 (no signature). Both are parsed defensively: every length is
// checked against the buffer before it is used.
#include <cstdint>
#include <cstring>

#include "internal.hpp"

namespace mrivol {
namespace dicom {
namespace {

struct Reader {
  const unsigned char* p;
  std::size_t len, pos = 0;
  bool ok(std::size_t n) const { return pos + n <= len; }
  std::uint32_t u32() {
    std::uint32_t v = static_cast<std::uint32_t>(p[pos]) | (static_cast<std::uint32_t>(p[pos + 1]) << 8) |
                      (static_cast<std::uint32_t>(p[pos + 2]) << 16) |
                      (static_cast<std::uint32_t>(p[pos + 3]) << 24);
    pos += 4;
    return v;
  }
};

}  // namespace

std::optional<std::string> csa_value(const unsigned char* data, std::size_t len, const std::string& name,
                                     unsigned item) {
  if (data == nullptr || len < 16) return std::nullopt;
  Reader r{data, len};
  const bool csa2 = std::memcmp(data, "SV10", 4) == 0;
  if (csa2) r.pos = 8;
  if (!r.ok(8)) return std::nullopt;
  const std::uint32_t ntags = r.u32();
  r.u32();  // unused (77)
  if (ntags == 0 || ntags > 1000) return std::nullopt;
  for (std::uint32_t t = 0; t < ntags; ++t) {
    if (!r.ok(64 + 4 * 5)) return std::nullopt;
    char tag_name[65];
    std::memcpy(tag_name, data + r.pos, 64);
    tag_name[64] = '\0';
    r.pos += 64;
    r.u32();     // vm
    r.pos += 4;  // vr
    r.u32();     // syngodt
    const std::uint32_t nitems = r.u32();
    r.u32();  // 77 or 205
    if (nitems > 10000) return std::nullopt;
    const bool match = name == tag_name;
    for (std::uint32_t i = 0; i < nitems; ++i) {
      if (!r.ok(16)) return std::nullopt;
      std::uint32_t hdr[4];
      for (auto& h : hdr) h = r.u32();
      // CSA2 stores the item length in hdr[1]; CSA1 the same (hdr[0] may be
      // the length too in some versions; hdr[1] is consistent in both).
      const std::uint32_t item_len = hdr[1];
      if (!r.ok(item_len)) return std::nullopt;
      if (match && i == item) {
        std::string v(reinterpret_cast<const char*>(data + r.pos), item_len);
        const auto end = v.find('\0');
        if (end != std::string::npos) v.resize(end);
        while (!v.empty() && (v.back() == ' ')) v.pop_back();
        if (v.empty()) return std::nullopt;
        return v;
      }
      r.pos += (item_len + 3) / 4 * 4;
    }
    if (match) return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace dicom
}  // namespace mrivol
