// Internal: splitmix64 (Steele, Lea and Flood 2014), the project's one
// seeded pseudo-random stream: fast, and the same numbers on every platform
// and thread count.
#pragma once

#include <cstdint>

namespace mrivol {

/// The splitmix64 finaliser of x + the golden gamma: a stateless hash.
inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// A splitmix64 stream from `state`.
struct SplitMix64 {
  std::uint64_t state;
  std::uint64_t next() {
    const std::uint64_t x = state;
    state += 0x9e3779b97f4a7c15ULL;
    return splitmix64(x);
  }
  /// Uniform in [0, 1), 53 bits.
  double unit() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }
};

}  // namespace mrivol
