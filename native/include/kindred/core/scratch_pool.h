// Large scratch arrays reused between calls instead of handed back to the operating system. A fresh
// multi-megabyte array is faulted in page by page (the kernel zeroing each page) on every call; in the
// matcher at N = 10,000 that was about 25 of 160 ms, inside Node as well as in a plain binary. Arrays
// of at least kScratchMinBytes come from one process-wide pool that keeps up to kScratchKeptBytes of
// freed blocks for the next call (on Linux, blocks of 2 MB and more also ask for transparent huge
// pages: 512 times fewer faults when a block is new); smaller arrays use the ordinary heap.
#pragma once

#include <cstddef>
#include <limits>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace kindred {

constexpr std::size_t kScratchMinBytes = std::size_t{256} << 10;
constexpr std::size_t kScratchKeptBytes = std::size_t{256} << 20;

// Memory for `bytes` bytes, 64-byte aligned; a kept block that is large enough (and not more than
// twice as large) when there is one. Throws std::bad_alloc.
void* scratch_allocate(std::size_t bytes);
// Gives back what scratch_allocate(bytes) returned: kept for reuse while the pool holds less than
// kScratchKeptBytes, freed otherwise.
void scratch_free(void* block, std::size_t bytes) noexcept;
// Bytes the pool keeps right now, and a way to free all of them (tests, memory pressure).
std::size_t scratch_kept_bytes() noexcept;
void scratch_release() noexcept;

// A std::allocator for arrays that live for one call: std::vector<T, ScratchAllocator<T>>. Elements
// made without a value are default-initialized, not zeroed: ScratchVector<float> v(n) and
// v.resize(n) leave trivial values unset, because every such array is written before it is read
// and zeroing it first was a pass of its own over megabytes. Use assign(n, value) for a fill.
template <typename T>
struct ScratchAllocator {
  using value_type = T;
  ScratchAllocator() noexcept = default;
  template <typename U>
  ScratchAllocator(const ScratchAllocator<U>&) noexcept {}
  T* allocate(std::size_t count) {
    if (count > std::numeric_limits<std::size_t>::max() / sizeof(T)) throw std::bad_array_new_length();
    return static_cast<T*>(scratch_allocate(count * sizeof(T)));
  }
  void deallocate(T* block, std::size_t count) noexcept { scratch_free(block, count * sizeof(T)); }
  template <typename U>
  void construct(U* at) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(at)) U;
  }
  template <typename U, typename... Args>
  void construct(U* at, Args&&... args) {
    ::new (static_cast<void*>(at)) U(std::forward<Args>(args)...);
  }
  template <typename U>
  bool operator==(const ScratchAllocator<U>&) const noexcept {
    return true;
  }
  template <typename U>
  bool operator!=(const ScratchAllocator<U>&) const noexcept {
    return false;
  }
};

template <typename T>
using ScratchVector = std::vector<T, ScratchAllocator<T>>;

}  // namespace kindred
