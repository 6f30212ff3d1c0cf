// Internal: a minimal parallel-for over independent items. Each index is
// processed exactly once; results written by index stay deterministic.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace mrivol {

inline unsigned resolve_threads(unsigned requested) {
  if (requested > 0) return requested;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? hw : 1;
}

/// Calls fn(i) for i in [0,n) on up to `threads` threads. The first exception
/// thrown (lowest index wins, for determinism) is rethrown after all stop.
template <class Fn>
void parallel_for(std::size_t n, unsigned threads, Fn&& fn) {
  threads = std::min<unsigned>(resolve_threads(threads), static_cast<unsigned>(std::max<std::size_t>(n, 1)));
  std::atomic<std::size_t> next{0};
  std::mutex m;
  std::exception_ptr err;
  std::size_t err_index = n;
  auto worker = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < n;) {
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(m);
        if (i < err_index) {
          err_index = i;
          err = std::current_exception();
        }
      }
    }
  };
  if (threads <= 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
  }
  if (err) std::rethrow_exception(err);
}

}  // namespace mrivol
