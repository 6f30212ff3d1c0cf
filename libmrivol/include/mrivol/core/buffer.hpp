// Voxel storage: a std::vector whose allocator does not zero-fill on resize
// (every loader writes each voxel exactly once) and places large blocks on
// transparent huge pages, so faulting in a 200 MB volume costs little and
// happens in the worker threads that fill it.
#pragma once

#include <cstddef>
#include <new>
#include <utility>
#include <vector>

namespace mrivol {
namespace detail {
void* big_alloc(std::size_t bytes);
void big_free(void* p) noexcept;
}  // namespace detail

template <class T>
struct VoxelAllocator {
  using value_type = T;
  VoxelAllocator() = default;
  template <class U>
  VoxelAllocator(const VoxelAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(detail::big_alloc(n * sizeof(T))); }
  void deallocate(T* p, std::size_t) noexcept { detail::big_free(p); }
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;  // default-init: no zero fill
  }
  template <class U, class... A>
  void construct(U* p, A&&... a) {
    ::new (static_cast<void*>(p)) U(std::forward<A>(a)...);
  }
  template <class U>
  bool operator==(const VoxelAllocator<U>&) const noexcept {
    return true;
  }
  template <class U>
  bool operator!=(const VoxelAllocator<U>&) const noexcept {
    return false;
  }
};

using FloatBuffer = std::vector<float, VoxelAllocator<float>>;

}  // namespace mrivol
