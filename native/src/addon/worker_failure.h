// The failure state every AsyncWorker keeps: filled on the worker thread (never touching JS), turned
// into one JS error with `code` (and, for a rejected input, `argument`, `expected`, `received`) on
// the JS thread.
#pragma once

#include <napi.h>

#include <new>
#include <string>

#include "addon/errors.h"
#include "kindred/core/error.h"
#include "kindred/core/finite.h"
#include "kindred/core/matrix_view.h"

namespace kindred::addon {

class WorkerFailure {
 public:
  bool failed() const noexcept { return failed_; }

  void set(Code code, std::string message) {
    failed_ = true;
    code_ = code;
    message_ = std::move(message);
  }

  void invalid_argument(const std::string& argument, const std::string& expected, const std::string& received) {
    argument_ = argument;
    expected_ = expected;
    received_ = received;
    set(Code::kInvalidArgument, "Expected " + expected + " for " + argument + " but received " + received);
  }

  // Records an invalid-argument failure naming the first NaN/±Inf of `m`; true when there was one.
  bool reject_non_finite(const std::string& name, ConstMatrix m) {
    const std::size_t n = m.rows * m.cols;  // checked against the array length on the JS thread
    const std::size_t at = first_non_finite(m.data, n);
    if (at == n) return false;
    const float v = m.data[at];
    invalid_argument(name, "finite numbers",
                     std::string(v != v ? "NaN" : v > 0 ? "Infinity" : "-Infinity") + " at row " +
                         std::to_string(at / m.cols) + ", column " + std::to_string(at % m.cols) + " (index " +
                         std::to_string(at) + ")");
    return true;
  }

  // Runs `work`, recording what it throws instead of letting it escape the worker thread.
  template <typename Work>
  void capture(const char* op, Work&& work) {
    try {
      work();
    } catch (const Error& e) {
      set(e.code(), e.what());
    } catch (const std::bad_alloc&) {
      set(Code::kOutOfMemory, std::string(op) + ": out of memory");
    } catch (const std::exception& e) {
      set(Code::kInternal, std::string(op) + ": " + e.what());
    }
  }

  Napi::Value to_error(Napi::Env env) const {
    Napi::Error error = make_error(env, code_, message_);
    if (!argument_.empty()) {
      error.Set("argument", argument_);
      error.Set("expected", expected_);
      error.Set("received", received_);
    }
    return error.Value();
  }

 private:
  bool failed_ = false;
  Code code_ = Code::kInternal;
  std::string message_, argument_, expected_, received_;
};

}  // namespace kindred::addon
