// One AsyncWorker for the clustering entries: the embeddings are read in place (zero copy) and stay
// referenced until the Promise settles; results are small (O(n)) and copied into fresh typed arrays
// on the JS thread. Execute() never touches JS.
#include "addon/clustering_worker.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "addon/convert.h"
#include "addon/errors.h"
#include "addon/promise_worker.h"
#include "kindred/clustering/cut_tree.h"
#include "kindred/clustering/importance.h"
#include "kindred/clustering/medoids.h"
#include "kindred/clustering/ward_linkage.h"
#include "kindred/core/parallel.h"

namespace kindred::addon {
namespace {

enum class Job { kLinkage, kMedoids, kPinnerSage };

// What a job needs besides the embeddings; unused fields stay empty.
struct ClusteringInput {
  Job job = Job::kLinkage;
  ConstMatrix points;
  const std::int32_t* labels = nullptr;  // kMedoids
  std::size_t clusters = 0;              // kMedoids
  const double* age_days = nullptr;      // kPinnerSage
  double threshold = 0;
  double lambda_per_day = clustering::kDefaultLambdaPerDay;
  std::size_t max_anchors = 0;
};

class ClusteringWorker final : public PromiseWorker {
 public:
  ClusteringWorker(Napi::Env env, ClusteringInput input, Napi::Object refs, const std::int32_t* cancel)
      : PromiseWorker(env, "kindred:clustering", refs), in_(input), cancel_(cancel) {}

 protected:
  void Execute() override {
    if (failure_.reject_non_finite("embeddings", in_.points)) return;
    failure_.capture("clustering", [&] {
      const int threads = default_thread_count();
      const std::size_t n = in_.points.rows;
      if (in_.job == Job::kMedoids) {
        medoids_ = clustering::cluster_medoids(in_.points, in_.labels, in_.clusters, cancel_, threads);
        return;
      }
      linkage_ = clustering::ward_linkage(in_.points, cancel_, threads);
      if (in_.job == Job::kLinkage) return;
      labels_.resize(n);
      const std::size_t k = clustering::cut_tree(linkage_.data(), n, in_.threshold, labels_.data());
      medoids_ = clustering::cluster_medoids(in_.points, labels_.data(), k, cancel_, threads);
      importance_ = clustering::cluster_importance(labels_.data(), in_.age_days, n, k, in_.lambda_per_day);
      anchors_ = clustering::top_anchors(importance_, medoids_, in_.max_anchors);
    });
  }

  Napi::Value resolution(Napi::Env env) override {
    switch (in_.job) {
      case Job::kLinkage:
        return to_array<Napi::Float64Array>(env, linkage_);
      case Job::kMedoids:
        return to_array<Napi::Int32Array>(env, medoids_);
      case Job::kPinnerSage:
        break;
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("linkage", to_array<Napi::Float64Array>(env, linkage_));
    out.Set("labels", to_array<Napi::Int32Array>(env, labels_));
    out.Set("medoids", to_array<Napi::Int32Array>(env, medoids_));
    out.Set("importance", to_array<Napi::Float64Array>(env, importance_));
    out.Set("anchors", to_array<Napi::Int32Array>(env, anchors_));
    return out;
  }

 private:
  template <typename Array, typename T>
  static Array to_array(Napi::Env env, const std::vector<T>& values) {
    Array array = Array::New(env, values.size());
    std::copy(values.begin(), values.end(), array.Data());
    return array;
  }

  ClusteringInput in_;
  CancelToken cancel_;
  std::vector<double> linkage_, importance_;
  std::vector<std::int32_t> labels_, medoids_, anchors_;
};

// A typed array of `type` holding exactly `length` elements, or a TypeError/RangeError naming it.
template <typename Array>
Array to_typed(const Napi::Value& value, const char* name, napi_typedarray_type type, const char* type_name,
               std::size_t length) {
  Napi::Env env = value.Env();
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != type, env,
                                   std::string(name) + " must be a " + type_name);
  Array array = value.As<Array>();
  KINDRED_NAPI_THROW_RANGE_ERROR_IF(array.ElementLength() != length, env,
                                    std::string(name) + " must hold " + std::to_string(length) + " elements but holds " +
                                        std::to_string(array.ElementLength()));
  return array;
}

double to_number(const Napi::Value& value, const char* name) {
  Napi::Env env = value.Env();
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(!value.IsNumber(), env, std::string(name) + " must be a number");
  return value.As<Napi::Number>().DoubleValue();
}

std::size_t to_point_count(const Napi::Value& value) {
  const std::size_t n = to_count(value, "n");
  KINDRED_NAPI_THROW_RANGE_ERROR_IF(n > clustering::kMaxWardPoints, value.Env(),
                                    "n must be at most " + std::to_string(clustering::kMaxWardPoints));
  return n;
}

Napi::Promise queue(Napi::Env env, const ClusteringInput& input, Napi::Object refs, const std::int32_t* cancel) {
  return PromiseWorker::start(new ClusteringWorker(env, input, refs, cancel));
}

}  // namespace

Napi::Value ward_linkage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(info.Length() < 3, env,
                                   "wardLinkage expects 3 or 4 arguments: embeddings, n, dim[, cancel]");
  const std::size_t n = to_point_count(info[1]);
  const std::size_t dim = to_count(info[2], "dim");
  Napi::Float32Array points = to_float_matrix(info[0], "embeddings", n, dim);
  const std::int32_t* cancel = to_cancel(info, 3);
  ClusteringInput input;
  input.job = Job::kLinkage;
  input.points = ConstMatrix(points.Data(), n, dim);
  Napi::Object refs = Napi::Object::New(env);
  refs.Set("embeddings", points);
  if (cancel) refs.Set("cancel", info[3]);
  return queue(env, input, refs, cancel);
}

Napi::Value cut_tree(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(info.Length() < 3, env, "cutTree expects 3 arguments: linkage, n, threshold");
  const std::size_t n = to_point_count(info[1]);
  const std::size_t rows = n > 1 ? n - 1 : 0;
  auto linkage = to_typed<Napi::Float64Array>(info[0], "linkage", napi_float64_array, "Float64Array",
                                              rows * clustering::kLinkageColumns);
  const double threshold = to_number(info[2], "threshold");
  Napi::Int32Array labels = Napi::Int32Array::New(env, n);
  clustering::cut_tree(linkage.Data(), n, threshold, labels.Data());  // throws Error → JS error with code
  return labels;
}

Napi::Value cluster_medoids(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(info.Length() < 5, env,
                                   "clusterMedoids expects 5 or 6 arguments: embeddings, n, dim, labels, clusters[, cancel]");
  const std::size_t n = to_point_count(info[1]);
  const std::size_t dim = to_count(info[2], "dim");
  Napi::Float32Array points = to_float_matrix(info[0], "embeddings", n, dim);
  auto labels = to_typed<Napi::Int32Array>(info[3], "labels", napi_int32_array, "Int32Array", n);
  const std::size_t clusters = to_count(info[4], "clusters");
  const std::int32_t* cancel = to_cancel(info, 5);
  ClusteringInput input;
  input.job = Job::kMedoids;
  input.points = ConstMatrix(points.Data(), n, dim);
  input.labels = labels.Data();
  input.clusters = clusters;
  Napi::Object refs = Napi::Object::New(env);
  refs.Set("embeddings", points);
  refs.Set("labels", labels);
  if (cancel) refs.Set("cancel", info[5]);
  return queue(env, input, refs, cancel);
}

Napi::Value pinner_sage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(
      info.Length() < 7, env,
      "pinnerSage expects 7 or 8 arguments: embeddings, n, dim, ageDays, threshold, lambdaPerDay, maxAnchors[, cancel]");
  const std::size_t n = to_point_count(info[1]);
  const std::size_t dim = to_count(info[2], "dim");
  Napi::Float32Array points = to_float_matrix(info[0], "embeddings", n, dim);
  auto ages = to_typed<Napi::Float64Array>(info[3], "ageDays", napi_float64_array, "Float64Array", n);
  ClusteringInput input;
  input.job = Job::kPinnerSage;
  input.points = ConstMatrix(points.Data(), n, dim);
  input.age_days = ages.Data();
  input.threshold = to_number(info[4], "threshold");
  input.lambda_per_day = to_number(info[5], "lambdaPerDay");
  input.max_anchors = to_count(info[6], "maxAnchors");
  KINDRED_NAPI_THROW_RANGE_ERROR_IF(!(input.threshold >= 0), env, "threshold must be >= 0");
  const std::int32_t* cancel = to_cancel(info, 7);
  Napi::Object refs = Napi::Object::New(env);
  refs.Set("embeddings", points);
  refs.Set("ageDays", ages);
  if (cancel) refs.Set("cancel", info[7]);
  return queue(env, input, refs, cancel);
}

}  // namespace kindred::addon
