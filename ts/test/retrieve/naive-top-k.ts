/** Naive retrieval references for the index tests: double-precision scores and a full sort. */
import type { IndexMetric, ItemId } from '../../src/retrieve/item-index.js';

/** Every item's score for one query (cosine: both sides normalized in double precision). */
export function naiveScores(query: Float32Array, items: Float32Array, dim: number, metric: IndexMetric): Float64Array {
  const n = items.length / dim;
  const out = new Float64Array(n);
  const qNorm = metric === 'cos' ? Math.hypot(...query) : 1;
  for (let j = 0; j < n; j++) {
    let dot = 0;
    let norm = 0;
    for (let c = 0; c < dim; c++) {
      dot += query[c]! * items[j * dim + c]!;
      norm += items[j * dim + c]! * items[j * dim + c]!;
    }
    out[j] = metric === 'cos' ? dot / (qNorm * Math.sqrt(norm)) : dot;
  }
  return out;
}

/** The ids of the best k items (the earlier item first on equal scores), by insertion into a sorted list. */
export function naiveTopK(scores: Float64Array, ids: readonly ItemId[], k: number): Array<{ id: ItemId; score: number }> {
  const best: number[] = []; // rows, best first
  for (let j = 0; j < scores.length; j++) {
    if (best.length === k && !(scores[j]! > scores[best[k - 1]!]!)) continue;
    let at = best.length;
    while (at > 0 && scores[j]! > scores[best[at - 1]!]!) at--;
    best.splice(at, 0, j);
    if (best.length > k) best.pop();
  }
  return best.map((j) => ({ id: ids[j]!, score: scores[j]! }));
}

/** Rows of `clusters` Gaussian blobs around random centres: realistic ANN data. */
export function clusteredVectors(random: () => number, n: number, dim: number, clusters: number, spread: number): Float32Array {
  const centres = Array.from({ length: clusters }, () => Float32Array.from({ length: dim }, () => random() * 2 - 1));
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const centre = centres[Math.floor(random() * clusters)]!;
    for (let c = 0; c < dim; c++) out[i * dim + c] = centre[c]! + spread * gaussian(random);
  }
  return out;
}

function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}
