/**
 * Argument checks shared by the item indexes (ids, vectors, k, metric), and the cosine
 * normalization both apply on add and on query.
 */
import { InvalidArgumentError } from '../core/errors.js';
import { integerInRange, invalidArgument, optionsObject } from '../core/validate.js';
import type { IndexMetric, ItemId } from './item-index.js';

/** The largest k and item count: result indices are 32-bit in the native top-k. */
export const MAX_INDEX_ITEMS = 2 ** 31 - 1;
/** The largest vector length accepted. */
export const MAX_INDEX_DIM = 2 ** 20;

/** `value` as a valid item id, or an InvalidArgumentError naming `argument`. */
export function itemId(value: unknown, argument: string): ItemId {
  if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) return value;
  throw invalidArgument(argument, 'a string or a finite number', value);
}

/**
 * `value` as an array of new, distinct item ids. `present` says whether an id is already held.
 */
export function newItemIds(value: unknown, argument: string, present: (id: ItemId) => boolean): readonly ItemId[] {
  if (!Array.isArray(value)) throw invalidArgument(argument, 'an array of item ids', value);
  const seen = new Set<ItemId>();
  value.forEach((raw, i) => {
    const id = itemId(raw, `${argument}[${i}]`);
    if (seen.has(id)) throw invalidArgument(`${argument}[${i}]`, 'an id not repeated in the same call', id);
    if (present(id)) throw invalidArgument(`${argument}[${i}]`, 'an id not already in the index', id);
    seen.add(id);
  });
  return value as readonly ItemId[];
}

/** `value` as an integer in [min, max], or `fallback` when undefined. */
export function optionalInteger(value: unknown, argument: string, min: number, max: number, fallback: number): number {
  return value === undefined ? fallback : integerInRange(value, argument, min, max);
}

/** `value` as `'ip'` or `'cos'`. */
export function indexMetric(value: unknown, argument: string): IndexMetric {
  if (value === 'ip' || value === 'cos') return value;
  throw invalidArgument(argument, "'ip' or 'cos'", value);
}

/** `value` as a positive k. */
export function topK(value: unknown, argument: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_INDEX_ITEMS) {
    throw invalidArgument(argument, `an integer between 1 and ${MAX_INDEX_ITEMS}`, value);
  }
  return value;
}

/**
 * Checks that `value` is a Float32Array of `rows` finite rows of `dim` floats (and, for `'cos'`,
 * no zero row); the error names the row and column.
 */
export function vectorRows(
  value: unknown,
  argument: string,
  rows: number,
  dim: number,
  metric: IndexMetric,
): Float32Array {
  if (!(value instanceof Float32Array)) throw invalidArgument(argument, 'a Float32Array', value);
  if (value.length !== rows * dim) {
    throw invalidArgument(argument, `a Float32Array of length ${rows * dim} (${rows} rows x dim ${dim})`, value);
  }
  for (let i = 0; i < value.length; i++) {
    const v = value[i]!;
    if (!Number.isFinite(v)) {
      const where = `at row ${Math.floor(i / dim)}, column ${i % dim} (index ${i})`;
      throw new InvalidArgumentError(argument, 'finite numbers', `${v} ${where}`);
    }
  }
  if (metric === 'cos') {
    for (let r = 0; r < rows; r++) {
      if (rowNorm(value, r, dim) === 0) {
        throw new InvalidArgumentError(argument, "non-zero vectors (metric 'cos')", `a zero vector at row ${r}`);
      }
    }
  }
  return value;
}

/** Checks queries (a Float32Array of whole rows of `dim` finite floats) and returns how many rows. */
export function queryRows(value: unknown, argument: string, dim: number, metric: IndexMetric): number {
  if (!(value instanceof Float32Array)) throw invalidArgument(argument, 'a Float32Array', value);
  if (value.length % dim !== 0) {
    throw invalidArgument(argument, `a Float32Array whose length is a multiple of dim ${dim}`, value);
  }
  const rows = value.length / dim;
  vectorRows(value, argument, rows, dim, metric);
  return rows;
}

/** Euclidean norm of row `r`, accumulated in double precision. */
export function rowNorm(data: Float32Array, r: number, dim: number): number {
  let sum = 0;
  for (let c = r * dim; c < (r + 1) * dim; c++) sum += data[c]! * data[c]!;
  return Math.sqrt(sum);
}

/** Writes rows of `src` scaled to unit length into `dst` at `dstOffset` (floats). Rows must be non-zero. */
export function writeNormalized(
  src: Float32Array,
  rows: number,
  dim: number,
  dst: Float32Array,
  dstOffset: number,
): void {
  for (let r = 0; r < rows; r++) {
    const scale = 1 / rowNorm(src, r, dim);
    for (let c = 0; c < dim; c++) dst[dstOffset + r * dim + c] = src[r * dim + c]! * scale;
  }
}

/** The rows of `vectors` as the index stores them: as given for `'ip'`, a unit-length copy for `'cos'`. */
export function storedRows(vectors: Float32Array, rows: number, dim: number, metric: IndexMetric): Float32Array {
  if (metric === 'ip') return vectors;
  const out = new Float32Array(rows * dim);
  writeNormalized(vectors, rows, dim, out, 0);
  return out;
}

/**
 * The checks of `ItemIndex.add`: new, distinct ids; `vectors` of ids.length × dim finite floats
 * (non-zero rows for cosine); room left below MAX_INDEX_ITEMS. Returns the ids.
 */
export function itemsToAdd(
  ids: unknown,
  vectors: unknown,
  index: { readonly size: number; readonly dim: number; readonly metric: IndexMetric; has(id: ItemId): boolean },
): readonly ItemId[] {
  const checked = newItemIds(ids, 'ids', (id) => index.has(id));
  vectorRows(vectors, 'vectors', checked.length, index.dim, index.metric);
  if (index.size + checked.length > MAX_INDEX_ITEMS) {
    throw new InvalidArgumentError('ids', `at most ${MAX_INDEX_ITEMS - index.size} more items`, `${checked.length} items`);
  }
  return checked;
}

/** The options object of an index constructor with its `dim` (1..MAX_INDEX_DIM) and `metric` (default 'cos') checked. */
export function indexOptions<T extends { dim: number; metric?: IndexMetric }>(
  options: T | undefined,
): { opts: T; dim: number; metric: IndexMetric } {
  if (options === undefined) throw new InvalidArgumentError('options', 'an options object with dim', 'undefined');
  const opts = optionsObject<T>(options, 'options');
  const dim = integerInRange(opts.dim, 'options.dim', 1, MAX_INDEX_DIM);
  const metric = opts.metric === undefined ? 'cos' : indexMetric(opts.metric, 'options.metric');
  return { opts: opts as T, dim, metric };
}
