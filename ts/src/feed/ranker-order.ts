/**
 * The ranker's order of a request's candidates: by key (pCTR, or the retrieval score when the
 * ranker is degraded), highest first; equal keys keep the retrieval order (lower index first).
 */
import { float32DescendingOrder } from '../core/float32-order.js';

/**
 * `order[p]` = the index of the candidate at position p.
 *
 * pCTRs are float32 values: they take the numeric sort of {@link float32DescendingOrder}. Keys
 * that are not pCTRs (retrieval scores), or pCTRs it refuses (a negative zero), take the
 * comparator sort.
 *
 * @param keys the rank key of each candidate
 * @param pctr the pCTRs the keys were copied from, or undefined when the keys are not pCTRs
 */
export function rankerOrder(keys: Float64Array, pctr?: Float32Array): Int32Array {
  const n = keys.length;
  const order = new Int32Array(n);
  if (pctr !== undefined && pctr.length === n && float32DescendingOrder(pctr, n, order, new Float64Array(n)) !== undefined) {
    return order;
  }
  for (let i = 0; i < n; i++) order[i] = i;
  return order.sort((x, y) => (keys[y]! > keys[x]! ? 1 : keys[y]! < keys[x]! ? -1 : x - y));
}
