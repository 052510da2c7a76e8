// The inner loop of every auction bid: over one vertex's candidate edges, the best and second-best
// value w(t) − price(adjacency(t)) and the first edge holding the best. Internal to the matcher;
// a header of its own so the test can check the vector version against the scalar one.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kindred::matching {

struct BestTwo {
  float best;
  float second;
  std::size_t at;  // index of the first edge with the best value, or `count` when there is no edge
};

// The scalar loop, starting from `start` (pass {-inf, -inf, count} for a fresh scan): an edge
// replaces the best only when strictly better, so the first best wins ties.
BestTwo best_two_scalar(const std::int32_t* adjacency, const float* weight, std::size_t count, const float* price,
                        BestTwo start) noexcept;

// The same answer as best_two_scalar from a fresh start, eight edges at a time with a gather of
// the prices where the CPU has AVX2.
BestTwo best_two(const std::int32_t* adjacency, const float* weight, std::size_t count, const float* price) noexcept;

// Whether best_two uses the AVX2 version on this CPU (tests report it).
bool best_two_is_vectorized() noexcept;

}  // namespace kindred::matching
