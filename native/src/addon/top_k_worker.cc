// The top-k AsyncWorker. Queries and items are read in place (zero copy) from the caller's
// Float32Arrays; the outputs are the caller's q × k Int32Array / Float32Array, allocated on the JS
// thread. Every array stays referenced until the Promise settles. Execute() never touches JS.
#include "addon/top_k_worker.h"

#include <string>

#include "addon/convert.h"
#include "addon/errors.h"
#include "addon/promise_worker.h"
#include "kindred/backend/registry.h"
#include "kindred/retrieval/top_k.h"

namespace kindred::addon {
namespace {

class TopKWorker final : public PromiseWorker {
 public:
  // `refs` holds every array and the cancel flag: the pointers below stay valid until the Promise settles.
  TopKWorker(Napi::Env env, Napi::Object refs, Napi::Float32Array queries, Napi::Float32Array items,
             Napi::Int32Array out_indices, Napi::Float32Array out_scores, std::size_t q, std::size_t n, std::size_t dim,
             std::size_t k, std::string backend, Napi::Value cancel)
      : PromiseWorker(env, "kindred:topK", refs),
        queries_(queries.Data(), q, dim),
        items_(items.Data(), n, dim),
        out_{out_indices.Data(), out_scores.Data()},
        k_(k),
        backend_name_(std::move(backend)),
        cancel_(cancel.IsTypedArray() ? cancel.As<Napi::Int32Array>().Data() : nullptr) {}

 protected:
  void Execute() override {
    // Queries are few: check them here. Items were checked when they were added (ExactIndex), and
    // a NaN score from a non-finite item is still rejected by the core.
    if (failure_.reject_non_finite("queries", queries_)) return;
    failure_.capture("topK", [&] {
      backend::Backend& be = backend::by_name(backend_name_);
      used_ = be.info().name;
      retrieval::search_top_k(be, queries_, items_, k_, out_, cancel_);
    });
  }

  Napi::Value resolution(Napi::Env env) override { return Napi::String::New(env, used_); }

 private:
  ConstMatrix queries_;
  ConstMatrix items_;
  retrieval::TopKOutput out_;
  std::size_t k_;
  std::string backend_name_;
  CancelToken cancel_;
  std::string used_;
};

}  // namespace

Napi::Value top_k(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(
      info.Length() < 9, env,
      "topK expects 9 or 10 arguments: queries, items, q, n, dim, k, backend, outIndices, outScores[, cancel]");
  const std::size_t q = to_count(info[2], "q");
  const std::size_t n = to_count(info[3], "n");
  const std::size_t dim = to_count(info[4], "dim");
  const std::size_t k = to_count(info[5], "k");
  KINDRED_NAPI_THROW_RANGE_ERROR_IF(n > 2147483647u, env, "n must be at most 2147483647 (32-bit result indices)");
  Napi::Float32Array queries = to_float_matrix(info[0], "queries", q, dim);
  Napi::Float32Array items = to_float_matrix(info[1], "items", n, dim);
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(!info[6].IsString(), env, "backend must be a string");
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(
      !info[7].IsTypedArray() || info[7].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array, env,
      "outIndices must be an Int32Array");
  Napi::Int32Array out_indices = info[7].As<Napi::Int32Array>();
  Napi::Float32Array out_scores = to_float_matrix(info[8], "outScores", q, k);
  KINDRED_NAPI_THROW_RANGE_ERROR_IF(out_indices.ElementLength() != out_scores.ElementLength(), env,
                                    "outIndices must hold q x k elements, like outScores");
  KINDRED_NAPI_THROW_RANGE_ERROR_IF(overlaps(out_indices, out_scores) || overlaps(out_indices, queries) ||
                                        overlaps(out_indices, items) || overlaps(out_scores, queries) ||
                                        overlaps(out_scores, items),
                                    env, "outIndices and outScores must not overlap each other, queries or items");
  to_cancel(info, 9);  // checks the flag's kind; the worker keeps the value itself
  Napi::Value cancel = info.Length() > 9 ? info[9] : env.Undefined();

  Napi::Object refs = Napi::Object::New(env);
  refs.Set("queries", queries);
  refs.Set("items", items);
  refs.Set("outIndices", out_indices);
  refs.Set("outScores", out_scores);
  refs.Set("cancel", cancel);
  return PromiseWorker::start(new TopKWorker(env, refs, queries, items, out_indices, out_scores, q, n, dim, k,
                                             info[6].As<Napi::String>().Utf8Value(), cancel));
}

}  // namespace kindred::addon
