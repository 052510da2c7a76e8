// A tiny test harness for the native tests (no download, no dependency, runs on the GPU machine).
// TEST(name) registers a case; CHECK(cond) << "context" records a failure and continues.
// main() runs every case and ends with "N passed, N failed" (", N skipped").
#pragma once

#include <cstdio>
#include <exception>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace kindred::test {

struct Case {
  const char* name;
  std::function<void()> body;
};

inline std::vector<Case>& cases() {
  static std::vector<Case> all;
  return all;
}

struct State {
  int failures = 0;  // in the running case
  int skipped = 0;   // cases that called SKIP
  bool skipping = false;
};

inline State& state() {
  static State s;
  return s;
}

struct Registrar {
  Registrar(const char* name, std::function<void()> body) { cases().push_back({name, std::move(body)}); }
};

// Collects the streamed context of a failed CHECK and prints it when destroyed.
class Failure {
 public:
  Failure(const char* file, int line, const char* expr) { out_ << file << ":" << line << ": CHECK(" << expr << ") failed"; }
  ~Failure() {
    std::fprintf(stderr, "  %s\n", out_.str().c_str());
    ++state().failures;
  }
  template <typename T>
  Failure& operator<<(const T& value) {
    if (first_) out_ << ": ";
    first_ = false;
    out_ << value;
    return *this;
  }

 private:
  std::ostringstream out_;
  bool first_ = true;
};

inline int run_all() {
  int passed = 0, failed = 0;
  for (const auto& c : cases()) {
    state().failures = 0;
    state().skipping = false;
    try {
      c.body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "  uncaught exception: %s\n", e.what());
      ++state().failures;
    }
    if (state().skipping) {
      ++state().skipped;
      std::printf("SKIP %s\n", c.name);
    } else if (state().failures == 0) {
      ++passed;
      std::printf("ok   %s\n", c.name);
    } else {
      ++failed;
      std::printf("FAIL %s\n", c.name);
    }
  }
  std::printf("%d passed, %d failed, %d skipped\n", passed, failed, state().skipped);
  return failed == 0 ? 0 : 1;
}

}  // namespace kindred::test

#define KT_CONCAT2(a, b) a##b
#define KT_CONCAT(a, b) KT_CONCAT2(a, b)
#define TEST(name)                                                                          \
  static void KT_CONCAT(test_, name)();                                                     \
  static ::kindred::test::Registrar KT_CONCAT(registrar_, name)(#name, KT_CONCAT(test_, name)); \
  static void KT_CONCAT(test_, name)()
#define CHECK(cond) \
  if (cond) {       \
  } else            \
    ::kindred::test::Failure(__FILE__, __LINE__, #cond)
// Marks the running case skipped, printing why, and leaves it.
#define SKIP(reason)                                         \
  do {                                                       \
    std::printf("     skipped: %s\n", std::string(reason).c_str()); \
    ::kindred::test::state().skipping = true;                \
    return;                                                  \
  } while (0)
// Runs `stmt` and checks it throws kindred::Error with `code`.
#define CHECK_THROWS_CODE(stmt, expected_code)                                       \
  do {                                                                               \
    bool kt_threw = false;                                                           \
    try {                                                                            \
      stmt;                                                                          \
    } catch (const ::kindred::Error& kt_e) {                                         \
      kt_threw = true;                                                               \
      CHECK(kt_e.code() == (expected_code)) << "wrong code, message: " << kt_e.what(); \
    }                                                                                \
    CHECK(kt_threw) << #stmt << " did not throw";                                    \
  } while (0)
#define TEST_MAIN() \
  int main() { return ::kindred::test::run_all(); }
