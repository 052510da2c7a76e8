/**
 * The merge of several anchors' neighbour lists into one candidate list (an item found by several
 * anchors appears once with the best score; order: best score first, then id), kept in typed
 * arrays. {@link AnchorCache.retrieve} and the feed both use it. A feed request merges ~5,000 hits
 * into ~2,000 candidates on the event loop; one object per hit and per candidate, and comparator
 * sorts over them, cost more than the rest of the request's glue. Which anchors found an item is
 * kept as a linked list and turned into {@link AnchorMatch} objects only for items that ask.
 */
import { float32DescendingOrder } from '../core/float32-order.js';
import type { AnchorMatch } from './anchor-cache.js';
import type { ItemHit, ItemId } from './item-index.js';

/** Numbers first (ascending), then strings (code-unit order). */
export function compareIds(x: ItemId, y: ItemId): number {
  if (typeof x === 'number') return typeof y === 'number' ? x - y : -1;
  if (typeof y === 'number') return 1;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** An anchor as the merge needs it. */
export interface MergeAnchor {
  readonly itemId: ItemId;
  readonly importance: number;
}

/** The merged candidates, in retrieval order (position p = the p-th best). */
export interface MergedCandidates {
  /** Candidates. */
  readonly count: number;
  /** Item id by position. */
  readonly ids: readonly ItemId[];
  /** Best retrieval score by position. */
  readonly scores: Float64Array;
  /** The anchor (index into the anchors) that found it with the best score (the first such anchor on ties), by position. */
  readonly bestAnchor: Int32Array;
  /**
   * Every anchor that found the candidate at `position`, best score first (anchor order on ties);
   * only when the merge was asked to keep them.
   */
  readonly matches: ((position: number) => AnchorMatch[]) | undefined;
}

/**
 * Working arrays of the merge, grown as needed and reused by the next merge (a merge is
 * synchronous): ~200 KB per request of typed arrays otherwise, which V8 counts as external memory
 * and answers with more frequent garbage collections.
 */
class MergeScratch {
  size = 0;
  best = new Float64Array(0);
  bestAnchor = new Int32Array(0);
  head = new Int32Array(0);
  tail = new Int32Array(0);
  matchAnchor = new Int32Array(0);
  matchScore = new Float64Array(0);
  next = new Int32Array(0);
  order = new Int32Array(0);
  composite = new Float64Array(0);

  /** Arrays of at least `total` entries: these (reused) or, to keep them past this merge, new ones. */
  static take(total: number, keep: boolean): MergeScratch {
    if (keep) return new MergeScratch().#grow(total);
    if (shared.size < total) shared.#grow(Math.max(total, 2 * shared.size));
    return shared;
  }

  #grow(size: number): this {
    this.size = size;
    this.best = new Float64Array(size);
    this.bestAnchor = new Int32Array(size);
    this.head = new Int32Array(size);
    this.tail = new Int32Array(size);
    this.matchAnchor = new Int32Array(size);
    this.matchScore = new Float64Array(size);
    this.next = new Int32Array(size);
    this.order = new Int32Array(size);
    this.composite = new Float64Array(size);
    return this;
  }
}

const shared = new MergeScratch();

/** Item ids below this can use the dense slot table instead of a Map (the table grows to the largest id seen). */
const DENSE_IDS = 1 << 22;

/**
 * Slot + 1 by item id, for small non-negative integer ids (0 = none), reset after every merge: a
 * Map of ~2,000 ids, grown entry by entry, allocated more than the rest of the merge.
 */
let slotTable = new Int32Array(0);

/**
 * Merges `lists[a]` (anchor a's hits) into candidates: hits in `exclude` and the anchors' own items
 * are dropped; an item found by several anchors appears once, with the best score.
 *
 * @param keepMatches keep which anchors found each candidate, for {@link MergedCandidates.matches}
 */
export function mergeCandidates(
  anchors: readonly MergeAnchor[],
  lists: ReadonlyArray<readonly ItemHit[]>,
  exclude: ReadonlySet<ItemId>,
  keepMatches = false,
): MergedCandidates {
  const anchorIds = new Set<ItemId>();
  for (const a of anchors) anchorIds.add(a.itemId);
  let total = 0;
  let largestId = -1;
  for (const list of lists) {
    total += list.length;
    for (let h = 0; h < list.length; h++) {
      const id = list[h]!.id;
      largestId = typeof id === 'number' && Number.isInteger(id) && id >= 0 && id < DENSE_IDS && largestId !== -2 ? Math.max(largestId, id) : -2;
    }
  }
  const dense = largestId >= 0;
  if (dense && slotTable.length <= largestId) slotTable = new Int32Array(Math.min(DENSE_IDS, Math.max(largestId + 1, 2 * slotTable.length)));
  const table = slotTable;
  const work = MergeScratch.take(total, keepMatches);
  // Per slot (first-seen order): id, best score, best anchor, head of its match list.
  const slotOf = new Map<ItemId, number>();
  const slotIds: ItemId[] = [];
  const { best, bestAnchor, head, tail } = work;
  // Per match (hit kept): anchor, score, next match of the same slot (−1 = none).
  const { matchAnchor, matchScore, next } = work;
  let matchCount = 0;
  for (let a = 0; a < lists.length; a++) {
    const list = lists[a]!;
    for (let h = 0; h < list.length; h++) {
      const hit = list[h]!;
      const id = hit.id;
      if (exclude.has(id) || anchorIds.has(id)) continue;
      const score = hit.score;
      const m = matchCount++;
      matchAnchor[m] = a;
      matchScore[m] = score;
      next[m] = -1;
      const slot = dense ? table[id as number]! - 1 : (slotOf.get(id) ?? -1);
      if (slot < 0) {
        const s = slotIds.length;
        if (dense) table[id as number] = s + 1;
        else slotOf.set(id, s);
        slotIds.push(id);
        best[s] = score;
        bestAnchor[s] = a;
        head[s] = m;
        tail[s] = m;
      } else {
        next[tail[slot]!] = m;
        tail[slot] = m;
        if (score > best[slot]!) {
          best[slot] = score;
          bestAnchor[slot] = a;
        }
      }
    }
  }
  const count = slotIds.length;
  if (dense) for (let s = 0; s < count; s++) table[slotIds[s] as number] = 0;
  const order = scoreOrder(best, slotIds, count, work.order, work.composite);
  const ids = new Array<ItemId>(count);
  const scores = new Float64Array(count);
  const anchorByPosition = new Int32Array(count);
  for (let p = 0; p < count; p++) {
    const s = order[p]!;
    ids[p] = slotIds[s]!;
    scores[p] = best[s]!;
    anchorByPosition[p] = bestAnchor[s]!;
  }
  return {
    count,
    ids,
    scores,
    bestAnchor: anchorByPosition,
    matches: !keepMatches
      ? undefined
      : (position: number): AnchorMatch[] => {
          const out: AnchorMatch[] = [];
          for (let m = head[order[position]!]!; m !== -1; m = next[m]!) {
            const anchor = anchors[matchAnchor[m]!]!;
            out.push({ anchorId: anchor.itemId, score: matchScore[m]!, importance: anchor.importance });
          }
          // Stable: equal scores keep the anchors' order.
          return out.sort((x, y) => y.score - x.score);
        },
  };
}

/**
 * Slots by score, best first, equal scores by id ({@link compareIds}). Scores that are float32
 * values (what the indexes return) take the numeric sort of {@link float32DescendingOrder}; runs
 * of equal scores are then put in id order. Other scores take the comparator sort.
 */
function scoreOrder(best: Float64Array, ids: readonly ItemId[], count: number, orderSpace: Int32Array, compositeSpace: Float64Array): Int32Array {
  const order = float32DescendingOrder(best, count, orderSpace, compositeSpace);
  if (order === undefined) {
    const all = orderSpace.subarray(0, count);
    for (let s = 0; s < count; s++) all[s] = s;
    return all.sort((x, y) => best[y]! - best[x]! || compareIds(ids[x]!, ids[y]!));
  }
  // Equal scores: by id.
  for (let p = 0; p < count; ) {
    let q = p + 1;
    while (q < count && best[order[q]!] === best[order[p]!]) q++;
    if (q - p > 1) {
      const run = Array.from(order.subarray(p, q)).sort((x, y) => compareIds(ids[x]!, ids[y]!));
      order.set(run, p);
    }
    p = q;
  }
  return order;
}
