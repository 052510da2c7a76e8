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
    // are similar to nothing).
    const units = new Float64Array(given.length * dim);
    const unitSource: number[] = [];
    for (let f = 0; f < given.length; f++) {
      const length = checkedNorm(given[f], dim, 'context.falsePositiveVectors', f, '');
      if (length === 0) continue;
      const v = given[f]!;
      const row = unitSource.length * dim;
      for (let j = 0; j < dim; j++) units[row + j] = v[j]! / length;
      unitSource.push(f);
    }
    const unitCount = unitSource.length;

    const keys = view.keys.slice();
    const reasons = new Map<number, string>();
    const { candidates } = view;
    // Each candidate's vector is copied into one Float64Array first: the inner loop then reads a
    // single array type, which V8 runs about twice as fast as Float32Array × Float64Array.
    const scratch = new Float64Array(dim);
    for (let i = 0; i < candidates.length; i++) {
      const raw = candidates[i]!.vector;
      if (raw === undefined) continue;
      const length = checkedNorm(raw, dim, 'candidates', i, '.vector');
      if (length === 0) continue;
      for (let j = 0; j < dim; j++) scratch[j] = raw[j]!;
      const v = scratch;
      let best = Number.NEGATIVE_INFINITY;
      let bestIndex = -1;
      for (let f = 0, row = 0; f < unitCount; f++, row += dim) {
        let dot = 0;
        for (let j = 0; j < dim; j++) dot += v[j]! * units[row + j]!;
        if (dot > best) {
          best = dot;
          bestIndex = f;
        }
      }
      const similarity = best / length;
      if (!(similarity >= this.#threshold)) continue;
      const loss = Math.min(1, this.#strength * similarity);
      keys[i] = demoteKey(keys[i]!, loss);
      const why = `cosine ${similarity.toFixed(3)} (≥ ${this.#threshold}) to false-positive #${unitSource[bestIndex]}`;
      reasons.set(i, `false-positive: ${why} → key −${(loss * 100).toFixed(1)}%`);
    }
    return { kind: 'keys', keys, reasons };
  }
}
