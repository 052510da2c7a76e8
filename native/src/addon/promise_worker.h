// The shape every kindred AsyncWorker shares: a deferred Promise; the JS values the work reads
// (inputs, outputs, the cancel flag), kept referenced until it settles so their pointers stay
// valid; and failures that Execute() records in `failure_` (it never throws or touches JS), turned
// into a rejection on the JS thread. A subclass implements Execute() and resolution().
#pragma once

#include <napi.h>

#include "addon/worker_failure.h"

namespace kindred::addon {

class PromiseWorker : public Napi::AsyncWorker {
 public:
  // Queues the worker (which deletes itself once settled) and returns its Promise.
  static Napi::Promise start(PromiseWorker* worker) {
    Napi::Promise promise = worker->deferred_.Promise();
    worker->Queue();
    return promise;
  }

 protected:
  PromiseWorker(Napi::Env env, const char* name, Napi::Object refs)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)), refs_(Napi::Persistent(refs)) {}

  // What the Promise resolves with, built on the JS thread after Execute() succeeded.
  virtual Napi::Value resolution(Napi::Env env) = 0;

  void OnOK() final {
    Napi::Env env = Env();
    refs_.Reset();
    if (failure_.failed()) {
      deferred_.Reject(failure_.to_error(env));
    } else {
      deferred_.Resolve(resolution(env));
    }
  }

  void OnError(const Napi::Error& error) final {
    refs_.Reset();
    deferred_.Reject(error.Value());
  }

  WorkerFailure failure_;

 private:
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference refs_;
};

}  // namespace kindred::addon
