// Whether this CPU runs the matcher's hand-written AVX2 kernels (best_two, kth_largest). They are
// chosen by this run-time check rather than through ifuncs, so the sanitizer build runs them too.
// Internal to the matcher.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define KINDRED_MATCHING_AVX2 1
#endif

namespace kindred::matching {

// AVX2 and POPCNT (every AVX2 CPU has both; checked anyway).
bool cpu_has_avx2() noexcept;

}  // namespace kindred::matching
