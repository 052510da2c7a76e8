/**
 * A naive Ward linkage in plain TypeScript, the "what you would write without kindred" baseline of
 * bench/pinner-sage.bench.ts: the full n×n float64 distance matrix, and at every one of the n − 1
 * merges a scan of all live pairs for the smallest distance (O(n³) in all) followed by the
 * Lance–Williams Ward update of the merged row. Heights are in SciPy's units (two single points
 * merge at their Euclidean distance), so its sorted heights can be checked against kindred's.
 * Not for production: it blocks the thread it runs on.
 */

/** The n − 1 merge heights, in merge order (non-decreasing for Ward). */
export function naiveWardHeights(x: Float32Array, n: number, dim: number): Float64Array {
  const d = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      let s = 0;
      for (let k = 0; k < dim; k++) {
        const t = x[i * dim + k]! - x[j * dim + k]!;
        s += t * t;
      }
      d[i * n + j] = d[j * n + i] = Math.sqrt(s);
    }
  }
  const size = new Float64Array(n).fill(1);
  const live = new Uint8Array(n).fill(1);
  const heights = new Float64Array(Math.max(0, n - 1));
  for (let step = 0; step < n - 1; step++) {
    let best = Infinity;
    let bi = -1;
    let bj = -1;
    for (let i = 0; i < n; i++) {
      if (live[i] === 0) continue;
      const row = i * n;
      for (let j = i + 1; j < n; j++) {
        if (live[j] !== 0 && d[row + j]! < best) {
          best = d[row + j]!;
          bi = i;
          bj = j;
        }
      }
    }
    heights[step] = best;
    // The union keeps slot bj (SciPy keeps the larger index); slot bi dies.
    const nx = size[bi]!;
    const ny = size[bj]!;
    for (let k = 0; k < n; k++) {
      if (live[k] === 0 || k === bi || k === bj) continue;
      const nk = size[k]!;
      const t = 1 / (nx + ny + nk);
      const dxk = d[bi * n + k]!;
      const dyk = d[bj * n + k]!;
      const v = Math.sqrt(Math.max(0, (nk + nx) * t * dxk * dxk + (nk + ny) * t * dyk * dyk - nk * t * best * best));
      d[bj * n + k] = d[k * n + bj] = v;
    }
    size[bj] = nx + ny;
    live[bi] = 0;
  }
  return heights;
}
