/**
 * matchEmbeddings: reciprocal matching of a pool from its two-tower embeddings — pair scores by one
 * GEMM, the transform, hard filters and max-weight matching, fused natively off the main thread.
 */
import { InvalidArgumentError } from '../core/errors.js';
import {
  float32Array,
  integerInRange,
  invalidArgument,
  matrixLength,
  optionalSignal,
  optionsObject,
  outputBuffer,
} from '../core/validate.js';
import { type BackendChoice, resolveBackend } from '../native/backends.js';
import { native } from '../native/binding.js';
import { runAbortable } from './abortable.js';
import { MAX_POOL, matchTuning, toMatchResult, type MatchResult, type MatchTuning } from './match-result.js';
import { allocateScores } from './pair-scores.js';

/** How a score s = user_i · peer_j becomes a predicted outcome ŷ(i→j). */
export type PairTransform =
  /** ŷ = exp(w·s + b): for long-tailed targets such as chat duration (the default, w = 1, b = 0). */
  | { kind: 'exp'; w: number; b: number }
  /** ŷ = s. */
  | { kind: 'identity' };

/** A two-sided preference: i and j can meet only if each accepts the other's attribute. */
export interface MutualFilter {
  /** Each user's attribute, 0–31 (e.g. gender). */
  attr: Uint8Array;
  /** Each user's accepted attributes as a bitset: bit a set ⇔ accepts attr a (e.g. "wants"). */
  accepts: Uint32Array;
}

/** Hard filters, combined with AND. Forbidden pairs never meet. */
export interface MatchFilters {
  /** i and j meet only if bit attr[j] of accepts[i] and bit attr[i] of accepts[j] are set. */
  mutual?: MutualFilter[];
  /** Bitsets that must share a bit (e.g. spoken languages). */
  overlap?: Uint32Array[];
  /** Flat pairs [i0, j0, i1, j1, …] that must never meet (reports, blocks); ids in [0, n). */
  blocked?: Int32Array;
}

/**
 * One prediction head of a multi-objective model: ŷ_t(i→j) = weight · transform(user_i · peer_j),
 * with the head's own (e.g. projected) vectors. Heads are summed: ŷ(i→j) = Σ_t ŷ_t(i→j).
 */
export interface MatchHead {
  /** n×dim (n×inputDim with projections), row-major: user i's chooser vector for this head. */
  user: Float32Array;
  /** n×dim (n×inputDim with projections), row-major: user j's partner vector for this head. */
  peer: Float32Array;
  /** This head's vector length (after the projections, when there are some). */
  dim: number;
  /**
   * Optional task projections, both or neither: dim×inputDim, row-major (row t holds output t's
   * weights), so that the head scores (user_i · userProjectionᵀ) · (peer_j · peerProjectionᵀ), as a
   * feature tower's projected heads do (models/CONTRACT.md §4). The projections run inside the
   * call, on its worker thread; `predicted` uses the projected vectors.
   */
  userProjection?: Float32Array;
  /** The partner side's projection, like `userProjection`. */
  peerProjection?: Float32Array;
  /** Length of `user`'s and `peer`'s rows when the head has projections. */
  inputDim?: number;
  /** Default `{ kind: 'exp', w: 1, b: 0 }`. */
  transform?: PairTransform;
  /** The head's weight in the sum, finite and > 0; default 1. */
  weight?: number;
}

/**
 * Options of {@link matchEmbeddings}: either one head (`user`, `peer`, `dim`, `transform`) or
 * several (`heads`), not both.
 */
export interface MatchEmbeddingsOptions extends MatchTuning {
  /** n×dim, row-major: user i's user-tower vector (what i is like as a chooser). */
  user?: Float32Array;
  /** n×dim, row-major: user j's peer-tower vector (what j is like as a partner). */
  peer?: Float32Array;
  /** Users in the pool, 0 ≤ n ≤ 46,340. */
  n: number;
  /** Embedding length (with `user` and `peer`). */
  dim?: number;
  /** Score transform; default `{ kind: 'exp', w: 1, b: 0 }`. Pair weight w(i,j) = ŷ(i→j) + ŷ(j→i). */
  transform?: PairTransform;
  /**
   * Several prediction heads instead of `user`/`peer`/`dim`/`transform`: the pair weight is
   * w(i,j) = Σ_t ŷ_t(i→j) + ŷ_t(j→i). Each head costs one more GEMM; the heads are transformed
   * and summed chunk by chunk while their scores are in cache, so memory stays one n×n buffer.
   */
  heads?: MatchHead[];
  filters?: MatchFilters;
  /** Backend for the scores GEMM; default: the one set with `useBackend()`. */
  backend?: BackendChoice;
  /**
   * An n×n Float32Array to compute scores and weights in, reused across calls (first-touching a
   * fresh 400 MB buffer at n = 10,000 costs more than the GEMM). Overwritten; afterwards it holds
   * the pair weights (−Infinity for forbidden pairs), in pool order, or in `result.bufferOrder`
   * when the call reordered the users by their mutual filters (pass users already grouped by
   * them, as MatchPool does, to keep pool order and skip the reordering copy).
   */
  buffer?: Float32Array;
  /** Cancels the call; it then rejects with an `AbortError`. */
  signal?: AbortSignal;
}

// The addon names its arguments plainly; the public API nests them under options.
const ADDON_ARGUMENT_NAMES = { user: 'options.user', peer: 'options.peer', transform: 'options.transform' } as const;

// With heads, the addon names heads[t].user etc. (or user/peer/transform on the one-head fast path).
function headArgumentNames(count: number): Record<string, string> {
  const names: Record<string, string> = {
    user: 'options.heads[0].user',
    peer: 'options.heads[0].peer',
    transform: count === 1 ? 'options.heads[0].transform' : 'options.heads',
  };
  for (let t = 0; t < count; t++) {
    for (const key of ['user', 'peer', 'transform', 'userProjection', 'peerProjection', 'inputDim']) {
      names[`heads[${t}].${key}`] = `options.heads[${t}].${key}`;
    }
  }
  return names;
}

/**
 * Matches a pool 1:1 to maximize the total predicted satisfaction of both sides.
 *
 * s(i,j) = user_i · peer_j (one GEMM); ŷ = transform(s); w(i,j) = ŷ(i→j) + ŷ(j→i) on pairs the
 * filters allow; then a max-weight matching of the general graph (see {@link matchWeights}).
 *
 * @returns pairs, unmatched users, total weight, a certified upper bound, per-stage timings
 * @throws {InvalidArgumentError} (as a rejection) for wrong types or lengths, NaN/Infinity in the
 *   embeddings, an attr ≥ 32, a blocked id out of range, a non-finite transform, or a transform that
 *   overflows float on some pair
 * @throws {BackendUnavailableError} when `backend` names a backend that cannot run here
 * @throws {AbortError} when `signal` aborts
 * @example
 * const result = await matchEmbeddings({
 *   user, peer, n, dim: 64,
 *   transform: { kind: 'exp', w: 0.8, b: 0.1 },
 *   filters: { mutual: [{ attr: gender, accepts: wants }], overlap: [languages], blocked },
 * });
 * for (let p = 0; p < result.pairs.length; p += 2) console.log(result.pairs[p], '↔', result.pairs[p + 1]);
 */
export async function matchEmbeddings(options: MatchEmbeddingsOptions): Promise<MatchResult> {
  const callSite = new Error();
  if (options === undefined) throw invalidArgument('options', 'an options object with user, peer, n and dim', options);
  const opts = optionsObject<MatchEmbeddingsOptions>(options, 'options');
  const n = integerInRange(opts.n, 'options.n', 0, MAX_POOL);
  const heads = opts.heads === undefined ? undefined : checkHeads(opts, n);
  // One head of weight 1 without projections is the single-head call: its transform is fused into
  // the pair-weights pass.
  const single =
    heads === undefined
      ? checkSingleHead(opts, n)
      : heads.length === 1 && heads[0]!.weight === 1 && heads[0]!.userProjection === undefined
        ? heads[0]!
        : undefined;
  const filters = checkFilters(opts.filters ?? {}, n);
  const tuning = matchTuning(opts, 'options');
  const signal = optionalSignal(opts.signal, 'options.signal');
  const inputs = Object.fromEntries(
    (heads ?? [single!]).flatMap((h, t) => [
      [`user${t}`, h.user],
      [`peer${t}`, h.peer],
      ...(h.userProjection === undefined ? [] : [[`userProjection${t}`, h.userProjection], [`peerProjection${t}`, h.peerProjection!]]),
    ]),
  );
  if (opts.buffer !== undefined) outputBuffer(opts.buffer, 'options.buffer', n, n, 'n x n', inputs);
  const backend = resolveBackend(opts.backend, 'options.backend');
  const buffer = opts.buffer ?? allocateScores(n, n);
  const result = await runAbortable(
    (cancel) =>
      single !== undefined
        ? native().matchEmbeddings(
            single.user,
            single.peer,
            buffer,
            n,
            single.dim,
            backend,
            single.transform,
            filters.mutual,
            filters.overlap,
            filters.blocked,
            tuning,
            cancel,
          )
        : native().matchHeads(heads!, buffer, n, backend, filters.mutual, filters.overlap, filters.blocked, tuning, cancel),
    callSite,
    signal,
    heads === undefined ? ADDON_ARGUMENT_NAMES : headArgumentNames(heads.length),
  );
  return toMatchResult(result);
}

type CheckedHead = Required<Pick<MatchHead, 'user' | 'peer' | 'dim' | 'transform' | 'weight'>> &
  Pick<MatchHead, 'userProjection' | 'peerProjection' | 'inputDim'>;

function checkSingleHead(opts: Partial<MatchEmbeddingsOptions>, n: number): CheckedHead {
  const dim = integerInRange(opts.dim, 'options.dim', 0, 2 ** 31 - 1);
  const user = float32Array(opts.user, 'options.user');
  const peer = float32Array(opts.peer, 'options.peer');
  matrixLength(user, 'options.user', n, dim, 'n x dim');
  matrixLength(peer, 'options.peer', n, dim, 'n x dim');
  const transform = checkTransform(opts.transform ?? { kind: 'exp', w: 1, b: 0 }, 'options.transform');
  return { user, peer, dim, transform, weight: 1 };
}

function checkHeads(opts: Partial<MatchEmbeddingsOptions>, n: number): CheckedHead[] {
  for (const key of ['user', 'peer', 'dim', 'transform'] as const) {
    if (opts[key] !== undefined) {
      throw invalidArgument(`options.${key}`, 'undefined when options.heads is given (each head has its own)', opts[key]);
    }
  }
  if (!Array.isArray(opts.heads) || opts.heads.length === 0 || opts.heads.length > 16) {
    throw invalidArgument('options.heads', 'an array of 1 to 16 heads', opts.heads);
  }
  return opts.heads.map((value, t) => {
    const name = `options.heads[${t}]`;
    const head = optionsObject<MatchHead>(value, name);
    const dim = integerInRange(head.dim, `${name}.dim`, 0, 2 ** 31 - 1);
    const transform = checkTransform(head.transform ?? { kind: 'exp', w: 1, b: 0 }, `${name}.transform`);
    const weight = head.weight ?? 1;
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0) {
      throw invalidArgument(`${name}.weight`, 'a finite number > 0', weight);
    }
    const user = float32Array(head.user, `${name}.user`);
    const peer = float32Array(head.peer, `${name}.peer`);
    if (head.userProjection === undefined && head.peerProjection === undefined && head.inputDim === undefined) {
      matrixLength(user, `${name}.user`, n, dim, 'n x dim');
      matrixLength(peer, `${name}.peer`, n, dim, 'n x dim');
      return { user, peer, dim, transform, weight };
    }
    // Projected: both projections, dim × inputDim, and the vectors n × inputDim.
    const inputDim = integerInRange(head.inputDim, `${name}.inputDim`, 1, 2 ** 31 - 1);
    const userProjection = float32Array(head.userProjection, `${name}.userProjection`);
    const peerProjection = float32Array(head.peerProjection, `${name}.peerProjection`);
    matrixLength(userProjection, `${name}.userProjection`, dim, inputDim, 'dim x inputDim');
    matrixLength(peerProjection, `${name}.peerProjection`, dim, inputDim, 'dim x inputDim');
    matrixLength(user, `${name}.user`, n, inputDim, 'n x inputDim');
    matrixLength(peer, `${name}.peer`, n, inputDim, 'n x inputDim');
    return { user, peer, dim, transform, weight, userProjection, peerProjection, inputDim };
  });
}

function checkTransform(value: unknown, name: string): PairTransform {
  const t = optionsObject<{ kind: string; w: unknown; b: unknown }>(value, name);
  if (t.kind === 'identity') return { kind: 'identity' };
  if (t.kind !== 'exp') throw invalidArgument(`${name}.kind`, "'exp' or 'identity'", t.kind);
  for (const key of ['w', 'b'] as const) {
    if (typeof t[key] !== 'number' || !Number.isFinite(t[key])) {
      throw invalidArgument(`${name}.${key}`, 'a finite number', t[key]);
    }
  }
  return { kind: 'exp', w: t.w as number, b: t.b as number };
}

function checkFilters(value: unknown, n: number) {
  const f = optionsObject<MatchFilters>(value, 'options.filters');
  const mutual = f.mutual ?? [];
  if (!Array.isArray(mutual)) throw invalidArgument('options.filters.mutual', 'an array', mutual);
  mutual.forEach((m, t) => {
    const name = `options.filters.mutual[${t}]`;
    optionsObject<MutualFilter>(m, name);
    if (!(m.attr instanceof Uint8Array)) throw invalidArgument(`${name}.attr`, 'a Uint8Array', m.attr);
    if (!(m.accepts instanceof Uint32Array)) throw invalidArgument(`${name}.accepts`, 'a Uint32Array', m.accepts);
    if (m.attr.length !== n) throw invalidArgument(`${name}.attr`, `a Uint8Array of length ${n} (n)`, m.attr);
    if (m.accepts.length !== n) throw invalidArgument(`${name}.accepts`, `a Uint32Array of length ${n} (n)`, m.accepts);
    const bad = m.attr.findIndex((a) => a >= 32);
    if (bad >= 0) throw new InvalidArgumentError(`${name}.attr`, 'values below 32', `${m.attr[bad]} at index ${bad}`);
  });
  const overlap = f.overlap ?? [];
  if (!Array.isArray(overlap)) throw invalidArgument('options.filters.overlap', 'an array', overlap);
  overlap.forEach((o, t) => {
    if (!(o instanceof Uint32Array) || o.length !== n) {
      throw invalidArgument(`options.filters.overlap[${t}]`, `a Uint32Array of length ${n} (n)`, o);
    }
  });
  const blocked = f.blocked;
  if (blocked !== undefined) {
    if (!(blocked instanceof Int32Array) || blocked.length % 2 !== 0) {
      throw invalidArgument('options.filters.blocked', 'an Int32Array of pairs (even length)', blocked);
    }
    const bad = blocked.findIndex((id) => id < 0 || id >= n);
    if (bad >= 0) {
      throw new InvalidArgumentError('options.filters.blocked', `ids in [0, ${n})`, `${blocked[bad]} at index ${bad}`);
    }
  }
  return { mutual, overlap, blocked };
}
