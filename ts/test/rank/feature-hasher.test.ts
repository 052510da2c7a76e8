import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { ModelError } from '../../src/core/errors.js';
import { defaultModelPath } from '../../src/embed/default-models.js';
import { loadModelMetadata } from '../../src/embed/onnx-metadata.js';
import { FeatureHasher } from '../../src/rank/feature-hasher.js';

interface HashCase {
  field: string;
  value: string;
  fnv1a32: number;
  bucket: number;
}

const fixture = JSON.parse(
  readFileSync(fileURLToPath(new URL('../fixtures/models/fwfm-ranker.json', import.meta.url)), 'utf8'),
) as { hashing: HashCase[] };

describe('FeatureHasher', () => {
  it('gives the buckets tools/models/hashing.py wrote for the shipped ranker (its own kindred.hashing)', async () => {
    const hasher = FeatureHasher.fromMetadata('fwfm-ranker', await loadModelMetadata(defaultModelPath('fwfm-ranker')));
    expect(hasher.buckets).toBe(16384);
    expect(fixture.hashing.length).toBeGreaterThan(20);
    for (const c of fixture.hashing) {
      expect(hasher.bucket(c.field, c.value), `${c.field}=${JSON.stringify(c.value)}`).toBe(c.bucket);
      expect(hasher.bigBucket(c.field, c.value)).toBe(BigInt(c.bucket));
    }
  });

  it('hashes a number as String(number), with or without the memo, and repeats itself', async () => {
    const metadata = await loadModelMetadata(defaultModelPath('fwfm-ranker'));
    const memo = FeatureHasher.fromMetadata('fwfm-ranker', metadata);
    const plain = new FeatureHasher({ buckets: 16384, shift: (JSON.parse(metadata['kindred.hashing']!) as { shift: Record<string, number> }).shift }, 0);
    for (const value of [0, 1, 42, 4999, 123456789]) {
      for (const field of ['item_id', 'item_category', 'history_item_ids', 'user_id']) {
        const b = memo.bucket(field, value);
        expect(memo.bucket(field, String(value))).toBe(b);
        expect(memo.bucket(field, value)).toBe(b);
        expect(plain.bucket(field, value)).toBe(b);
      }
    }
    // item_id and history_item_ids share a shift: an item has one embedding wherever it appears.
    expect(memo.shift('item_id')).toBe(memo.shift('history_item_ids'));
    expect(memo.bucket('item_id', 42)).toBe(memo.bucket('history_item_ids', 42));
    expect(memo.bucket('item_id', 42)).not.toBe(memo.bucket('item_category', 42));
  });

  it('keeps working when a full memo is cleared', () => {
    const hasher = new FeatureHasher({ buckets: 97, shift: { a: 5 } }, 3);
    const first = Array.from({ length: 10 }, (_, i) => hasher.bucket('a', i));
    const again = Array.from({ length: 10 }, (_, i) => hasher.bucket('a', i));
    expect(again).toEqual(first);
    for (const b of first) expect(b >= 0 && b < 97).toBe(true);
  });

  it('bigBucketOf(field) gives bigBucket(field, ·), shares its memo, and survives the memo being cleared', () => {
    const plain = new FeatureHasher({ buckets: 97, shift: { a: 5, b: 11 } }, 0);
    const hasher = new FeatureHasher({ buckets: 97, shift: { a: 5, b: 11 } }, 4);
    const a = hasher.bigBucketOf('a');
    const b = hasher.bigBucketOf('b');
    for (let round = 0; round < 3; round++) {
      for (const value of [0, 1, '1', 42, 'x', 'ñandú', 96, 1e9]) {
        expect(a(value), `a ${value}`).toBe(plain.bigBucket('a', value));
        expect(b(value), `b ${value}`).toBe(plain.bigBucket('b', value));
        // Interleaved with the per-call form on the same (small, often cleared) memo.
        expect(hasher.bigBucket('a', value)).toBe(a(value));
      }
    }
    expect(a(7)).not.toBe(b(7)); // the fields' shifts differ by 6 mod 97
  });

  it('rejects a model without usable kindred.hashing metadata with a ModelError', () => {
    expect(() => FeatureHasher.fromMetadata('m', {})).toThrow(ModelError);
    try {
      FeatureHasher.fromMetadata('m', { 'kindred.hashing': '{"function":"murmur3","buckets":10}' });
      expect.unreachable();
    } catch (error) {
      expect((error as ModelError).code).toBe('ERR_KINDRED_MODEL_LOAD');
      expect((error as Error).message).toContain('kindred.hashing');
    }
  });
});
