/**
 * The ranker's order of a request's candidates: by key (pCTR, or the retrieval score when the
 * ranker is degraded), highest first; equal keys keep the retrieval order (lower index first).
 */

/** Candidate counts up to this fit their index below the key in the composite sort. */
const INDEX_SPAN = 2 ** 21;

/** Bit patterns below this are +0 … +Infinity as float32: no sign bit, no NaN. */
const ABOVE_INFINITY = 0x7f800001;

/**
 * `order[p]` = the index of the candidate at position p.
 *
 * pCTRs are float32 values ≥ 0, whose bit patterns order like the values: each candidate becomes
 * the exact float64 `(bits(+Infinity) − bits) · 2^21 + index`, and one numeric sort without a
 * comparator (about 3× faster than comparator calls on 2,000 candidates) gives the order. Keys
 * that are not such pCTRs (retrieval scores, a negative zero) take the comparator sort.
 *
 * @param keys the rank key of each candidate
 * @param pctr the pCTRs the keys were copied from, or undefined when the keys are not pCTRs
 */
export function rankerOrder(keys: Float64Array, pctr?: Float32Array): Int32Array {
  const n = keys.length;
  const order = new Int32Array(n);
  const bits = pctr === undefined || pctr.length !== n || n > INDEX_SPAN ? undefined : new Uint32Array(pctr.buffer, pctr.byteOffset, n);
  if (bits !== undefined && bits.every((b) => b < ABOVE_INFINITY)) {
    const composite = new Float64Array(n);
    for (let i = 0; i < n; i++) composite[i] = (ABOVE_INFINITY - 1 - bits[i]!) * INDEX_SPAN + i;
    composite.sort();
    for (let p = 0; p < n; p++) order[p] = composite[p]! % INDEX_SPAN;
    return order;
  }
  for (let i = 0; i < n; i++) order[i] = i;
  return order.sort((x, y) => (keys[y]! > keys[x]! ? 1 : keys[y]! < keys[x]! ? -1 : x - y));
}
