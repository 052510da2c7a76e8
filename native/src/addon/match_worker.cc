// The matching AsyncWorker: optional scores GEMM + pair weights (transform, filters) + max-weight
// matching, all off the main thread. Inputs are read in place and kept referenced until the Promise
// settles; the n×n scratch buffer is the caller's (allocated on the JS thread, reusable).
#include "addon/match_worker.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "addon/convert.h"
#include "addon/errors.h"
#include "addon/promise_worker.h"
#include "addon/worker_failure.h"
#include "kindred/backend/registry.h"
#include "kindred/core/check.h"
#include "kindred/gemm/pair_scores.h"
#include "kindred/matching/filter_order.h"
#include "kindred/matching/head_scores.h"
#include "kindred/matching/max_weight.h"
#include "kindred/matching/pair_predictions.h"
#include "kindred/matching/pair_weights.h"

namespace kindred::addon {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// A head's optional projections (dim × inputDim each; rows == 0 when the head has none): its
// vectors are user · user_projectionᵀ and peer · peer_projectionᵀ, made in the worker so that a
// caller with a model's projected heads needs no round trip of its own for them.
struct HeadProjection {
  ConstMatrix user, peer;
};

// What matchEmbeddings adds on top of matchWeights: the embeddings and how to turn them into weights.
// Either one head (user, peer, transform: the fused fast path) or several (`heads`, summed first).
struct EmbeddingJob {
  ConstMatrix user, peer;
  std::string backend;
  matching::Transform transform;
  std::vector<matching::Head> heads;
  std::vector<HeadProjection> projections;  // one per head
  std::vector<std::vector<float>> projected;  // the projected heads' vectors, owned
  matching::HardFilters filters;
};

class MatchWorker final : public PromiseWorker {
 public:
  MatchWorker(Napi::Env env, MutableMatrix weights, matching::MaxWeightOptions tuning, Napi::Object refs,
              const std::int32_t* cancel, std::unique_ptr<EmbeddingJob> job)
      : PromiseWorker(env, "kindred:match", refs),
        weights_(weights),
        tuning_(tuning),
        cancel_(cancel),
        job_(std::move(job)) {}

 protected:
  void Execute() override {
    failure_.capture("match", [&] {
      if (job_) {
        const bool multi = !job_->heads.empty();
        if (multi) {
          for (std::size_t t = 0; t < job_->heads.size(); ++t) {
            const std::string name = "heads[" + std::to_string(t) + "]";
            const HeadProjection& projection = job_->projections[t];
            if (failure_.reject_non_finite(name + ".user", job_->heads[t].user) ||
                failure_.reject_non_finite(name + ".peer", job_->heads[t].peer) ||
                failure_.reject_non_finite(name + ".userProjection", projection.user) ||
                failure_.reject_non_finite(name + ".peerProjection", projection.peer)) {
              return;
            }
          }
        } else if (failure_.reject_non_finite("user", job_->user) || failure_.reject_non_finite("peer", job_->peer)) {
          return;
        }
        backend::Backend& be = backend::by_name(job_->backend);
        backend_used_ = be.info().name;
        auto t0 = Clock::now();
        if (multi && !project_heads(be)) return;
        // Users in filter order (a copy of the inputs unless they already are): the scores, pair
        // weights and matcher skip the tiles the filters forbid. The mates go back in pool order.
        order_.emplace(job_->filters, weights_.rows);
        const matching::HardFilters& filters = order_->filters();
        std::vector<matching::Head> heads;
        for (const matching::Head& h : job_->heads) heads.push_back({order_->rows(h.user), order_->rows(h.peer), h.transform, h.weight});
        // One head goes through head_scores too when filters can forbid whole tiles (on a CPU
        // backend): its transform then runs on each tile's scores in cache, as for several heads.
        const bool tiled = matching::has_attribute_filters(filters) && be.info().kind == backend::Kind::kCpu;
        if (!multi && tiled) heads.push_back({order_->rows(job_->user), order_->rows(job_->peer), job_->transform, 1.0f});
        if (!heads.empty()) {
          matching::head_scores(be, heads, weights_, cancel_, &filters);
        } else {
          gemm::pair_scores(be, order_->rows(job_->user), order_->rows(job_->peer), weights_, cancel_);
        }
        scores_ms_ = ms_since(t0);
        t0 = Clock::now();
        try {
          // Heads are already transformed and summed: what is left is Y + Yᵀ and the filters.
          const matching::Transform identity{matching::Transform::Kind::kIdentity, 1.0f, 0.0f};
          // An overflowing pair is named in the pool's indices, not in filter order.
          matching::pair_weights(weights_, heads.empty() ? job_->transform : identity, filters, cancel_, 0,
                                 order_->identity() ? nullptr : order_->order().data());
        } catch (const Error& e) {
          // The TS layer checked the filters, so what is left is a weight the transform overflowed.
          if (e.code() != Code::kInvalidArgument) throw;
          failure_.invalid_argument("transform", "a transform that keeps every pair weight finite", e.what());
          return;
        }
        filters_ms_ = ms_since(t0);
      } else {
        const std::string problem = matching::weights_problem(ConstMatrix(weights_.data, weights_.rows, weights_.cols));
        if (!problem.empty()) {
          failure_.invalid_argument("weights", "a symmetric matrix of finite numbers or -Infinity", problem);
          return;
        }
      }
      const auto t0 = Clock::now();
      // The weights of an embedding job hold −∞ in the tiles its filters forbid: the matcher skips them.
      result_ = matching::max_weight_matching(ConstMatrix(weights_.data, weights_.rows, weights_.cols), tuning_, cancel_,
                                              order_ ? &order_->filters() : nullptr);
      if (order_) order_->to_pool_order(result_.mate);
      matching_ms_ = ms_since(t0);
      // Each pair's prediction per direction, from the caller's (pool-order) vectors.
      if (job_) {
        predicted_ = matching::pair_predictions(
            job_->heads.empty() ? std::vector<matching::Head>{{job_->user, job_->peer, job_->transform, 1.0f}} : job_->heads,
            result_.mate);
      }
    });
  }

  // Replaces each projected head's vectors by their projections (see HeadProjection). False, with
  // the failure recorded, when a projection is not finite.
  bool project_heads(backend::Backend& be) {
    job_->projected.reserve(2 * job_->heads.size());  // the heads point into these arrays
    for (std::size_t t = 0; t < job_->heads.size(); ++t) {
      const HeadProjection& projection = job_->projections[t];
      if (projection.user.rows == 0) continue;
      matching::Head& head = job_->heads[t];
      // vectors ← vectors · projectionᵀ, named after the projection when it overflows.
      auto project = [&](ConstMatrix& vectors, ConstMatrix by, const char* name) {
        const std::size_t n = vectors.rows, dim = by.rows;
        std::vector<float>& out = job_->projected.emplace_back(mul_or_throw(n, dim, "projected head"));
        gemm::pair_scores(be, vectors, by, MutableMatrix(out.data(), n, dim), cancel_);
        vectors = ConstMatrix(out.data(), n, dim);
        return !failure_.reject_non_finite("heads[" + std::to_string(t) + "]." + name, vectors);
      };
      if (!project(head.user, projection.user, "userProjection") || !project(head.peer, projection.peer, "peerProjection")) {
        return false;
      }
    }
    return true;
  }

  Napi::Value resolution(Napi::Env env) override {
    Napi::Int32Array mate = Napi::Int32Array::New(env, result_.mate.size());
    std::copy(result_.mate.begin(), result_.mate.end(), mate.Data());
    Napi::Object out = Napi::Object::New(env);
    out.Set("mate", mate);
    out.Set("totalWeight", result_.total_weight);
    out.Set("upperBound", result_.upper_bound);
    out.Set("pairs", static_cast<double>(result_.pairs));
    out.Set("backend", backend_used_.empty() ? env.Null() : Napi::String::New(env, backend_used_));
    out.Set("scoresMs", scores_ms_);
    out.Set("filtersMs", filters_ms_);
    out.Set("matchingMs", matching_ms_);
    if (job_) {
      Napi::Float64Array predicted = Napi::Float64Array::New(env, predicted_.size());
      std::copy(predicted_.begin(), predicted_.end(), predicted.Data());
      out.Set("predicted", predicted);
    }
    if (order_ && !order_->identity()) {
      Napi::Int32Array order = Napi::Int32Array::New(env, order_->order().size());
      std::copy(order_->order().begin(), order_->order().end(), order.Data());
      out.Set("bufferOrder", order);
    }
    return out;
  }

 private:
  MutableMatrix weights_;
  matching::MaxWeightOptions tuning_;
  CancelToken cancel_;
  std::unique_ptr<EmbeddingJob> job_;
  matching::MaxWeightResult result_;
  std::optional<matching::FilterOrder> order_;  // the users' order in weights_ (matchEmbeddings)
  std::string backend_used_;
  std::vector<double> predicted_;  // embedding jobs: ŷ(a→b), ŷ(b→a) per pair (pair_predictions)
  double scores_ms_ = 0, filters_ms_ = 0, matching_ms_ = 0;
};

// { candidates, rounds } → options; missing fields keep the defaults.
matching::MaxWeightOptions to_tuning(const Napi::Value& value) {
  Napi::Env env = value.Env();
  matching::MaxWeightOptions options;
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(!value.IsObject(), env, "tuning must be an object");
  Napi::Object o = value.As<Napi::Object>();
  if (o.Has("candidates") && !o.Get("candidates").IsUndefined()) {
    options.candidates = static_cast<int>(std::min<std::size_t>(to_count(o.Get("candidates"), "candidates"), 1u << 20));
  }
  if (o.Has("rounds") && !o.Get("rounds").IsUndefined()) {
    options.rounds = static_cast<int>(std::min<std::size_t>(to_count(o.Get("rounds"), "rounds"), 1u << 20));
  }
  return options;
}

template <typename Array>
Array to_typed(const Napi::Value& value, napi_typedarray_type type, const char* kind, const std::string& name,
               std::size_t length) {
  Napi::Env env = value.Env();
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != type, env,
                                   name + " must be a " + kind);
  Array array = value.As<Array>();
  KINDRED_NAPI_THROW_RANGE_ERROR_IF(array.ElementLength() != length, env,
                                    name + " must hold " + std::to_string(length) + " elements but holds " +
                                        std::to_string(array.ElementLength()));
  return array;
}


// { kind: 'exp', w, b } | { kind: 'identity' } → Transform.
matching::Transform to_transform(const Napi::Value& value, const std::string& name) {
  Napi::Env env = value.Env();
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(!value.IsObject(), env, name + " must be an object");
  Napi::Object transform = value.As<Napi::Object>();
  const std::string kind = transform.Get("kind").IsString() ? transform.Get("kind").As<Napi::String>().Utf8Value() : "";
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(kind != "exp" && kind != "identity", env, name + ".kind must be 'exp' or 'identity'");
  matching::Transform out;
  out.kind = kind == "exp" ? matching::Transform::Kind::kExp : matching::Transform::Kind::kIdentity;
  if (kind == "exp") {
    KINDRED_NAPI_THROW_TYPE_ERROR_IF(!transform.Get("w").IsNumber() || !transform.Get("b").IsNumber(), env,
                                     name + ".w and " + name + ".b must be numbers");
    out.w = transform.Get("w").As<Napi::Number>().FloatValue();
    out.b = transform.Get("b").As<Napi::Number>().FloatValue();
  }
  return out;
}

// mutual, overlap, blocked at info[first], info[first + 1], info[first + 2] → job.filters, referenced in refs.
void read_filters(const Napi::CallbackInfo& info, std::size_t first, std::size_t n, Napi::Object refs, EmbeddingJob& job_ref) {
  Napi::Env env = info.Env();
  EmbeddingJob* job = &job_ref;
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(!info[first].IsArray(), env, "mutual must be an array");
  Napi::Array mutual = info[first].As<Napi::Array>();
  refs.Set("mutual", mutual);
  for (uint32_t t = 0; t < mutual.Length(); ++t) {
    Napi::Value entry = mutual.Get(t);
    KINDRED_NAPI_THROW_TYPE_ERROR_IF(!entry.IsObject(), env, "mutual[" + std::to_string(t) + "] must be an object");
    const std::string name = "mutual[" + std::to_string(t) + "]";
    auto attr = to_typed<Napi::Uint8Array>(entry.As<Napi::Object>().Get("attr"), napi_uint8_array, "Uint8Array",
                                           name + ".attr", n);
    auto accepts = to_typed<Napi::Uint32Array>(entry.As<Napi::Object>().Get("accepts"), napi_uint32_array,
                                               "Uint32Array", name + ".accepts", n);
    job->filters.mutual.push_back({attr.Data(), accepts.Data()});
  }
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(!info[first + 1].IsArray(), env, "overlap must be an array");
  Napi::Array overlap = info[first + 1].As<Napi::Array>();
  refs.Set("overlap", overlap);
  for (uint32_t t = 0; t < overlap.Length(); ++t) {
    auto bits = to_typed<Napi::Uint32Array>(overlap.Get(t), napi_uint32_array, "Uint32Array",
                                            "overlap[" + std::to_string(t) + "]", n);
    job->filters.overlap.push_back(bits.Data());
  }
  if (!info[first + 2].IsUndefined()) {
    KINDRED_NAPI_THROW_TYPE_ERROR_IF(
        !info[first + 2].IsTypedArray() || info[first + 2].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array, env,
        "blocked must be undefined or an Int32Array");
    Napi::Int32Array blocked = info[first + 2].As<Napi::Int32Array>();
    KINDRED_NAPI_THROW_RANGE_ERROR_IF(blocked.ElementLength() % 2 != 0, env, "blocked must hold pairs (even length)");
    job->filters.blocked = blocked.Data();
    job->filters.blocked_pairs = blocked.ElementLength() / 2;
    refs.Set("blocked", blocked);
  }
}

}  // namespace

Napi::Value match_weights(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(info.Length() < 3, env, "matchWeights expects 3 or 4 arguments: weights, n, tuning[, cancel]");
  const std::size_t n = to_count(info[1], "n");
  Napi::Float32Array weights = to_float_matrix(info[0], "weights", n, n);
  matching::MaxWeightOptions tuning = to_tuning(info[2]);
  const std::int32_t* cancel = to_cancel(info, 3);
  Napi::Object refs = Napi::Object::New(env);
  refs.Set("weights", weights);
  if (info.Length() > 3) refs.Set("cancel", info[3]);
  return PromiseWorker::start(new MatchWorker(env, MutableMatrix(weights.Data(), n, n), tuning, refs, cancel, nullptr));
}

Napi::Value match_embeddings(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(info.Length() < 11, env,
                                   "matchEmbeddings expects 11 or 12 arguments: user, peer, scratch, n, dim, backend, "
                                   "transform, mutual, overlap, blocked, tuning[, cancel]");
  const std::size_t n = to_count(info[3], "n");
  const std::size_t dim = to_count(info[4], "dim");
  Napi::Float32Array user = to_float_matrix(info[0], "user", n, dim);
  Napi::Float32Array peer = to_float_matrix(info[1], "peer", n, dim);
  Napi::Float32Array scratch = to_float_matrix(info[2], "scratch", n, n);
  KINDRED_NAPI_THROW_RANGE_ERROR_IF(overlaps(scratch, user) || overlaps(scratch, peer), env,
                                    "scratch must not overlap user or peer");
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(!info[5].IsString(), env, "backend must be a string");
  auto job = std::make_unique<EmbeddingJob>();
  job->user = ConstMatrix(user.Data(), n, dim);
  job->peer = ConstMatrix(peer.Data(), n, dim);
  job->backend = info[5].As<Napi::String>().Utf8Value();

  job->transform = to_transform(info[6], "transform");

  Napi::Object refs = Napi::Object::New(env);
  refs.Set("user", user);
  refs.Set("peer", peer);
  refs.Set("scratch", scratch);
  read_filters(info, 7, n, refs, *job);
  matching::MaxWeightOptions tuning = to_tuning(info[10]);
  const std::int32_t* cancel = to_cancel(info, 11);
  if (info.Length() > 11) refs.Set("cancel", info[11]);
  return PromiseWorker::start(new MatchWorker(env, MutableMatrix(scratch.Data(), n, n), tuning, refs, cancel, std::move(job)));
}

Napi::Value match_heads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(info.Length() < 8, env,
                                   "matchHeads expects 8 or 9 arguments: heads, scratch, n, backend, mutual, overlap, "
                                   "blocked, tuning[, cancel]");
  const std::size_t n = to_count(info[2], "n");
  Napi::Float32Array scratch = to_float_matrix(info[1], "scratch", n, n);
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(!info[3].IsString(), env, "backend must be a string");
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(!info[0].IsArray() || info[0].As<Napi::Array>().Length() == 0, env,
                                   "heads must be a non-empty array");
  Napi::Array heads = info[0].As<Napi::Array>();
  auto job = std::make_unique<EmbeddingJob>();
  job->backend = info[3].As<Napi::String>().Utf8Value();
  Napi::Object refs = Napi::Object::New(env);
  refs.Set("heads", heads);
  refs.Set("scratch", scratch);
  for (uint32_t t = 0; t < heads.Length(); ++t) {
    const std::string name = "heads[" + std::to_string(t) + "]";
    KINDRED_NAPI_THROW_TYPE_ERROR_IF(!heads.Get(t).IsObject(), env, name + " must be an object");
    Napi::Object head = heads.Get(t).As<Napi::Object>();
    const std::size_t dim = to_count(head.Get("dim"), (name + ".dim").c_str());
    // With projections (both or neither), user and peer are n × inputDim and each projection dim × inputDim.
    const bool projected = !head.Get("userProjection").IsUndefined() || !head.Get("peerProjection").IsUndefined();
    const std::size_t input_dim = projected ? to_count(head.Get("inputDim"), (name + ".inputDim").c_str()) : dim;
    Napi::Float32Array user = to_float_matrix(head.Get("user"), (name + ".user").c_str(), n, input_dim);
    Napi::Float32Array peer = to_float_matrix(head.Get("peer"), (name + ".peer").c_str(), n, input_dim);
    KINDRED_NAPI_THROW_RANGE_ERROR_IF(overlaps(scratch, user) || overlaps(scratch, peer), env,
                                      "scratch must not overlap " + name + ".user or .peer");
    HeadProjection projection{};
    if (projected) {
      Napi::Float32Array up = to_float_matrix(head.Get("userProjection"), (name + ".userProjection").c_str(), dim, input_dim);
      Napi::Float32Array pp = to_float_matrix(head.Get("peerProjection"), (name + ".peerProjection").c_str(), dim, input_dim);
      projection = {ConstMatrix(up.Data(), dim, input_dim), ConstMatrix(pp.Data(), dim, input_dim)};
    }
    job->projections.push_back(projection);
    KINDRED_NAPI_THROW_TYPE_ERROR_IF(!head.Get("weight").IsNumber(), env, name + ".weight must be a number");
    matching::Head h;
    h.user = ConstMatrix(user.Data(), n, input_dim);
    h.peer = ConstMatrix(peer.Data(), n, input_dim);
    h.transform = to_transform(head.Get("transform"), name + ".transform");
    h.weight = head.Get("weight").As<Napi::Number>().FloatValue();
    job->heads.push_back(h);
  }
  read_filters(info, 4, n, refs, *job);
  matching::MaxWeightOptions tuning = to_tuning(info[7]);
  const std::int32_t* cancel = to_cancel(info, 8);
  if (info.Length() > 8) refs.Set("cancel", info[8]);
  return PromiseWorker::start(new MatchWorker(env, MutableMatrix(scratch.Data(), n, n), tuning, refs, cancel, std::move(job)));
}

}  // namespace kindred::addon
