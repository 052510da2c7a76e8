// Native CPU-vs-GPU benchmark of pair scores (no Node needed, so it runs on the GPU machine).
// For each shape and each available backend: median of repeated c = a·bᵀ into a reused, already
// touched output, GFLOP/s, and the ratio against the first CPU baseline (blas, else portable) run
// in this same process.
//
//   pair_scores_bench [reps=7] [shape ...]      shape = ROWSxCOLSxDIM, default 2000x2000x64 10000x10000x64
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kindred/backend/registry.h"
#include "kindred/core/error.h"
#include "kindred/gemm/pair_scores.h"

using namespace kindred;

namespace {

struct Shape {
  std::size_t rows, cols, dim;
};

double median_ms(backend::Backend& be, const std::vector<float>& a, const std::vector<float>& b, std::vector<float>& c,
                 const Shape& s, int reps) {
  std::vector<double> times;
  ConstMatrix av(a.data(), s.rows, s.dim), bv(b.data(), s.cols, s.dim);
  MutableMatrix cv(c.data(), s.rows, s.cols);
  gemm::pair_scores(be, av, bv, cv, CancelToken());  // warm-up (CUDA context, BLAS threads)
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    gemm::pair_scores(be, av, bv, cv, CancelToken());
    auto t1 = std::chrono::steady_clock::now();
    times.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 7;
  std::vector<Shape> shapes;
  for (int i = 2; i < argc; ++i) {
    Shape s{};
    if (std::sscanf(argv[i], "%zux%zux%zu", &s.rows, &s.cols, &s.dim) == 3) shapes.push_back(s);
  }
  if (shapes.empty()) shapes = {{2000, 2000, 64}, {10000, 10000, 64}};

  std::printf("machine: %u hardware threads\n", std::thread::hardware_concurrency());
  for (const auto& info : backend::list()) {
    std::printf("backend %-8s %s %s%s\n", info.name.c_str(), info.available ? "available  " : "unavailable",
                info.available ? info.device.c_str() : "", info.available ? "" : info.reason.c_str());
  }
  try {
    for (const auto& s : shapes) {
      std::mt19937 rng(42);
      std::normal_distribution<float> normal;
      std::vector<float> a(s.rows * s.dim), b(s.cols * s.dim), c(s.rows * s.cols, 0.0f);
      for (auto& v : a) v = normal(rng);
      for (auto& v : b) v = normal(rng);
      double gflop = 2.0 * s.rows * s.cols * s.dim / 1e9;
      double baseline = 0;
      std::string baseline_name;
      std::printf("\n%zux%zux%zu (%.2f GFLOP, output %.0f MB, reused)\n", s.rows, s.cols, s.dim, gflop,
                  s.rows * s.cols * 4 / 1e6);
      // Baseline first: blas if present, else portable.
      std::vector<std::string> order;
      for (const char* name : {"blas", "portable", "cuda"}) order.emplace_back(name);
      for (const auto& name : order) {
        const backend::BackendInfo* info = nullptr;
        for (const auto& i : backend::list()) if (i.name == name) info = &i;
        if (!info || !info->available) continue;
        double ms = median_ms(backend::by_name(name), a, b, c, s, reps);
        if (baseline == 0) {
          baseline = ms;
          baseline_name = name;
        }
        std::printf("  %-8s median %9.2f ms  %8.1f GFLOP/s  speed vs %s: %.2fx\n", name.c_str(), ms, gflop / (ms / 1e3),
                    baseline_name.c_str(), baseline / ms);
      }
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "error %s: %s\n", code_name(e.code()), e.what());
    return 1;
  }
  return 0;
}
