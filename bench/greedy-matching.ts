/**
 * The greedy baseline of the matching benchmark: every allowed pair (finite weight > 0, i < j) by
 * weight, highest first, taken when both users are still free. Pairs are ordered by an LSD radix
 * sort on the weights' bits (positive floats order as their bit patterns do), which handles the
 * tens of millions of pairs of a 10,000-user pool in a second or two where a comparator sort would
 * take minutes.
 */
export interface GreedyResult {
  totalWeight: number;
  pairs: number;
}

export function greedyMatching(weights: Float32Array, n: number): GreedyResult {
  if (n > 65_535) throw new RangeError(`greedyMatching: n = ${n} does not fit a pair index in 32 bits`);
  const bits = new Uint32Array(weights.buffer, weights.byteOffset, weights.length);
  let count = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const w = weights[i * n + j]!;
      if (w > 0 && w < Infinity) count++;
    }
  }
  let keys = new Uint32Array(count);
  let pairs = new Uint32Array(count);
  let k = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const w = weights[i * n + j]!;
      if (w > 0 && w < Infinity) {
        keys[k] = bits[i * n + j]!;
        pairs[k++] = i * n + j;
      }
    }
  }
  // Four stable passes of 8 bits each: ascending by weight.
  let keysOut = new Uint32Array(count);
  let pairsOut = new Uint32Array(count);
  const buckets = new Uint32Array(256);
  for (let shift = 0; shift < 32; shift += 8) {
    buckets.fill(0);
    for (let t = 0; t < count; t++) buckets[(keys[t]! >>> shift) & 255]!++;
    for (let b = 0, sum = 0; b < 256; b++) {
      const c = buckets[b]!;
      buckets[b] = sum;
      sum += c;
    }
    for (let t = 0; t < count; t++) {
      const at = buckets[(keys[t]! >>> shift) & 255]!++;
      keysOut[at] = keys[t]!;
      pairsOut[at] = pairs[t]!;
    }
    [keys, keysOut] = [keysOut, keys];
    [pairs, pairsOut] = [pairsOut, pairs];
  }
  const used = new Uint8Array(n);
  let totalWeight = 0;
  let taken = 0;
  for (let t = count - 1; t >= 0; t--) {
    const pair = pairs[t]!;
    const i = Math.floor(pair / n);
    const j = pair - i * n;
    if (used[i] || used[j]) continue;
    used[i] = used[j] = 1;
    totalWeight += weights[pair]!;
    taken++;
  }
  return { totalWeight, pairs: taken };
}
