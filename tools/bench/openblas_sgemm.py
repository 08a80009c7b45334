#!/usr/bin/env python3
"""Baseline for MatmulBenchmark: float32 C = A @ W.T (n x n) through numpy's OpenBLAS, all cores.

Usage: python3 tools/bench/openblas_sgemm.py [n] [repeats]
Prints the best and median time and GFLOP/s (2 n^3 / time), like the JMH benchmark's ms/op.
"""
import statistics
import sys
import time

import numpy as np

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 50
rng = np.random.default_rng(1)
a = rng.standard_normal((n, n), dtype=np.float32)
w = rng.standard_normal((n, n), dtype=np.float32)
c = np.empty((n, n), dtype=np.float32)
for _ in range(10):
    np.matmul(a, w.T, out=c)
times = []
for _ in range(repeats):
    t0 = time.perf_counter()
    np.matmul(a, w.T, out=c)
    times.append(time.perf_counter() - t0)
flop = 2.0 * n ** 3
print(f"OpenBLAS sgemm n={n}: median {statistics.median(times) * 1e3:.3f} ms ({flop / statistics.median(times) / 1e9:.1f} GFLOP/s), "
      f"best {min(times) * 1e3:.3f} ms ({flop / min(times) / 1e9:.1f} GFLOP/s)")
