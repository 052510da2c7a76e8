// The core's guards: errors carry codes, sizes are overflow-checked, cancellation and the parallel
// loop behave, and the registry resolves names.
#include <atomic>
#include <chrono>
#include <thread>
#include <cstdint>
#include <cmath>
#include <limits>
#include <random>
#include <vector>
#include <stdexcept>
#include <string>

#include "harness.h"
#include "kindred/backend/registry.h"
#include "kindred/core/cancel.h"
#include "kindred/core/check.h"
#include "kindred/core/finite.h"
#include "kindred/core/parallel.h"
#include "kindred/core/scratch_pool.h"

using namespace kindred;

TEST(checked_mul_detects_overflow) {
  std::size_t out = 0;
  CHECK(checked_mul(3, 4, &out) && out == 12);
  CHECK(checked_mul(0, std::numeric_limits<std::size_t>::max(), &out) && out == 0);
  CHECK(!checked_mul(std::numeric_limits<std::size_t>::max() / 2 + 1, 2, &out));
  CHECK_THROWS_CODE(mul_or_throw(std::size_t{1} << 40, std::size_t{1} << 40, "rows x cols"), Code::kInvalidArgument);
}

TEST(check_macro_throws_with_message) {
  try {
    KINDRED_CHECK(1 + 1 == 3, "dim ", 7, " is wrong");
    CHECK(false) << "did not throw";
  } catch (const Error& e) {
    CHECK(e.code() == Code::kInvalidArgument);
    CHECK(std::string(e.what()) == "dim 7 is wrong") << e.what();
  }
}

TEST(code_names_are_stable) {
  CHECK(std::string(code_name(Code::kInvalidArgument)) == "ERR_KINDRED_INVALID_ARGUMENT");
  CHECK(std::string(code_name(Code::kCancelled)) == "ERR_KINDRED_ABORTED");
  CHECK(std::string(code_name(Code::kBackendUnavailable)) == "ERR_KINDRED_BACKEND_UNAVAILABLE");
  CHECK(std::string(code_name(Code::kOutOfMemory)) == "ERR_KINDRED_OUT_OF_MEMORY");
  CHECK(std::string(code_name(Code::kDeviceError)) == "ERR_KINDRED_DEVICE");
}

TEST(cancel_token_reads_external_flag) {
  std::int32_t flag = 0;
  CancelToken token(&flag);
  CHECK(!token.cancelled());
  __atomic_store_n(&flag, 1, __ATOMIC_RELAXED);
  CHECK(token.cancelled());
  CHECK_THROWS_CODE(token.throw_if_cancelled(), Code::kCancelled);
  CancelToken own;
  CHECK(!own.cancelled());
  own.cancel();
  CHECK(own.cancelled());
}

TEST(parallel_for_runs_every_task_once) {
  std::vector<std::atomic<int>> hits(1000);
  parallel_for(hits.size(), 4, [&](std::size_t i) { hits[i].fetch_add(1); });
  int wrong = 0;
  for (auto& h : hits) wrong += h.load() != 1;
  CHECK(wrong == 0) << wrong << " tasks not run exactly once";
  parallel_for(0, 4, [](std::size_t) { throw std::runtime_error("never"); });
}

TEST(parallel_for_rethrows_first_error_after_join) {
  std::atomic<int> ran{0};
  try {
    // Task 0 fails at once; the others take 2 ms, so the loop sees the failure long before the end.
    parallel_for(100, 2, [&](std::size_t i) {
      ran.fetch_add(1);
      if (i == 0) throw Error(Code::kCancelled, "stop at 0");
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    });
    CHECK(false) << "did not throw";
  } catch (const Error& e) {
    CHECK(e.code() == Code::kCancelled);
    CHECK(std::string(e.what()) == "stop at 0");
  }
  CHECK(ran.load() < 100) << "failure did not stop the loop: ran " << ran.load();
}

TEST(parallel_for_serves_concurrent_and_nested_callers) {
  // Four threads call at once, each task of theirs making a nested call: every inner task must run
  // exactly once, whichever threads of the shared pool run them.
  constexpr std::size_t kCallers = 4, kOuter = 16, kInner = 64;
  std::vector<std::atomic<int>> hits(kCallers * kOuter * kInner);
  std::vector<std::thread> callers;
  for (std::size_t c = 0; c < kCallers; ++c) {
    callers.emplace_back([&, c] {
      for (int repeat = 0; repeat < 20; ++repeat) {
        parallel_for(kOuter, 3, [&](std::size_t o) {
          parallel_for(kInner, 2, [&](std::size_t i) { hits[(c * kOuter + o) * kInner + i].fetch_add(1); });
        });
      }
    });
  }
  for (auto& t : callers) t.join();
  int wrong = 0;
  for (auto& h : hits) wrong += h.load() != 20;
  CHECK(wrong == 0) << wrong << " inner tasks not run exactly 20 times";
  // A failure in one caller's call stays in that call.
  std::atomic<int> failures{0}, clean{0};
  std::vector<std::thread> mixed;
  for (int c = 0; c < 4; ++c) {
    mixed.emplace_back([&, c] {
      try {
        parallel_for(50, 2, [&](std::size_t i) {
          if (c % 2 == 0 && i == 7) throw Error(Code::kInternal, "caller " + std::to_string(c));
        });
        clean.fetch_add(1);
      } catch (const Error& e) {
        if (std::string(e.what()) == "caller " + std::to_string(c)) failures.fetch_add(1);
      }
    });
  }
  for (auto& t : mixed) t.join();
  CHECK(failures.load() == 2 && clean.load() == 2) << failures.load() << " failed, " << clean.load() << " clean";
}

TEST(registry_resolves_names) {
  CHECK(backend::by_name("portable").info().name == "portable");
  CHECK(backend::by_name("auto").info().name == backend::best().info().name);
  CHECK_THROWS_CODE(backend::by_name("tpu"), Code::kInvalidArgument);
  for (const auto& info : backend::list()) {
    if (!info.available) CHECK_THROWS_CODE(backend::by_name(info.name), Code::kBackendUnavailable);
  }
  // best() is the first available in priority order.
  for (const auto& info : backend::list()) {
    if (info.available) {
      CHECK(backend::best().info().name == info.name);
      break;
    }
  }
}

TEST(first_non_finite_finds_the_first_nan_or_inf) {
  // Sizes around the 4096-element block, with the bad value at block edges and in the tail.
  std::mt19937 rng(21);
  std::uniform_real_distribution<float> uniform(-1e30f, 1e30f);
  const float bad[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                       -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::signaling_NaN()};
  for (std::size_t n : {0u, 1u, 7u, 4095u, 4096u, 4097u, 10000u}) {
    std::vector<float> v(n);
    for (auto& x : v) x = uniform(rng);
    if (n > 0) v[n / 2] = std::numeric_limits<float>::max();  // finite, however large
    if (n > 1) v[n - 1] = std::numeric_limits<float>::denorm_min();
    CHECK(first_non_finite(v.data(), n) == n) << "all finite, n=" << n;
    for (std::size_t at : {std::size_t{0}, n / 3, n > 0 ? n - 1 : 0}) {
      if (at >= n) continue;
      for (float b : bad) {
        auto w = v;
        w[at] = b;
        if (at + 1 < n) w[n - 1] = std::numeric_limits<float>::quiet_NaN();  // a later one must not win
        CHECK(first_non_finite(w.data(), n) == at) << "n=" << n << " at=" << at << " value=" << b;
      }
    }
  }
}

// Large scratch arrays come back for the next call; small ones and overflowing counts do not go
// through the pool; the pool never keeps more than its limit.
TEST(scratch_pool_reuses_large_blocks) {
  scratch_release();
  CHECK(scratch_kept_bytes() == 0);
  const std::size_t big = kScratchMinBytes * 4;
  void* first = scratch_allocate(big);
  CHECK(reinterpret_cast<std::uintptr_t>(first) % 64 == 0);
  static_cast<char*>(first)[big - 1] = 1;  // the whole block is usable
  scratch_free(first, big);
  CHECK(scratch_kept_bytes() >= big);
  void* again = scratch_allocate(big - 1000);  // fits, wastes little: the same block
  CHECK(again == first);
  CHECK(scratch_kept_bytes() == 0);
  scratch_free(again, big - 1000);
  void* other = scratch_allocate(big / 4);  // would waste more than half of the big block
  CHECK(other != again);
  scratch_free(other, big / 4);
  void* small = scratch_allocate(100);
  CHECK(small != nullptr && reinterpret_cast<std::uintptr_t>(small) % 64 == 0);
  scratch_free(small, 100);
  ScratchVector<float> values(big / sizeof(float), 2.0f);
  CHECK(values[0] == 2.0f && values.back() == 2.0f);
  bool threw = false;
  try {
    ScratchAllocator<double>().allocate(std::numeric_limits<std::size_t>::max() / 4);
  } catch (const std::bad_array_new_length&) {
    threw = true;
  }
  CHECK(threw) << "an element count whose size overflows must throw";
  scratch_release();
  CHECK(scratch_kept_bytes() == 0);
  // The limit: blocks past it are freed, not kept.
  std::vector<void*> blocks;
  const std::size_t block = kScratchKeptBytes / 3;
  for (int b = 0; b < 4; ++b) blocks.push_back(scratch_allocate(block));
  for (void* b : blocks) scratch_free(b, block);
  CHECK(scratch_kept_bytes() <= kScratchKeptBytes && scratch_kept_bytes() >= block);
  scratch_release();
}

TEST_MAIN()
