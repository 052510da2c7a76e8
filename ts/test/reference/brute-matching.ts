/** Exact maximum-weight matching by dynamic programming over subsets (n ≤ 16), for tests. */
export function bruteForceMatching(weights: Float32Array, n: number): number {
  if (n > 16) throw new Error('bruteForceMatching: n must be ≤ 16');
  const best = new Float64Array(1 << n);
  for (let mask = 1; mask < 1 << n; mask++) {
    const i = 31 - Math.clz32(mask & -mask); // lowest vertex in the set
    const rest = mask & ~(1 << i);
    let value = best[rest]!; // i stays single
    for (let j = 0; j < n; j++) {
      if (!(rest & (1 << j))) continue;
      const w = weights[i * n + j]!;
      if (w > 0 && Number.isFinite(w)) value = Math.max(value, best[rest & ~(1 << j)]! + w);
    }
    best[mask] = value;
  }
  return best[(1 << n) - 1]!;
}

/** A random symmetric weight matrix: `forbidden` share of pairs −∞, the rest drawn by `draw`. */
export function randomWeights(random: () => number, n: number, forbidden: number, draw: () => number): Float32Array {
  const w = new Float32Array(n * n).fill(Number.NEGATIVE_INFINITY);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (random() < forbidden) continue;
      w[i * n + j] = w[j * n + i] = draw();
    }
  }
  return w;
}
