// Precondition checks that throw kindred::Error instead of aborting, and overflow-checked sizes.
#pragma once

#include <cstddef>
#include <limits>
#include <sstream>
#include <string>

#include "kindred/core/error.h"

namespace kindred {

namespace detail {
template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}
}  // namespace detail

// KINDRED_CHECK(cond, "message parts", value, ...) throws Code::kInvalidArgument when cond is false.
#define KINDRED_CHECK(cond, ...)                                                   \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      throw ::kindred::Error(::kindred::Code::kInvalidArgument,                   \
                             ::kindred::detail::concat(__VA_ARGS__));              \
    }                                                                              \
  } while (0)

// KINDRED_THROW(code, "message parts", ...) throws unconditionally.
#define KINDRED_THROW(code, ...) \
  throw ::kindred::Error((code), ::kindred::detail::concat(__VA_ARGS__))

// a * b, or false when the product does not fit in size_t.
inline bool checked_mul(std::size_t a, std::size_t b, std::size_t* out) noexcept {
  if (a != 0 && b > std::numeric_limits<std::size_t>::max() / a) return false;
  *out = a * b;
  return true;
}

// a * b, throwing kInvalidArgument naming `what` when it overflows.
inline std::size_t mul_or_throw(std::size_t a, std::size_t b, const char* what) {
  std::size_t out = 0;
  KINDRED_CHECK(checked_mul(a, b, &out), what, " overflows: ", a, " x ", b);
  return out;
}

}  // namespace kindred
