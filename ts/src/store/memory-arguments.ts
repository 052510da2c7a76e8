/** Argument checks and result builders shared by the embedding memories. */
import { float32Array, invalidArgument, matrixLength, optionsObject, sharesMemory } from '../core/validate.js';
import type { EmbeddingBatch, EmbeddingReadOptions, EmbeddingWrite } from './embedding-memory.js';

/** Whether `id` is a non-empty string of at most 512 characters (a user id anywhere in kindred). */
export function isId(id: unknown): id is string {
  return typeof id === 'string' && id.length > 0 && id.length <= 512;
}

/** `id` as a non-empty string of at most 512 characters. */
export function checkId(id: unknown, argument = 'id'): string {
  if (!isId(id)) throw invalidArgument(argument, 'a non-empty string of at most 512 characters', id);
  return id;
}

/** `ids` as an array of valid ids. */
export function checkIds(ids: unknown): readonly string[] {
  if (!Array.isArray(ids)) throw invalidArgument('ids', 'an array of ids', ids);
  // The argument's name is built only for a bad id: a matchPool call checks thousands of good ones.
  for (let i = 0; i < ids.length; i++) {
    if (!isId(ids[i])) checkId(ids[i], `ids[${i}]`);
  }
  return ids as string[];
}

/** A write with `dim`-float vectors, a finite version ≥ 0 and a finite `updatedAt`. */
export function checkWrite(write: unknown, dim: number, now: number): Required<EmbeddingWrite> {
  if (typeof write !== 'object' || write === null) throw invalidArgument('write', 'an object { user, peer, version }', write);
  const w = write as Partial<EmbeddingWrite>;
  const user = float32Array(w.user, 'write.user');
  matrixLength(user, 'write.user', 1, dim, '1 x dim');
  const peer = float32Array(w.peer, 'write.peer');
  matrixLength(peer, 'write.peer', 1, dim, '1 x dim');
  if (typeof w.version !== 'number' || !Number.isFinite(w.version) || w.version < 0) {
    throw invalidArgument('write.version', 'a finite number >= 0', w.version);
  }
  const updatedAt = w.updatedAt ?? now;
  if (typeof updatedAt !== 'number' || !Number.isFinite(updatedAt)) {
    throw invalidArgument('write.updatedAt', 'a finite number of ms since the epoch', updatedAt);
  }
  return { user, peer, version: w.version, updatedAt };
}

/** `options.into` of a getMany call checked against `rows × dim`, or undefined when not given. */
export function checkInto(options: unknown, rows: number, dim: number): EmbeddingReadOptions['into'] {
  const into = optionsObject<EmbeddingReadOptions>(options, 'options').into;
  if (into === undefined) return undefined;
  const o = optionsObject<NonNullable<EmbeddingReadOptions['into']>>(into, 'options.into');
  const user = float32Array(o.user, 'options.into.user');
  const peer = float32Array(o.peer, 'options.into.peer');
  matrixLength(user, 'options.into.user', rows, dim, 'ids.length x dim');
  matrixLength(peer, 'options.into.peer', rows, dim, 'ids.length x dim');
  if (sharesMemory(user, peer)) {
    throw invalidArgument('options.into.peer', 'an array apart from options.into.user', 'one that overlaps it');
  }
  return { user, peer };
}

/**
 * An all-missing batch result for `ids` (filled in by the caller). With `into`, its rows are those
 * arrays, not zeroed here: the caller zeroes the rows it finds missing.
 */
export function emptyBatch(
  ids: readonly string[],
  dim: number,
  degraded: boolean,
  into?: EmbeddingReadOptions['into'],
): EmbeddingBatch & { hits: number } {
  return {
    ids,
    dim,
    user: into?.user ?? new Float32Array(ids.length * dim),
    peer: into?.peer ?? new Float32Array(ids.length * dim),
    found: new Uint8Array(ids.length),
    versions: new Float64Array(ids.length),
    ageMs: new Float64Array(ids.length).fill(Number.NaN),
    hits: 0,
    degraded,
  };
}

/** Zeroes row i of a batch written into a caller's arrays (they hold an earlier read's rows). */
export function zeroRow(batch: EmbeddingBatch, i: number): void {
  batch.user.fill(0, i * batch.dim, (i + 1) * batch.dim);
  batch.peer.fill(0, i * batch.dim, (i + 1) * batch.dim);
}
