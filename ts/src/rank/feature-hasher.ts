/**
 * Feature hashing for a ranker: field values → embedding-table buckets, by the model's own
 * `kindred.hashing` metadata (the same function the model was trained with, see
 * tools/models/hashing.py): `bucket(field, value) = (fnv1a32(utf8(String(value))) + shift[field]) mod buckets`.
 */
import { ModelError } from '../core/errors.js';
import { hashBucket, parseHashing, type HashingSpec } from '../embed/fnv1a.js';
import { metadataJson } from '../embed/onnx-metadata.js';

/** A field value as the ranker takes it: hashed as `String(value)` (so `42` and `'42'` share a bucket). */
export type FeatureValue = string | number;

/**
 * Hashes field values into buckets. Values of high-cardinality fields that repeat across requests
 * (item ids, categories, authors) are memoized per field, up to `maxMemo` values per field.
 *
 * @example
 * const hasher = FeatureHasher.fromMetadata('fwfm-ranker', pool.describe('fwfm-ranker')!.metadata);
 * hasher.bucket('item_id', 42); // an integer in [0, hasher.buckets)
 */
export class FeatureHasher {
  readonly #spec: HashingSpec;
  /** Per field: value → bucket as a bigint (what int64 model inputs take), keyed by the raw value. */
  readonly #memo = new Map<string, Map<FeatureValue, bigint>>();
  readonly #maxMemo: number;

  /**
   * @param spec buckets and per-field shifts (a parsed `kindred.hashing`)
   * @param maxMemo most memoized values per field (default 1,000,000; 0 disables the memo)
   */
  constructor(spec: HashingSpec, maxMemo = 1_000_000) {
    this.#spec = spec;
    this.#maxMemo = maxMemo;
  }

  /**
   * The hasher a model declares in its `kindred.hashing` metadata.
   * @throws ModelError `ERR_KINDRED_MODEL_LOAD` when the metadata is missing or not an fnv1a32 spec
   */
  static fromMetadata(model: string, metadata: Readonly<Record<string, string>>): FeatureHasher {
    const spec = parseHashing(metadataJson(metadata, 'kindred.hashing'));
    if (spec === undefined) {
      throw new ModelError(
        'ERR_KINDRED_MODEL_LOAD',
        model,
        "has no usable 'kindred.hashing' metadata ({ function: 'fnv1a32', buckets, shift }); see models/CONTRACT.md",
      );
    }
    return new FeatureHasher(spec);
  }

  /** Size of the bucket range. */
  get buckets(): number {
    return this.#spec.buckets;
  }

  /** The shift of `field` (0 for a field the spec does not name). */
  shift(field: string): number {
    return this.#spec.shift[field] ?? 0;
  }

  /** The bucket of `value` in `field`, in [0, buckets). */
  bucket(field: string, value: FeatureValue): number {
    return Number(this.bigBucket(field, value));
  }

  /** {@link bucket} as a bigint, ready for an int64 input; memoized per field (numbers and strings apart, same buckets). */
  bigBucket(field: string, value: FeatureValue): bigint {
    return this.#lookup(this.#memoOf(field), field, value);
  }

  /**
   * {@link bigBucket} for one field, as a function: the field's memo is found once, so hashing a
   * request's 2,000 candidates costs one map lookup per value instead of two.
   */
  bigBucketOf(field: string): (value: FeatureValue) => bigint {
    const memo = this.#memoOf(field);
    return (value) => this.#lookup(memo, field, value);
  }

  #memoOf(field: string): Map<FeatureValue, bigint> {
    let memo = this.#memo.get(field);
    if (memo === undefined) {
      memo = new Map();
      this.#memo.set(field, memo);
    }
    return memo;
  }

  #lookup(memo: Map<FeatureValue, bigint>, field: string, value: FeatureValue): bigint {
    let bucket = memo.get(value);
    if (bucket === undefined) {
      bucket = BigInt(hashBucket(this.#spec, field, value));
      if (this.#maxMemo === 0) return bucket;
      // A full memo is cleared rather than grown: values unseen for a while are rehashed, which is cheap.
      if (memo.size >= this.#maxMemo) memo.clear();
      memo.set(value, bucket);
    }
    return bucket;
  }
}
