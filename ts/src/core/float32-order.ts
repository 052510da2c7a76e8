/**
 * Indices by value, highest first, equal values in index order, for values that are float32
 * numbers (pCTRs, index scores): each becomes one exact float64, `(top − sortable bits) · 2^21 +
 * index`, and a numeric sort without a comparator orders them (about 3× faster than comparator
 * calls on a few thousand values). Used by the feed's ranker order and the candidate merge.
 */

/** Most values the composite holds: the index takes the low 21 bits of a 53-bit mantissa. */
export const FLOAT32_ORDER_MAX = 2 ** 21;

const one = new Float32Array(1);
const oneBits = new Uint32Array(one.buffer);

/**
 * Fills `order[0..count)` with the indices of `values[0..count)`, highest value first, ties by
 * index, using `composite` (≥ count entries) as scratch.
 *
 * @returns `order.subarray(0, count)`, or undefined when some value is not a float32 (NaN, −0 and
 *   float64-only values included) or count > {@link FLOAT32_ORDER_MAX}: sort those with a comparator
 */
export function float32DescendingOrder(
  values: ArrayLike<number>,
  count: number,
  order: Int32Array,
  composite: Float64Array,
): Int32Array | undefined {
  if (count > FLOAT32_ORDER_MAX) return undefined;
  for (let i = 0; i < count; i++) {
    const v = values[i]!;
    if (Math.fround(v) !== v || Object.is(v, -0)) return undefined;
  }
  const keys = composite.subarray(0, count);
  for (let i = 0; i < count; i++) {
    one[0] = values[i]!;
    const b = oneBits[0]!;
    // IEEE order → unsigned order: negatives flip every bit, positives set the sign bit.
    const sortable = b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
    keys[i] = (0xffffffff - sortable) * FLOAT32_ORDER_MAX + i;
  }
  keys.sort();
  const out = order.subarray(0, count);
  for (let p = 0; p < count; p++) out[p] = keys[p]! % FLOAT32_ORDER_MAX;
  return out;
}
