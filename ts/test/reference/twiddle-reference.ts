/**
 * Naive versions of the twiddlers, written for clarity (nested loops, arrays, sorting), plus list
 * generators and a brute-force gap-feasibility check, for the twiddler property tests.
 */
import type { RankedCandidate, RecentAction } from '../../src/twiddle/twiddler.js';

/** A test candidate: the fields the twiddlers read. */
export interface TestCandidate extends RankedCandidate {
  readonly category?: string;
  readonly author?: string;
  readonly vector?: Float32Array;
}

export interface RandomListOptions {
  n: number;
  categories?: number;
  authors?: number;
  /** Share of items with no category / author. */
  missingRate?: number;
  /** Vector length (0: no vectors). */
  dim?: number;
  /** Scores are multiples of 1 / levels, so ties are common. */
  levels?: number;
  /** Keep the ranker order sorted by score (default true). */
  sorted?: boolean;
}

/** A seeded random ranked list; scores in (0, 1], sorted best first unless `sorted: false`. */
export function randomList(random: () => number, options: RandomListOptions): TestCandidate[] {
  const { n, categories = 4, authors = 6, missingRate = 0.1, dim = 0, levels = 20, sorted = true } = options;
  const list: TestCandidate[] = [];
  for (let i = 0; i < n; i++) {
    const score = (1 + Math.floor(random() * levels)) / levels;
    const item: { -readonly [K in keyof TestCandidate]: TestCandidate[K] } = { itemId: `item-${i}`, score };
    if (random() >= missingRate) item.category = `c${Math.floor(random() * categories)}`;
    if (random() >= missingRate) item.author = `a${Math.floor(random() * authors)}`;
    if (dim > 0 && random() > 0.1) {
      const v = new Float32Array(dim);
      for (let j = 0; j < dim; j++) v[j] = random() * 2 - 1;
      item.vector = v;
    }
    list.push(item);
  }
  if (sorted) list.sort((a, b) => b.score - a.score);
  return list;
}

/** The item ids of `list` ordered by key (higher first), ties by position in `list`. */
export function sortedByKeys(list: readonly RankedCandidate[], keys: readonly number[]): string[] {
  return list
    .map((item, i) => ({ id: item.itemId, key: keys[i]!, i }))
    .sort((a, b) => b.key - a.key || a.i - b.i)
    .map((x) => x.id);
}

export interface ReferenceDownrankRule {
  threshold: number;
  factor: number;
  windowMs?: number;
}

/** The downranked keys of `list` (by position) and which items a rule hit. */
export function referenceDownrank(
  list: readonly RankedCandidate[],
  actions: readonly RecentAction[],
  now: number,
  windowMs: number,
  rules: Record<string, ReferenceDownrankRule>,
): { keys: number[]; hit: Set<string> } {
  const hit = new Set<string>();
  const keys = list.map((item) => {
    let factor = 1;
    let matched = false;
    for (const [action, rule] of Object.entries(rules)) {
      const window = rule.windowMs ?? windowMs;
      const count = actions.filter(
        (a) => a.itemId === item.itemId && a.action === action && a.at <= now && now - a.at <= window,
      ).length;
      if (count >= rule.threshold) {
        factor *= rule.factor;
        matched = true;
      }
    }
    if (!matched) return item.score;
    hit.add(item.itemId);
    // The documented rule: the key keeps `factor` of its magnitude (so a negative key goes further down).
    return item.score - Math.abs(item.score) * (1 - factor);
  });
  return { keys, hit };
}

/** The value of `key` on `item`, or undefined. */
function valueOf(item: RankedCandidate, key: string): unknown {
  const value = (item as unknown as Record<string, unknown>)[key];
  return value === null ? undefined : value;
}

/** True when `a` and `b` share a defined value of one of `keys`. */
export function sharesKey(a: RankedCandidate, b: RankedCandidate, keys: readonly string[]): boolean {
  return keys.some((key) => valueOf(a, key) !== undefined && valueOf(a, key) === valueOf(b, key));
}

/** True when `item` can go right after `placed` without breaking a gap. */
export function fitsAfter(placed: readonly RankedCandidate[], item: RankedCandidate, keys: readonly string[], minGap: number): boolean {
  const p = placed.length;
  for (let q = Math.max(0, p - minGap + 1); q < p; q++) if (sharesKey(placed[q]!, item, keys)) return false;
  return true;
}

/**
 * The greedy interval order, naively: each position takes the first remaining item that fits, or
 * the first. With `lookahead`, a (key, value) whose remaining c ≥ 2 items need every minGap-th slot
 * from here (n − 1 − (c − 1)·minGap ≤ position) is urgent, and the first fitting item carrying every
 * urgent value goes first.
 */
export function referenceInterval<T extends RankedCandidate>(list: readonly T[], keys: readonly string[], minGap: number, lookahead = false): T[] {
  const n = list.length;
  const remaining = [...list];
  const placed: T[] = [];
  while (remaining.length > 0) {
    const p = placed.length;
    const urgent: Array<[string, unknown]> = [];
    if (lookahead && minGap > 1) {
      for (const key of keys) {
        const counts = new Map<unknown, number>();
        for (const item of remaining) {
          const v = valueOf(item, key);
          if (v !== undefined) counts.set(v, (counts.get(v) ?? 0) + 1);
        }
        for (const [v, c] of counts) if (c >= 2 && n - 1 - (c - 1) * minGap <= p) urgent.push([key, v]);
      }
    }
    let index = -1;
    if (urgent.length > 0) {
      index = remaining.findIndex((item) => fitsAfter(placed, item, keys, minGap) && urgent.every(([k, v]) => valueOf(item, k) === v));
    }
    if (index < 0) index = remaining.findIndex((item) => fitsAfter(placed, item, keys, minGap));
    if (index < 0) index = 0;
    placed.push(remaining.splice(index, 1)[0]!);
  }
  return placed;
}

/** How many pairs of items sharing a key stand closer than `minGap`. */
export function gapViolations(list: readonly RankedCandidate[], keys: readonly string[], minGap: number): number {
  let count = 0;
  for (let i = 0; i < list.length; i++) {
    for (let j = i + 1; j < list.length && j - i < minGap; j++) if (sharesKey(list[i]!, list[j]!, keys)) count++;
  }
  return count;
}

/** Whether some order of `list` keeps every gap (backtracking over all orders; small lists only). */
export function gapFeasible(list: readonly RankedCandidate[], keys: readonly string[], minGap: number): boolean {
  const used = new Array<boolean>(list.length).fill(false);
  const placed: RankedCandidate[] = [];
  const search = (): boolean => {
    if (placed.length === list.length) return true;
    for (let i = 0; i < list.length; i++) {
      if (used[i] || !fitsAfter(placed, list[i]!, keys, minGap)) continue;
      used[i] = true;
      placed.push(list[i]!);
      if (search()) return true;
      placed.pop();
      used[i] = false;
    }
    return false;
  };
  return search();
}

/** The false-positive keys of `list` (by position): cosine by the textbook formula. */
export function referenceFalsePositive(
  list: readonly RankedCandidate[],
  falsePositives: readonly Float32Array[],
  threshold: number,
  strength: number,
): { keys: number[]; hit: Set<string> } {
  const hit = new Set<string>();
  const cosine = (a: Float32Array, b: Float32Array) => {
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let j = 0; j < a.length; j++) {
      dot += a[j]! * b[j]!;
      na += a[j]! * a[j]!;
      nb += b[j]! * b[j]!;
    }
    return na === 0 || nb === 0 ? Number.NEGATIVE_INFINITY : dot / Math.sqrt(na * nb);
  };
  const keys = list.map((item) => {
    if (item.vector === undefined) return item.score;
    const similarity = Math.max(...falsePositives.map((f) => cosine(item.vector!, f)));
    if (!(similarity >= threshold)) return item.score;
    hit.add(item.itemId);
    return item.score - Math.abs(item.score) * Math.min(1, strength * similarity);
  });
  return { keys, hit };
}
