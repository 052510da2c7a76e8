"""Baseline for bench/pair-scores.bench.ts: numpy's float32 a @ b.T (OpenBLAS sgemm via numpy).

Usage: numpy_sgemm.py ROWS COLS DIM ITERATIONS. Prints one JSON line with the median times (ms) of
the product into a reused output (np.matmul(..., out=c)) and into a fresh one, and numpy's BLAS.
"""
import json
import sys
import time

import numpy as np


def blas_name():
    # Debian's numpy links libblas.so.3, an alternatives link: report the libraries really mapped.
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "blas" in line.lower() and "/" in line}
        return ", ".join(sorted(paths)) or "unknown"
    except OSError:
        return "unknown"


def median_ms(fn, iterations):
    fn()  # warm-up: BLAS threads, page faults of the reused output
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return times[len(times) // 2]


def main():
    rows, cols, dim, iterations = (int(x) for x in sys.argv[1:5])
    rng = np.random.default_rng(42)
    a = rng.standard_normal((rows, dim), dtype=np.float32)
    b = rng.standard_normal((cols, dim), dtype=np.float32)
    c = np.empty((rows, cols), dtype=np.float32)
    reused = median_ms(lambda: np.matmul(a, b.T, out=c), iterations)
    fresh = median_ms(lambda: a @ b.T, iterations)
    print(json.dumps({"reusedMs": reused, "freshMs": fresh, "numpy": np.__version__, "blas": blas_name()}))


if __name__ == "__main__":
    main()
