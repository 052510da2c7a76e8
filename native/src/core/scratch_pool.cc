#include "kindred/core/scratch_pool.h"

#include <algorithm>
#include <cstdlib>
#include <mutex>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace kindred {
namespace {

constexpr std::size_t kAlign = 64;
constexpr std::size_t kHugePage = std::size_t{2} << 20;

// A pooled block starts with this header (one alignment unit), so that a block handed out for a
// smaller request still knows its own size when it comes back.
struct Header {
  std::size_t capacity;  // usable bytes after the header
};

struct Pool {
  std::mutex mutex;
  std::vector<Header*> kept;  // freed blocks, newest last
  std::size_t kept_bytes = 0;
};

Pool& pool() {
  // Never destroyed: a block may come back during static destruction.
  static Pool* instance = new Pool();
  return *instance;
}

std::size_t round_up(std::size_t bytes, std::size_t unit) { return (bytes + unit - 1) / unit * unit; }

void* payload(Header* header) { return reinterpret_cast<char*>(header) + kAlign; }
Header* header_of(void* block) { return reinterpret_cast<Header*>(static_cast<char*>(block) - kAlign); }

Header* new_block(std::size_t bytes) {
  const std::size_t capacity = round_up(bytes, kAlign);
  const std::size_t alignment = capacity + kAlign >= kHugePage ? kHugePage : kAlign;
  const std::size_t size = round_up(capacity + kAlign, alignment);
  void* memory = std::aligned_alloc(alignment, size);
  if (memory == nullptr) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  // Advice only: where transparent huge pages are off, nothing changes.
  if (alignment == kHugePage) madvise(memory, size, MADV_HUGEPAGE);
#endif
  auto* header = static_cast<Header*>(memory);
  header->capacity = capacity;
  return header;
}

}  // namespace

void* scratch_allocate(std::size_t bytes) {
  if (bytes < kScratchMinBytes) {
    void* memory = std::aligned_alloc(kAlign, std::max(kAlign, round_up(bytes, kAlign)));
    if (memory == nullptr) throw std::bad_alloc();
    return memory;
  }
  {
    Pool& p = pool();
    std::lock_guard<std::mutex> lock(p.mutex);
    // The smallest kept block that fits and wastes at most half of itself.
    auto best = p.kept.end();
    for (auto it = p.kept.begin(); it != p.kept.end(); ++it) {
      const std::size_t capacity = (*it)->capacity;
      if (capacity >= bytes && capacity / 2 <= bytes && (best == p.kept.end() || capacity < (*best)->capacity)) best = it;
    }
    if (best != p.kept.end()) {
      Header* header = *best;
      p.kept.erase(best);
      p.kept_bytes -= header->capacity;
      return payload(header);
    }
  }
  return payload(new_block(bytes));
}

void scratch_free(void* block, std::size_t bytes) noexcept {
  if (block == nullptr) return;
  if (bytes < kScratchMinBytes) {
    std::free(block);
    return;
  }
  Header* header = header_of(block);
  {
    Pool& p = pool();
    std::lock_guard<std::mutex> lock(p.mutex);
    if (p.kept_bytes + header->capacity <= kScratchKeptBytes) {
      try {
        p.kept.push_back(header);
        p.kept_bytes += header->capacity;
        return;
      } catch (...) {
        // No room to remember it: free it below.
      }
    }
  }
  std::free(header);
}

std::size_t scratch_kept_bytes() noexcept {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  return p.kept_bytes;
}

void scratch_release() noexcept {
  std::vector<Header*> blocks;
  {
    Pool& p = pool();
    std::lock_guard<std::mutex> lock(p.mutex);
    blocks.swap(p.kept);
    p.kept_bytes = 0;
  }
  for (Header* header : blocks) std::free(header);
}

}  // namespace kindred
