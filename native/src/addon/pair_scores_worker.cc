// The pair-scores AsyncWorker. Inputs are read in place (zero copy) from the caller's
// Float32Arrays, which stay referenced until the Promise settles; the output is the caller's
// array, allocated on the JS thread before the work is queued. Execute() never touches JS.
#include "addon/pair_scores_worker.h"

#include <string>

#include "addon/convert.h"
#include "addon/errors.h"
#include "addon/promise_worker.h"
#include "kindred/backend/registry.h"
#include "kindred/gemm/pair_scores.h"

namespace kindred::addon {
namespace {

class PairScoresWorker final : public PromiseWorker {
 public:
  // `refs` holds a, b, out and the cancel flag: every pointer below stays valid until the Promise settles.
  PairScoresWorker(Napi::Env env, Napi::Object refs, Napi::Float32Array a, Napi::Float32Array b, Napi::Float32Array out,
                   std::size_t rows, std::size_t cols, std::size_t dim, std::string backend, Napi::Value cancel)
      : PromiseWorker(env, "kindred:pairScores", refs),
        a_view_(a.Data(), rows, dim),
        b_view_(b.Data(), cols, dim),
        out_view_(out.Data(), rows, cols),
        backend_name_(std::move(backend)),
        cancel_(cancel.IsTypedArray() ? cancel.As<Napi::Int32Array>().Data() : nullptr) {}

 protected:
  void Execute() override {
    // Non-finite input is rejected here, off the main thread, before any work: a NaN would
    // otherwise poison whole rows of scores silently.
    if (failure_.reject_non_finite("a", a_view_) || failure_.reject_non_finite("b", b_view_)) return;
    failure_.capture("pairScores", [&] {
      backend::Backend& be = backend::by_name(backend_name_);
      used_ = be.info().name;
      gemm::pair_scores(be, a_view_, b_view_, out_view_, cancel_);
    });
  }

  Napi::Value resolution(Napi::Env env) override { return Napi::String::New(env, used_); }

 private:
  ConstMatrix a_view_;
  ConstMatrix b_view_;
  MutableMatrix out_view_;
  std::string backend_name_;
  CancelToken cancel_;
  std::string used_;
};

}  // namespace

Napi::Value pair_scores(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(info.Length() < 7, env,
                                   "pairScores expects 7 or 8 arguments: a, b, out, rows, cols, dim, backend[, cancel]");
  const std::size_t rows = to_count(info[3], "rows");
  const std::size_t cols = to_count(info[4], "cols");
  const std::size_t dim = to_count(info[5], "dim");
  Napi::Float32Array a = to_float_matrix(info[0], "a", rows, dim);
  Napi::Float32Array b = to_float_matrix(info[1], "b", cols, dim);
  Napi::Float32Array out = to_float_matrix(info[2], "out", rows, cols);
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(!info[6].IsString(), env, "backend must be a string");
  KINDRED_NAPI_THROW_RANGE_ERROR_IF(overlaps(out, a) || overlaps(out, b), env, "out must not overlap a or b");
  to_cancel(info, 7);  // checks the flag's kind; the worker keeps the value itself
  Napi::Value cancel = info.Length() > 7 ? info[7] : env.Undefined();

  Napi::Object refs = Napi::Object::New(env);
  refs.Set("a", a);
  refs.Set("b", b);
  refs.Set("out", out);
  refs.Set("cancel", cancel);
  return PromiseWorker::start(
      new PairScoresWorker(env, refs, a, b, out, rows, cols, dim, info[6].As<Napi::String>().Utf8Value(), cancel));
}

}  // namespace kindred::addon
