#!/usr/bin/python3
"""Ward-linkage baselines for bench/pinner-sage.bench.ts, timed inside Python on the data the
benchmark wrote (so both sides cluster the very same float32 points):

  fastcluster: fastcluster.linkage(pdist(X), 'ward')   (condensed matrix; pdist included)
  scipy:       scipy.cluster.hierarchy.linkage(X, 'ward')

Usage: /usr/bin/python3 bench/ward_baselines.py FILE N DIM REPS
FILE holds N*DIM little-endian float32 values, row-major. Prints one JSON object:
{"versions": {...}, "fastcluster": [seconds per rep], "scipy": [...], "z": {"fastcluster": [...], "scipy": [...]}}
where "z" holds the heights of the last 3 merges (a cross-check against kindred's linkage).
"""
import json
import sys
import time

import fastcluster
import numpy as np
import scipy
from scipy.cluster.hierarchy import linkage
from scipy.spatial.distance import pdist


def main() -> None:
    path, n, dim, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    x = np.fromfile(path, dtype='<f4').reshape(n, dim)
    times = {'fastcluster': [], 'scipy': []}
    tails = {}
    for _ in range(reps):
        # Alternate so that drift of this shared VM hits both alike.
        t0 = time.perf_counter()
        z = fastcluster.linkage(pdist(x), 'ward')
        times['fastcluster'].append(time.perf_counter() - t0)
        tails['fastcluster'] = z[-3:, 2].tolist()
        t0 = time.perf_counter()
        z = linkage(x, 'ward')
        times['scipy'].append(time.perf_counter() - t0)
        tails['scipy'] = z[-3:, 2].tolist()
    print(json.dumps({
        'versions': {'fastcluster': fastcluster.__version__, 'scipy': scipy.__version__, 'numpy': np.__version__},
        **times,
        'z': tails,
    }))


main()
