// Eight floats (and eight lane masks) as one GCC/Clang vector: one AVX register in the matcher's
// x86-64-v3 clones, plain code elsewhere. Internal to the matcher. Files that pass these by value
// to their own inlined helpers silence GCC's -Wpsabi note (the ABI it warns of never applies).
#pragma once

#include <cstdint>

namespace kindred::matching {

typedef float Vec8 __attribute__((vector_size(32)));
typedef std::int32_t Mask8 __attribute__((vector_size(32)));

}  // namespace kindred::matching
