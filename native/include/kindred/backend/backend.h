// The abstract compute backend. One instance per backend family (portable, blas, cuda), owned by
// the registry; every op is thread-safe, so several requests may use one backend at once.
#pragma once

#include <string>

#include "kindred/core/cancel.h"
#include "kindred/core/matrix_view.h"

namespace kindred::backend {

enum class Kind { kCpu, kGpu };

// What listBackends() reports for each backend family, available or not.
struct BackendInfo {
  std::string name;     // "cuda", "blas", "portable"
  Kind kind = Kind::kCpu;
  bool available = false;
  std::string reason;   // why it is unavailable; empty when available
  std::string device;   // e.g. "OpenBLAS 0.3.21 (Haswell)", "NVIDIA H100 80GB HBM3"
  int threads = 0;      // CPU threads it uses; 0 when not meaningful
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual const BackendInfo& info() const noexcept = 0;

  // c = a · bᵀ, with a rows×dim, b cols×dim and c rows×cols (all row-major, rows contiguous up to
  // their stride). Shapes are validated by the caller (gemm/pair_scores.h). Polls `cancel` between
  // tiles. Throws kindred::Error. max_threads ≥ 1 caps the CPU threads it may use (1: only the
  // calling thread, for callers that split the work across threads themselves); 0: its own choice.
  virtual void gemm_abt(ConstMatrix a, ConstMatrix b, MutableMatrix c, const CancelToken& cancel,
                        int max_threads = 0) = 0;
};

}  // namespace kindred::backend
