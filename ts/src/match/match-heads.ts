/**
 * The match heads of a feature tower (metadata `kindred.heads`, models/CONTRACT.md §4): each task
 * predicts one outcome of a pair, ŷ_t(i→j) = weight_t · transform_t((P_u u_i) · (P_p p_j)), from
 * optionally projected user/peer vectors. This file parses and checks the metadata once, and
 * gives a batch's heads to matchEmbeddings, which projects the vectors natively.
 */
import { ModelError } from '../core/errors.js';
import { describe } from '../core/validate.js';
import type { MatchHead, PairTransform } from './match-embeddings.js';

/** One parsed head of `kindred.heads`. */
export interface MatchHeadSpec {
  /** The task's name (e.g. `'chat_duration'`, `'like'`). */
  readonly name: string;
  /** Its weight in the combined score, finite and > 0. */
  readonly weight: number;
  readonly transform: PairTransform;
  /** Length of the head's vectors: the model's width without a projection, else the projection's width. */
  readonly dim: number;
  /**
   * The user-side projection, stored transposed (`dim × modelDim`, row-major: a head's
   * `userProjection` for {@link matchEmbeddings}), so that the head's vectors are `user · P`
   * (n × dim). Undefined: no projection.
   */
  readonly userProjection: Float32Array | undefined;
  /** The peer-side projection, transposed like `userProjection`. */
  readonly peerProjection: Float32Array | undefined;
}

/** The head used when a model declares none: ŷ = exp(u·p) over the full vectors, weight 1. */
export function defaultHeads(modelDim: number): MatchHeadSpec[] {
  return [
    { name: 'score', weight: 1, transform: { kind: 'exp', w: 1, b: 0 }, dim: modelDim, userProjection: undefined, peerProjection: undefined },
  ];
}

/**
 * Parses `kindred.heads` (already JSON-decoded) against a model of width `modelDim`.
 *
 * Each entry: `{ name, weight, transform: { kind: 'exp', w, b } | { kind: 'identity' }, dim,
 * userProjection: null | number[modelDim × dim], peerProjection: null | number[modelDim × dim] }`,
 * projections row-major (`P[k][t]` at `k·dim + t`). `undefined` (no metadata) gives {@link defaultHeads}.
 *
 * @param model the model's name, for the error
 * @throws ModelError `ERR_KINDRED_MODEL_LOAD` naming the head and field at fault
 */
export function parseMatchHeads(raw: unknown, modelDim: number, model = 'feature-tower'): MatchHeadSpec[] {
  if (raw === undefined) return defaultHeads(modelDim);
  const fail = (where: string, expected: string, value: unknown) =>
    new ModelError('ERR_KINDRED_MODEL_LOAD', model, `kindred.heads${where}: expected ${expected} but found ${describe(value)}`);
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > 16) throw fail('', 'an array of 1 to 16 heads', raw);
  return raw.map((entry: unknown, t) => {
    const at = `[${t}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw fail(at, 'an object', entry);
    const head = entry as Record<string, unknown>;
    const name = head.name ?? `head${t}`;
    if (typeof name !== 'string' || name.length === 0) throw fail(`${at}.name`, 'a non-empty string', name);
    const weight = head.weight ?? 1;
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0) throw fail(`${at}.weight`, 'a finite number > 0', weight);
    const transform = parseTransform(head.transform, (expected, value) => fail(`${at}.transform`, expected, value));
    const userRaw = head.userProjection ?? null;
    const peerRaw = head.peerProjection ?? null;
    if ((userRaw === null) !== (peerRaw === null)) {
      throw fail(`${at}.peerProjection`, `${userRaw === null ? 'null' : 'a projection'}, like userProjection`, peerRaw);
    }
    const dim = head.dim ?? modelDim;
    if (!Number.isSafeInteger(dim) || (dim as number) < 1 || (dim as number) > 65536) throw fail(`${at}.dim`, 'an integer between 1 and 65536', dim);
    if (userRaw === null && dim !== modelDim) throw fail(`${at}.dim`, `${modelDim} (the model's width, as there is no projection)`, dim);
    const project = (value: unknown, side: string) =>
      value === null ? undefined : transposed(value, modelDim, dim as number, (expected, v) => fail(`${at}.${side}`, expected, v));
    return {
      name,
      weight,
      transform,
      dim: dim as number,
      userProjection: project(userRaw, 'userProjection'),
      peerProjection: project(peerRaw, 'peerProjection'),
    };
  });
}

function parseTransform(value: unknown, fail: (expected: string, value: unknown) => ModelError): PairTransform {
  if (value === undefined) return { kind: 'exp', w: 1, b: 0 };
  if (typeof value !== 'object' || value === null) throw fail("{ kind: 'exp', w, b } or { kind: 'identity' }", value);
  const t = value as Record<string, unknown>;
  if (t.kind === 'identity') return { kind: 'identity' };
  if (t.kind !== 'exp') throw fail("kind 'exp' or 'identity'", t.kind);
  const w = t.w ?? 1;
  const b = t.b ?? 0;
  if (typeof w !== 'number' || !Number.isFinite(w)) throw fail('a finite w', w);
  if (typeof b !== 'number' || !Number.isFinite(b)) throw fail('a finite b', b);
  return { kind: 'exp', w, b };
}

/** A row-major rows×cols matrix given as a JSON array, transposed into a cols×rows Float32Array. */
function transposed(value: unknown, rows: number, cols: number, fail: (expected: string, value: unknown) => ModelError): Float32Array {
  if (!Array.isArray(value) || value.length !== rows * cols) {
    throw fail(`an array of ${rows * cols} numbers (${rows} x ${cols}, row-major)`, value);
  }
  const out = new Float32Array(rows * cols);
  for (let k = 0; k < rows; k++) {
    for (let t = 0; t < cols; t++) {
      const x = value[k * cols + t] as unknown;
      if (typeof x !== 'number' || !Number.isFinite(x)) throw fail(`finite numbers (entry ${k * cols + t})`, x);
      out[t * rows + k] = x;
    }
  }
  return out;
}

/**
 * A batch's heads for {@link matchEmbeddings}: the model's vectors (n×modelDim) with each head's
 * projections attached, so that the native call projects them on its worker thread (a separate
 * GEMM call per projection cost the request a round trip to a worker and back).
 */
export function headsOf(specs: readonly MatchHeadSpec[], user: Float32Array, peer: Float32Array, modelDim: number): MatchHead[] {
  return specs.map((spec) => ({
    user,
    peer,
    dim: spec.dim,
    transform: spec.transform,
    weight: spec.weight,
    ...(spec.userProjection === undefined
      ? {}
      : { inputDim: modelDim, userProjection: spec.userProjection, peerProjection: spec.peerProjection! }),
  }));
}
