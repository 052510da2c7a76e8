/**
 * The false-positive twiddler: a click the user left quickly is a negative signal, so candidates
 * close to those items go down.
 *
 * Semantics: `similarity` = the highest cosine between the candidate's `vector` and any of
 * `context.falsePositiveVectors`. When `similarity ≥ threshold`, the rank key loses
 * `strength × similarity` of its magnitude: `key − |key| × strength × similarity` (a penalty
 * proportional to the similarity). Candidates without a vector, and zero vectors, are left alone.
 * With no false-positive vectors the twiddler skips itself.
 */
import { invalidArgument } from '../core/validate.js';
import type { ResolvedTwiddleContext, TwiddleStep, TwiddleView, Twiddler } from './twiddler.js';
import { demoteKey, numberInRange, paramsObject } from './twiddler-params.js';

/**
 * Parameters of the `false-positive` twiddler.
 *
 * @example
 * { name: 'false-positive', params: { threshold: 0.8, strength: 0.5 } }
 */
export interface FalsePositiveParams {
  /** The cosine similarity, in [0, 1], from which a candidate is pushed down. */
  readonly threshold: number;
  /** How hard, in [0, 1]: at similarity 1 the key loses `strength` of its magnitude. */
  readonly strength: number;
}

/**
 * Makes a false-positive twiddler.
 * @throws InvalidArgumentError naming the bad parameter
 */
export function createFalsePositive(params: unknown, argument: string): Twiddler {
  const p = paramsObject(params, argument);
  const threshold = numberInRange(p.threshold, `${argument}.threshold`, 0, 1);
  const strength = numberInRange(p.strength, `${argument}.strength`, 0, 1);
  return new FalsePositiveTwiddler(threshold, strength);
}

/**
 * The length of `vector`, checked to be a Float32Array of `dim` finite floats; otherwise an
 * InvalidArgumentError naming `${what}[${index}]${suffix}` (built only on failure: this runs per candidate).
 * A NaN or infinity makes the sum of squares non-finite (float32 squares cannot overflow a double),
 * so one pass does both.
 */
function checkedNorm(vector: unknown, dim: number, what: string, index: number, suffix: string): number {
  if (!(vector instanceof Float32Array) || vector.length !== dim || dim === 0) {
    throw invalidArgument(`${what}[${index}]${suffix}`, `a Float32Array of length ${dim || '> 0'}`, vector);
  }
  let sum = 0;
  for (let j = 0; j < dim; j++) sum += vector[j]! * vector[j]!;
  if (!Number.isFinite(sum)) {
    const j = vector.findIndex((x) => !Number.isFinite(x));
    throw invalidArgument(`${what}[${index}]${suffix}`, `finite values (element ${j} is ${vector[j]})`, vector);
  }
  return Math.sqrt(sum);
}

/** Dims per block of the pruned dot product (see {@link boundedDot}). */
const BLOCK = 16;

/**
 * Block lengths of `v` (Euclidean length of each run of {@link BLOCK} dims; the last may be shorter)
 * into `out` at `at`.
 */
function blockLengths(v: Float64Array, dim: number, out: Float64Array, at: number): void {
  for (let b = 0, start = 0; start < dim; b++, start += BLOCK) {
    const end = Math.min(dim, start + BLOCK);
    let sum = 0;
    for (let j = start; j < end; j++) sum += v[j]! * v[j]!;
    out[at + b] = Math.sqrt(sum);
  }
}

/**
 * A candidate's vector, checked like {@link checkedNorm}, copied into `scratch` (float64) with its
 * block lengths in `blocks`, in one pass; returns its length.
 */
function loadCandidate(vector: unknown, dim: number, index: number, scratch: Float64Array, blocks: Float64Array): number {
  if (!(vector instanceof Float32Array) || vector.length !== dim || dim === 0) return checkedNorm(vector, dim, 'candidates', index, '.vector');
  let sum = 0;
  for (let b = 0, start = 0; start < dim; b++, start += BLOCK) {
    const end = Math.min(dim, start + BLOCK);
    let block = 0;
    for (let j = start; j < end; j++) {
      const x = vector[j]!;
      scratch[j] = x;
      block += x * x;
    }
    blocks[b] = Math.sqrt(block);
    sum += block;
  }
  // Not finite: checkedNorm throws, naming the element.
  return Number.isFinite(sum) ? Math.sqrt(sum) : checkedNorm(vector, dim, 'candidates', index, '.vector');
}

/**
 * `v · units[row .. row + dim)`, or −Infinity once it is certain to be below `cutoff`. Block by
 * block: the dims not summed yet add at most Σ |v_block|·|u_block| (Cauchy–Schwarz per block), so
 * when the partial sum plus that bound (plus `slack`, far above float rounding) stays below the
 * cutoff the rest is skipped. Only a similarity at or above the threshold (and above the best so
 * far) matters, and most candidates are far from most false positives: on the synthetic world
 * about 1.1 of 4 blocks are summed per pair.
 */
function boundedDot(
  v: Float64Array,
  vBlocks: Float64Array,
  units: Float64Array,
  uBlocks: Float64Array,
  f: number,
  dim: number,
  blocks: number,
  cutoff: number,
  slack: number,
): number {
  const row = f * dim;
  const bRow = f * blocks;
  let rest = 0;
  for (let b = 0; b < blocks; b++) rest += vBlocks[b]! * uBlocks[bRow + b]!;
  let dot = 0;
  for (let b = 0, start = 0; b < blocks; b++, start += BLOCK) {
    if (dot + rest + slack < cutoff) return Number.NEGATIVE_INFINITY;
    const end = Math.min(dim, start + BLOCK);
    // Two partial sums: the loop is bound by the chain of dependent additions.
    let s0 = 0;
    let s1 = 0;
    let j = start;
    for (; j + 1 < end; j += 2) {
      s0 += v[j]! * units[row + j]!;
      s1 += v[j + 1]! * units[row + j + 1]!;
    }
    if (j < end) s0 += v[j]! * units[row + j]!;
    dot += s0 + s1;
    rest -= vBlocks[b]! * uBlocks[bRow + b]!;
    if (rest < 0) rest = 0;
  }
  return dot;
}

class FalsePositiveTwiddler implements Twiddler {
  readonly #threshold: number;
  readonly #strength: number;

  constructor(threshold: number, strength: number) {
    this.#threshold = threshold;
    this.#strength = strength;
  }

  apply(view: TwiddleView, context: ResolvedTwiddleContext): TwiddleStep {
    const given = context.falsePositiveVectors;
    if (given === undefined || given.length === 0) return { kind: 'skip', reason: 'no false-positive items' };
    const first = given[0];
    const dim = first instanceof Float32Array ? first.length : 0;
    // Unit-length copies of the false-positive vectors, row after row (zero vectors dropped: they
    // are similar to nothing), and their block lengths.
    const blocks = Math.ceil(dim / BLOCK);
    const units = new Float64Array(given.length * dim);
    const unitBlocks = new Float64Array(given.length * blocks);
    const unitSource: number[] = [];
    for (let f = 0; f < given.length; f++) {
      const length = checkedNorm(given[f], dim, 'context.falsePositiveVectors', f, '');
      if (length === 0) continue;
      const v = given[f]!;
      const row = unitSource.length * dim;
      for (let j = 0; j < dim; j++) units[row + j] = v[j]! / length;
      blockLengths(units.subarray(row, row + dim), dim, unitBlocks, unitSource.length * blocks);
      unitSource.push(f);
    }
    const unitCount = unitSource.length;

    const keys = view.keys.slice();
    const reasons = new Map<number, string>();
    const { candidates } = view;
    // Each candidate's vector is copied into one Float64Array first (with its norm and block
    // lengths, one pass): the inner loop then reads a single array type, which V8 runs about twice
    // as fast as Float32Array × Float64Array.
    const scratch = new Float64Array(dim);
    const scratchBlocks = new Float64Array(blocks);
    const threshold = this.#threshold;
    const known = this.#known(context, given);
    const explain = context.recordMoves !== false;
    for (let i = 0; i < candidates.length; i++) {
      const raw = candidates[i]!.vector;
      if (raw === undefined) continue;
      let match = known?.get(raw);
      if (match === undefined) {
        const length = loadCandidate(raw, dim, i, scratch, scratchBlocks);
        // Below threshold × length nothing happens, so only dots above it (and above the best) count.
        const floor = threshold * length;
        const slack = 1e-9 * length;
        let best = Number.NEGATIVE_INFINITY;
        let bestIndex = -1;
        for (let f = 0; length > 0 && f < unitCount; f++) {
          const dot = boundedDot(scratch, scratchBlocks, units, unitBlocks, f, dim, blocks, best > floor ? best : floor, slack);
          if (dot > best) {
            best = dot;
            bestIndex = f;
          }
        }
        match = { similarity: length > 0 ? best / length : Number.NEGATIVE_INFINITY, unit: bestIndex };
        known?.set(raw, match);
      }
      const { similarity, unit: bestIndex } = match;
      if (!(similarity >= threshold)) continue;
      const loss = Math.min(1, this.#strength * similarity);
      keys[i] = demoteKey(keys[i]!, loss);
      // Reasons are text for explain (two number formats per item): not built when no moves are recorded.
      if (!explain) continue;
      const why = `cosine ${similarity.toFixed(3)} (≥ ${threshold}) to false-positive #${unitSource[bestIndex]}`;
      reasons.set(i, `false-positive: ${why} → key −${(loss * 100).toFixed(1)}%`);
    }
    return { kind: 'keys', keys, reasons };
  }

  /**
   * This request's similarities from earlier runs (`context.memo`), by candidate vector, or
   * undefined without a memo. They hold for the same false-positive vectors (the same array).
   */
  #known(context: ResolvedTwiddleContext, given: readonly Float32Array[]): Map<Float32Array, Match> | undefined {
    const memo = context.memo;
    if (memo === undefined) return undefined;
    let entry = memo.get(this) as { vectors: readonly Float32Array[]; matches: Map<Float32Array, Match> } | undefined;
    if (entry === undefined || entry.vectors !== given) {
      entry = { vectors: given, matches: new Map() };
      memo.set(this, entry);
    }
    return entry.matches;
  }
}

/** A candidate's highest cosine to a false positive (−Infinity when none can reach the threshold) and which unit row. */
interface Match {
  readonly similarity: number;
  readonly unit: number;
}
