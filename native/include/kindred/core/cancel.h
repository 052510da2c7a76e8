// Cooperative cancellation: long operations poll a CancelToken between tiles and stop with
// Code::kCancelled. The flag may live in memory owned by someone else (the addon points it at an
// Int32Array that JavaScript sets with Atomics.store), so the token only borrows it.
#pragma once

#include <atomic>
#include <cstdint>

#include "kindred/core/error.h"

namespace kindred {

class CancelToken {
 public:
  // A token that never fires.
  CancelToken() noexcept : flag_(&own_) {}
  // A token reading an external 32-bit flag; non-zero means cancelled. The flag must outlive the token.
  explicit CancelToken(const std::int32_t* external) noexcept : flag_(external ? external : &own_) {}

  CancelToken(const CancelToken&) = delete;
  CancelToken& operator=(const CancelToken&) = delete;

  bool cancelled() const noexcept { return __atomic_load_n(flag_, __ATOMIC_RELAXED) != 0; }
  void cancel() noexcept { __atomic_store_n(&own_, 1, __ATOMIC_RELAXED); }

  void throw_if_cancelled() const {
    if (cancelled()) throw Error(Code::kCancelled, "the operation was cancelled");
  }

 private:
  std::int32_t own_ = 0;
  const std::int32_t* flag_;
};

}  // namespace kindred
