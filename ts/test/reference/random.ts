/** Seeded random numbers for tests: mulberry32, so every failure names a reproducible seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A rows×dim Float32Array of values uniform in [-scale, scale). */
export function randomMatrix(random: () => number, rows: number, dim: number, scale = 1): Float32Array {
  const m = new Float32Array(rows * dim);
  for (let i = 0; i < m.length; i++) m[i] = (random() * 2 - 1) * scale;
  return m;
}
