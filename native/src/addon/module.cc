// The addon's exports. Everything is per call or per process (the backend registry); no static JS
// handles, so the module is context-aware and loads in worker threads.
#include <napi.h>

#include "addon/add_into.h"
#include "addon/backends.h"
#include "addon/clustering_worker.h"
#include "addon/errors.h"
#include "addon/gather_rows.h"
#include "addon/match_worker.h"
#include "addon/pair_scores_worker.h"
#include "addon/top_k_worker.h"

namespace kindred::addon {
namespace {

// Wraps a binding so that any C++ exception becomes a JS exception instead of a crash.
template <Napi::Value (*Fn)(const Napi::CallbackInfo&)>
Napi::Value guarded(const Napi::CallbackInfo& info) {
  try {
    return Fn(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const Error& e) {
    throw make_error(info.Env(), e.code(), e.what());
  } catch (const std::exception& e) {
    throw make_error(info.Env(), Code::kInternal, e.what());
  }
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  exports.Set("listBackends", Napi::Function::New(env, guarded<list_backends>, "listBackends"));
  exports.Set("pairScores", Napi::Function::New(env, guarded<pair_scores>, "pairScores"));
  exports.Set("matchWeights", Napi::Function::New(env, guarded<match_weights>, "matchWeights"));
  exports.Set("matchEmbeddings", Napi::Function::New(env, guarded<match_embeddings>, "matchEmbeddings"));
  exports.Set("matchHeads", Napi::Function::New(env, guarded<match_heads>, "matchHeads"));
  exports.Set("wardLinkage", Napi::Function::New(env, guarded<ward_linkage>, "wardLinkage"));
  exports.Set("cutTree", Napi::Function::New(env, guarded<cut_tree>, "cutTree"));
  exports.Set("clusterMedoids", Napi::Function::New(env, guarded<cluster_medoids>, "clusterMedoids"));
  exports.Set("pinnerSage", Napi::Function::New(env, guarded<pinner_sage>, "pinnerSage"));
  exports.Set("topK", Napi::Function::New(env, guarded<top_k>, "topK"));
  exports.Set("addInto", Napi::Function::New(env, guarded<add_into>, "addInto"));
  exports.Set("gatherRows", Napi::Function::New(env, guarded<gather_rows>, "gatherRows"));
  Napi::Object build = Napi::Object::New(env);
  build.Set("blas", Napi::Boolean::New(env, KINDRED_HAVE_BLAS != 0));
  build.Set("cuda", Napi::Boolean::New(env, KINDRED_HAVE_CUDA != 0));
  build.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
  exports.Set("build", build);
  return exports;
}

}  // namespace
}  // namespace kindred::addon

// NODE_API_MODULE pastes the function name into an identifier, so it needs an unqualified one.
static Napi::Object InitKindred(Napi::Env env, Napi::Object exports) { return kindred::addon::init(env, exports); }

NODE_API_MODULE(kindred, InitKindred)
