#include "kindred/core/error.h"

namespace kindred {

const char* code_name(Code code) noexcept {
  switch (code) {
    case Code::kInvalidArgument: return "ERR_KINDRED_INVALID_ARGUMENT";
    case Code::kBackendUnavailable: return "ERR_KINDRED_BACKEND_UNAVAILABLE";
    case Code::kCancelled: return "ERR_KINDRED_ABORTED";
    case Code::kOutOfMemory: return "ERR_KINDRED_OUT_OF_MEMORY";
    case Code::kDeviceError: return "ERR_KINDRED_DEVICE";
    case Code::kInternal: return "ERR_KINDRED_INTERNAL";
  }
  return "ERR_KINDRED_INTERNAL";
}

}  // namespace kindred
