import { describe, expect, it } from 'vitest';

import { rankerOrder } from '../../src/feed/ranker-order.js';
import { seededRandom } from '../reference/random.js';

/** The definition: indices sorted by key, highest first, equal keys by index. */
function naiveOrder(keys: Float64Array): number[] {
  return Array.from(keys, (_, i) => i).sort((x, y) => (keys[y]! > keys[x]! ? 1 : keys[y]! < keys[x]! ? -1 : x - y));
}

function check(pctr: Float32Array, label: string): void {
  const keys = Float64Array.from(pctr);
  expect(Array.from(rankerOrder(keys, pctr)), label).toEqual(naiveOrder(keys));
  expect(Array.from(rankerOrder(keys)), `${label} (comparator path)`).toEqual(naiveOrder(keys));
}

describe('rankerOrder', () => {
  it('orders seeded random pCTRs like the naive sort, ties in retrieval order', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const random = seededRandom(seed);
      const n = Math.floor(random() * 3000);
      // Few distinct levels on some seeds: many ties.
      const levels = seed % 3 === 0 ? 5 : 0;
      const pctr = Float32Array.from({ length: n }, () => (levels > 0 ? Math.floor(random() * levels) / levels : random()));
      check(pctr, `seed ${seed}, n ${n}`);
    }
  });

  it('handles the edges of the float32 range: 0, denormals, 1, large values, +Infinity', () => {
    const pctr = Float32Array.of(1, 0, 1e-45, 0.5, 1.401298464324817e-45, 3.4e38, Infinity, 0, 1, 2 ** -126, 0.5);
    check(pctr, 'edges');
    expect(Array.from(rankerOrder(Float64Array.from(pctr), pctr)).slice(0, 3)).toEqual([6, 5, 0]);
  });

  it('falls back to the comparator for negative zero and negative or NaN-free non-pCTR keys', () => {
    check(Float32Array.of(0.3, -0, 0, 0.3), 'negative zero');
    check(Float32Array.of(0.3, -0.5, 0.1, -2), 'negative keys');
    // Retrieval scores (no pCTR): float64 keys, any sign.
    const keys = Float64Array.of(0.91, -0.2, 0.91, 0.1234567890123, 0.1234567890124);
    expect(Array.from(rankerOrder(keys))).toEqual(naiveOrder(keys));
  });

  it('reads pCTRs that are a view into a larger buffer', () => {
    const buffer = Float32Array.of(9, 9, 0.2, 0.7, 0.2, 0.9, 9);
    const pctr = buffer.subarray(2, 6);
    check(pctr, 'subarray');
    expect(Array.from(rankerOrder(Float64Array.from(pctr), pctr))).toEqual([3, 1, 0, 2]);
  });
});
