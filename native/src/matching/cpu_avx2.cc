#include "cpu_avx2.h"

namespace kindred::matching {

bool cpu_has_avx2() noexcept {
#ifdef KINDRED_MATCHING_AVX2
  // __builtin_cpu_init first: this may run before libgcc's own constructor has.
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0 && __builtin_cpu_supports("popcnt") != 0;
  }();
  return yes;
#else
  return false;
#endif
}

}  // namespace kindred::matching
