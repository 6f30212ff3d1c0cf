#include "mrivol/core/buffer.hpp"

#include <sys/mman.h>

#include <cstdlib>

namespace mrivol {
namespace detail {

void* big_alloc(std::size_t bytes) {
  constexpr std::size_t huge = std::size_t(2) << 20;
  void* p = nullptr;
  if (bytes >= 2 * huge) {
    const std::size_t rounded = (bytes + huge - 1) / huge * huge;
    p = std::aligned_alloc(huge, rounded);
#ifdef MADV_HUGEPAGE
    if (p) ::madvise(p, rounded, MADV_HUGEPAGE);  // advice only; failure is harmless
#endif
  } else {
    p = std::malloc(bytes > 0 ? bytes : 1);
  }
  if (!p) throw std::bad_alloc();
  return p;
}

void big_free(void* p) noexcept { std::free(p); }

}  // namespace detail
}  // namespace mrivol
