import { describe, expect, it } from 'vitest';

import { float32DescendingOrder, FLOAT32_ORDER_MAX } from '../../src/core/float32-order.js';
import { seededRandom } from '../reference/random.js';

/** The definition: indices by value, highest first, ties by index. */
const naive = (values: ArrayLike<number>, count: number) =>
  Array.from({ length: count }, (_, i) => i).sort((x, y) => values[y]! - values[x]! || x - y);

describe('float32DescendingOrder', () => {
  it('orders float32 values of any sign like the naive sort, ties by index, into the given arrays', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const random = seededRandom(seed);
      const count = Math.floor(random() * 2000);
      const levels = seed % 3 === 0 ? 6 : 0;
      const values = Float32Array.from({ length: count + 5 }, () => (levels > 0 ? Math.floor(random() * levels) - 3 : (random() - 0.5) * 1e3));
      const order = new Int32Array(count + 5);
      const got = float32DescendingOrder(values, count, order, new Float64Array(count + 5));
      expect(got, `seed ${seed}`).toBeDefined();
      expect(Array.from(got!), `seed ${seed}`).toEqual(naive(values, count));
      expect(got!.buffer).toBe(order.buffer);
    }
    const edges = Float32Array.of(Infinity, -Infinity, 0, 1e-45, -1e-45, 3.4e38, -3.4e38, 1);
    expect(Array.from(float32DescendingOrder(edges, edges.length, new Int32Array(8), new Float64Array(8))!)).toEqual([0, 5, 7, 3, 2, 4, 6, 1]);
  });

  it('refuses what it cannot order exactly: −0, NaN, float64-only values, more than 2^21 values', () => {
    const order = new Int32Array(3);
    const scratch = new Float64Array(3);
    expect(float32DescendingOrder([0.5, -0, 0.25], 3, order, scratch)).toBeUndefined();
    expect(float32DescendingOrder([0.5, Number.NaN, 0.25], 3, order, scratch)).toBeUndefined();
    expect(float32DescendingOrder([0.1, 0.5, 0.25], 3, order, scratch)).toBeUndefined();
    expect(float32DescendingOrder([], FLOAT32_ORDER_MAX + 1, order, scratch)).toBeUndefined();
  });
});
