// kindred::Error — the one exception type of the native core.
// The core reports failures by throwing it; the addon turns it into a rejected Promise carrying
// `code`. Nothing in the core aborts, asserts or exits.
#pragma once

#include <stdexcept>
#include <string>

namespace kindred {

enum class Code {
  kInvalidArgument,       // a caller broke a documented precondition
  kBackendUnavailable,    // the named backend is not built or cannot run here
  kCancelled,             // a CancelToken fired between tiles
  kOutOfMemory,           // a host or device allocation failed
  kDeviceError,           // the GPU runtime or cuBLAS returned an error
  kInternal,              // a bug: should never happen
};

// Stable identifier used across the N-API boundary ("ERR_KINDRED_INVALID_ARGUMENT", ...).
const char* code_name(Code code) noexcept;

class Error : public std::runtime_error {
 public:
  Error(Code code, const std::string& message) : std::runtime_error(message), code_(code) {}
  Code code() const noexcept { return code_; }

 private:
  Code code_;
};

}  // namespace kindred
