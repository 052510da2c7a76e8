/**
 * The twiddler controller: runs a feed's ordered chain of twiddlers over the ranker's list, applies
 * each one's answer, and records every item a twiddler acted on (position before and after, key
 * before and after, and why) for `explain`.
 */
import { invalidArgument } from '../core/validate.js';
import {
  defaultTwiddlerRegistry,
  type RankedCandidate,
  type ResolvedTwiddleContext,
  type TwiddleContext,
  type TwiddleStep,
  type Twiddler,
  type TwiddlerRegistry,
  type TwiddlerSpec,
} from './twiddler.js';

/** What one twiddler did to one item. Positions are 0-based, in the list before and after that twiddler. */
export interface TwiddleMove {
  readonly itemId: string;
  readonly from: number;
  readonly to: number;
  readonly keyBefore: number;
  readonly keyAfter: number;
  readonly reason: string;
}

/** One twiddler's part in a run. */
export interface TwiddleStepReport {
  /** The chain entry's label (its name unless given). */
  readonly label: string;
  /** The registered twiddler name. */
  readonly name: string;
  /** Why the twiddler did nothing (e.g. the action log is degraded); absent when it ran. */
  readonly skipped?: string;
  /**
   * The items it acted on, in their order before it ran. Items only shifted by others' moves are not
   * listed. Empty when the run's context had `recordMoves: false`.
   */
  readonly moves: readonly TwiddleMove[];
}

/** The twiddled list. */
export interface TwiddleResult<T extends RankedCandidate> {
  /** The candidates in their final order. */
  readonly candidates: T[];
  /** The final order as ranker positions (indices into the input). */
  readonly order: Int32Array;
  /** Each output candidate's final rank key, aligned with `candidates`. */
  readonly keys: Float64Array;
  /** One report per chain entry, in chain order. */
  readonly steps: readonly TwiddleStepReport[];
}

/** One item's moves across a run, from {@link explainItem}. */
export interface ItemExplanation extends TwiddleMove {
  readonly label: string;
  readonly name: string;
}

/** Options of {@link TwiddlerChain}. */
export interface TwiddlerChainOptions {
  /** Where twiddler names are looked up. Default: the process-wide registry ({@link registerTwiddler}). */
  readonly registry?: TwiddlerRegistry;
}

interface ChainEntry {
  readonly spec: TwiddlerSpec;
  readonly label: string;
  readonly twiddler: Twiddler;
}

/**
 * A feed's ordered chain of twiddlers, built once from configuration and run per request.
 *
 * @example
 * const chain = new TwiddlerChain([
 *   { name: 'downrank', params: { windowMs: 86_400_000, rules: { impression: { threshold: 3, factor: 0.5 } } } },
 *   { name: 'false-positive', params: { threshold: 0.8, strength: 0.5 } },
 *   { name: 'interval', params: { keys: ['category', 'author'], minGap: 3 } },
 * ]);
 * const { candidates, steps } = chain.run(ranked, { recentActions, falsePositiveVectors });
 *
 * Put reordering twiddlers (interval) last: a later key change moves items again and may break gaps.
 */
export class TwiddlerChain {
  readonly #registry: TwiddlerRegistry;
  readonly #entries: readonly ChainEntry[];

  /**
   * @param chain the twiddlers in the order they run; may be empty
   * @throws UnknownTwiddlerError when a name is not registered (`argument` = `chain[i].name`)
   * @throws InvalidArgumentError for a bad spec, a duplicate label or bad parameters (named by path)
   */
  constructor(chain: readonly TwiddlerSpec[], options: TwiddlerChainOptions = {}) {
    if (typeof options !== 'object' || options === null) throw invalidArgument('options', 'an options object', options);
    this.#registry = options.registry ?? defaultTwiddlerRegistry;
    this.#entries = buildEntries(this.#registry, chain, 'chain', []);
  }

  /** The labels of the configured chain, in order. */
  get labels(): string[] {
    return this.#entries.map((entry) => entry.label);
  }

  /**
   * Twiddles `candidates` (in ranker order). Synchronous and O(n) per built-in twiddler, apart from
   * the interval twiddler's scan past held-back items.
   *
   * @param candidates the ranked list; unique `itemId`s, finite `score`s
   * @param context the request's clock, recent actions, false-positive vectors and overrides
   * @throws InvalidArgumentError for bad candidates, context, overrides or a twiddler's bad answer
   * @throws UnknownTwiddlerError when an override names an unregistered twiddler
   */
  run<T extends RankedCandidate>(candidates: readonly T[], context: TwiddleContext = {}): TwiddleResult<T> {
    checkCandidates(candidates);
    const resolved = resolveContext(context);
    const entries = this.#resolveEntries(resolved);
    const n = candidates.length;
    let order: Int32Array = new Int32Array(n);
    let keys: Float64Array = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      order[i] = i;
      keys[i] = candidates[i]!.score;
    }
    const steps: TwiddleStepReport[] = [];
    // Only the last twiddler may cut its work short at readPositions: a later one would move items
    // up from the part left unarranged.
    const notLast = resolved.readPositions === undefined ? resolved : { ...resolved, readPositions: undefined };
    for (let e = 0; e < entries.length; e++) {
      const entry = entries[e]!;
      const step = entry.twiddler.apply(
        { candidates, order: order.slice(), keys: keys.slice() },
        e === entries.length - 1 ? resolved : notLast,
      );
      const where = `twiddler '${entry.label}' result`;
      if (typeof step !== 'object' || step === null) throw invalidArgument(where, 'a TwiddleStep', step);
      if (step.kind === 'skip') {
        steps.push({ label: entry.label, name: entry.spec.name, skipped: String(step.reason), moves: [] });
        continue;
      }
      const reasons = checkReasons(step, n, where);
      let newKeys = keys;
      let newOrder: Int32Array;
      if (step.kind === 'keys') {
        newKeys = checkKeys(step.keys, n, `${where}.keys`);
        newOrder = order.slice();
        moveByKeys(newOrder, keys, newKeys);
      } else if (step.kind === 'order') {
        newOrder = checkOrder(step.order, n, `${where}.order`);
      } else {
        throw invalidArgument(`${where}.kind`, "'keys', 'order' or 'skip'", (step as { kind: unknown }).kind);
      }
      const moves: TwiddleMove[] = [];
      const before = resolved.recordMoves === false ? undefined : positionsOf(order);
      const after = before === undefined ? undefined : positionsOf(newOrder);
      for (let p = 0; before !== undefined && after !== undefined && p < n; p++) {
        const i = order[p]!;
        let reason = reasons.get(i);
        if (reason === undefined && newKeys[i] !== keys[i]) reason = 'key changed';
        if (reason === undefined) continue;
        moves.push({
          itemId: candidates[i]!.itemId,
          from: before[i]!,
          to: after[i]!,
          keyBefore: keys[i]!,
          keyAfter: newKeys[i]!,
          reason,
        });
      }
      steps.push({ label: entry.label, name: entry.spec.name, moves });
      order = newOrder;
      keys = newKeys;
    }
    const finalKeys = new Float64Array(n);
    const finalCandidates = new Array<T>(n);
    for (let p = 0; p < n; p++) {
      finalCandidates[p] = candidates[order[p]!]!;
      finalKeys[p] = keys[order[p]!]!;
    }
    return { candidates: finalCandidates, order, keys: finalKeys, steps };
  }

  /** The configured chain, or the one the request's overrides make. */
  #resolveEntries(context: ResolvedTwiddleContext): readonly ChainEntry[] {
    const overrides = context.overrides;
    if (overrides === undefined) return this.#entries;
    let entries = this.#entries;
    if (overrides.chain !== undefined) entries = buildEntries(this.#registry, overrides.chain, 'context.overrides.chain', []);
    if (overrides.append !== undefined) {
      entries = [...entries, ...buildEntries(this.#registry, overrides.append, 'context.overrides.append', entries)];
    }
    if (overrides.params !== undefined) {
      const params = overrides.params;
      if (typeof params !== 'object' || params === null || Array.isArray(params)) {
        throw invalidArgument('context.overrides.params', 'an object of params by chain label', params);
      }
      const labels = entries.map((entry) => entry.label);
      for (const label of Object.keys(params)) {
        if (!labels.includes(label)) {
          throw invalidArgument(`context.overrides.params.${label}`, `the label of a chain entry (${labels.join(', ') || 'none'})`, label);
        }
      }
      entries = entries.map((entry) => {
        const patch = params[entry.label];
        if (patch === undefined) return entry;
        const argument = `context.overrides.params.${entry.label}`;
        if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) throw invalidArgument(argument, 'a parameters object', patch);
        const base = typeof entry.spec.params === 'object' && entry.spec.params !== null ? entry.spec.params : {};
        const spec: TwiddlerSpec = { ...entry.spec, params: { ...base, ...patch } };
        // Errors name the merged params by the override's path.
        return { spec, label: entry.label, twiddler: this.#registry.create(spec, argument, argument) };
      });
    }
    return entries;
  }
}

/**
 * The moves of one item across a run's steps, in chain order.
 * @example explainItem(result, 'item-42') // [{ label: 'downrank', from: 0, to: 7, reason: 'downrank: impression ×4 …' }]
 */
export function explainItem(result: TwiddleResult<RankedCandidate>, itemId: string): ItemExplanation[] {
  const out: ItemExplanation[] = [];
  for (const step of result.steps) {
    for (const move of step.moves) if (move.itemId === itemId) out.push({ ...move, label: step.label, name: step.name });
  }
  return out;
}

/**
 * Applies new keys: items whose key fell sink (bottom-up) past following items that now rank above
 * them; then items whose key rose climb (top-down) past preceding items they now rank above.
 * "Ranks above" = higher key, ties broken by ranker position. Untouched items keep their relative
 * order; a list sorted by key stays sorted (a stable re-sort).
 */
function moveByKeys(order: Int32Array, oldKeys: Float64Array, keys: Float64Array): void {
  const n = order.length;
  const above = (a: number, b: number) => keys[a]! > keys[b]! || (keys[a] === keys[b] && a < b);
  // Many changes on a key-sorted list: one O(n log n) sort gives the same order as moving each item
  // (each move is O(distance), so many long moves would cost O(n²)).
  let changed = 0;
  for (let i = 0; i < n; i++) if (keys[i] !== oldKeys[i]) changed++;
  if (changed > SORT_AFTER_CHANGES && isSortedByKey(order, oldKeys)) {
    order.sort((a, b) => (keys[a] === keys[b] ? a - b : keys[b]! - keys[a]! > 0 ? 1 : -1));
    return;
  }
  for (let p = n - 1; p >= 0; p--) {
    const item = order[p]!;
    if (!(keys[item]! < oldKeys[item]!)) continue;
    let q = p;
    while (q + 1 < n && above(order[q + 1]!, item)) {
      order[q] = order[q + 1]!;
      q++;
    }
    order[q] = item;
  }
  for (let p = 0; p < n; p++) {
    const item = order[p]!;
    if (!(keys[item]! > oldKeys[item]!)) continue;
    let q = p;
    while (q > 0 && above(item, order[q - 1]!)) {
      order[q] = order[q - 1]!;
      q--;
    }
    order[q] = item;
  }
}

/** Above this many changed keys, a key-sorted list is re-sorted instead of moving items one by one. */
const SORT_AFTER_CHANGES = 64;

/** True when `order` is sorted by key (higher first), ties by ranker position. */
function isSortedByKey(order: Int32Array, keys: Float64Array): boolean {
  for (let p = 1; p < order.length; p++) {
    const a = order[p - 1]!;
    const b = order[p]!;
    if (keys[a]! < keys[b]! || (keys[a] === keys[b] && a > b)) return false;
  }
  return true;
}

/** positions[i] = where ranker position i stands in `order`. */
function positionsOf(order: Int32Array): Int32Array {
  const positions = new Int32Array(order.length);
  for (let p = 0; p < order.length; p++) positions[order[p]!] = p;
  return positions;
}

function buildEntries(
  registry: TwiddlerRegistry,
  chain: readonly TwiddlerSpec[],
  argument: string,
  existing: readonly ChainEntry[],
): ChainEntry[] {
  if (!Array.isArray(chain)) throw invalidArgument(argument, 'an array of { name, params?, label? }', chain);
  const labels = new Set(existing.map((entry) => entry.label));
  return chain.map((spec: unknown, i) => {
    const where = `${argument}[${i}]`;
    if (typeof spec !== 'object' || spec === null) throw invalidArgument(where, 'a twiddler spec { name, params?, label? }', spec);
    const s = spec as TwiddlerSpec;
    if (typeof s.name !== 'string' || s.name.length === 0) throw invalidArgument(`${where}.name`, 'a twiddler name', s.name);
    if (s.label !== undefined && (typeof s.label !== 'string' || s.label.length === 0)) {
      throw invalidArgument(`${where}.label`, 'a non-empty string', s.label);
    }
    const label = s.label ?? s.name;
    if (labels.has(label)) throw invalidArgument(`${where}.label`, 'a label unique in the chain (give the second one a label)', label);
    labels.add(label);
    return { spec: s, label, twiddler: registry.create(s, where) };
  });
}

function checkCandidates(candidates: readonly RankedCandidate[]): void {
  if (!Array.isArray(candidates)) throw invalidArgument('candidates', 'an array of { itemId, score }', candidates);
  const seen = new Set<string>();
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i] as RankedCandidate | null | undefined;
    if (typeof c !== 'object' || c === null) throw invalidArgument(`candidates[${i}]`, 'an object { itemId, score }', c);
    if (typeof c.itemId !== 'string') throw invalidArgument(`candidates[${i}].itemId`, 'a string', c.itemId);
    if (seen.has(c.itemId)) throw invalidArgument(`candidates[${i}].itemId`, 'an itemId not listed before', c.itemId);
    seen.add(c.itemId);
    if (typeof c.score !== 'number' || !Number.isFinite(c.score)) throw invalidArgument(`candidates[${i}].score`, 'a finite number', c.score);
  }
}

function resolveContext(context: TwiddleContext): ResolvedTwiddleContext {
  if (typeof context !== 'object' || context === null) throw invalidArgument('context', 'a context object', context);
  const now = context.now ?? Date.now();
  if (typeof now !== 'number' || !Number.isFinite(now)) throw invalidArgument('context.now', 'a finite number of ms since the epoch', now);
  const actions = context.recentActions;
  if (actions !== undefined) {
    if (!Array.isArray(actions)) throw invalidArgument('context.recentActions', 'an array of { itemId, action, at } or undefined', actions);
    for (let a = 0; a < actions.length; a++) {
      const action = actions[a] as RecentActionShape | null;
      const where = `context.recentActions[${a}]`;
      if (typeof action !== 'object' || action === null) throw invalidArgument(where, 'an object { itemId, action, at }', action);
      if (typeof action.itemId !== 'string') throw invalidArgument(`${where}.itemId`, 'a string', action.itemId);
      if (typeof action.action !== 'string') throw invalidArgument(`${where}.action`, 'a string', action.action);
      if (typeof action.at !== 'number' || !Number.isFinite(action.at)) throw invalidArgument(`${where}.at`, 'a finite number', action.at);
    }
  }
  const vectors = context.falsePositiveVectors;
  if (vectors !== undefined && !Array.isArray(vectors)) {
    throw invalidArgument('context.falsePositiveVectors', 'an array of Float32Array or undefined', vectors);
  }
  const overrides = context.overrides;
  if (overrides !== undefined && (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides))) {
    throw invalidArgument('context.overrides', 'an object { chain?, append?, params? }', overrides);
  }
  if (context.recordMoves !== undefined && typeof context.recordMoves !== 'boolean') {
    throw invalidArgument('context.recordMoves', 'a boolean or undefined', context.recordMoves);
  }
  if (context.memo !== undefined && !(context.memo instanceof WeakMap)) throw invalidArgument('context.memo', 'a WeakMap or undefined', context.memo);
  const read = context.readPositions;
  if (read !== undefined && !(Number.isInteger(read) && read >= 0)) {
    throw invalidArgument('context.readPositions', 'an integer >= 0 or undefined', read);
  }
  return { ...context, now };
}

interface RecentActionShape {
  itemId?: unknown;
  action?: unknown;
  at?: unknown;
}

function checkReasons(step: TwiddleStep & { reasons: ReadonlyMap<number, string> }, n: number, where: string): ReadonlyMap<number, string> {
  const reasons = step.reasons ?? new Map<number, string>();
  if (!(reasons instanceof Map)) throw invalidArgument(`${where}.reasons`, 'a Map from ranker position to reason', reasons);
  for (const i of reasons.keys()) {
    if (!Number.isInteger(i) || i < 0 || i >= n) throw invalidArgument(`${where}.reasons`, `ranker positions in [0, ${n})`, i);
  }
  return reasons;
}

function checkKeys(keys: unknown, n: number, where: string): Float64Array {
  if (!(keys instanceof Float64Array) || keys.length !== n) throw invalidArgument(where, `a Float64Array of length ${n}`, keys);
  for (let i = 0; i < n; i++) if (Number.isNaN(keys[i]!)) throw invalidArgument(where, `keys that are not NaN (index ${i})`, keys);
  return keys;
}

function checkOrder(order: unknown, n: number, where: string): Int32Array {
  if (!(order instanceof Int32Array) || order.length !== n) throw invalidArgument(where, `an Int32Array of length ${n}`, order);
  const seen = new Uint8Array(n);
  for (let p = 0; p < n; p++) {
    const i = order[p]!;
    if (i < 0 || i >= n || seen[i]) throw invalidArgument(where, `a permutation of the ranker positions 0..${n - 1}`, order);
    seen[i] = 1;
  }
  return order;
}
