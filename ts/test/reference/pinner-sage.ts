/** Naive references for the clustering tests: medoids and importance by their definitions. */

/** Euclidean distance in float64 between rows a and b. */
export function distance(x: Float32Array, dim: number, a: number, b: number): number {
  let s = 0;
  for (let k = 0; k < dim; k++) {
    const t = x[a * dim + k]! - x[b * dim + k]!;
    s += t * t;
  }
  return Math.sqrt(s);
}

/** Medoid row per cluster 1..k (index c − 1): smallest distance sum; pairs: larger norm; ties: lowest row. */
export function naiveMedoids(x: Float32Array, dim: number, labels: ArrayLike<number>): number[] {
  const k = Math.max(0, ...Array.from(labels));
  const members: number[][] = Array.from({ length: k }, () => []);
  for (let i = 0; i < labels.length; i++) members[labels[i]! - 1]!.push(i);
  return members.map((m) => {
    if (m.length === 2) {
      const norm = (r: number) => {
        let s = 0;
        for (let q = 0; q < dim; q++) s += x[r * dim + q]! * x[r * dim + q]!;
        return s;
      };
      return norm(m[1]!) > norm(m[0]!) ? m[1]! : m[0]!;
    }
    let best = m[0]!;
    let bestSum = Infinity;
    for (const a of m) {
      let s = 0;
      for (const b of m) if (a !== b) s += distance(x, dim, a, b);
      if (s < bestSum) {
        bestSum = s;
        best = a;
      }
    }
    return best;
  });
}

/** Σ exp(−λ · ageDays) per cluster 1..k (index c − 1). */
export function naiveImportance(labels: ArrayLike<number>, ageDays: ArrayLike<number>, lambda: number): number[] {
  const k = Math.max(0, ...Array.from(labels));
  const out = new Array<number>(k).fill(0);
  for (let i = 0; i < labels.length; i++) out[labels[i]! - 1]! += Math.exp(-lambda * ageDays[i]!);
  return out;
}

/** Canonical form of a labelling: clusters renumbered by first appearance (partition equality). */
export function canonical(labels: ArrayLike<number>): number[] {
  const names = new Map<number, number>();
  return Array.from(labels, (l) => {
    if (!names.has(l)) names.set(l, names.size);
    return names.get(l)!;
  });
}
