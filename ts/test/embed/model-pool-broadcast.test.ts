/**
 * Broadcast inputs: a model that lists inputs in `kindred.contract.requestInputs` (the FwFM ranker's
 * user side) takes them with batch 1 against the other inputs' batch N; the pool checks them as one
 * row, runs such a request alone, and rejects batch 1 on any other input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ModelError } from '../../src/core/errors.js';
import { defaultModelPath } from '../../src/embed/default-models.js';
import type { ModelFeeds } from '../../src/embed/model-contract.js';
import { ModelPool } from '../../src/embed/model-pool.js';
import { seededRandom } from '../reference/random.js';

const REQUEST = ['user_id', 'context_hour', 'context_device', 'history_item_ids', 'history_length'];
let pool: ModelPool;
beforeAll(async () => {
  pool = new ModelPool({ threads: 1, maxBatch: 8192, maxDelayMs: 5 });
  await pool.load('ranker', defaultModelPath('fwfm-ranker'));
  await pool.load('tower', defaultModelPath('feature-tower'));
});
afterAll(async () => pool?.close());

/** One request: n candidates, the request side with batch 1 (`one`) or repeated n times. */
function request(seed: number, n: number, seq: number, one: boolean): ModelFeeds {
  const random = seededRandom(seed);
  const id = () => BigInt(Math.floor(random() * 16384));
  const [user, hour, device] = [id(), id(), id()];
  const history = BigInt64Array.from({ length: seq }, id);
  const length = BigInt(Math.floor(random() * (seq + 1)));
  const candidates = { item_id: BigInt64Array.from({ length: n }, id), item_category: BigInt64Array.from({ length: n }, id), item_author: BigInt64Array.from({ length: n }, id) };
  const rows = one ? 1 : n;
  return {
    ...candidates,
    user_id: { data: new BigInt64Array(rows).fill(user), dims: [rows] },
    context_hour: { data: new BigInt64Array(rows).fill(hour), dims: [rows] },
    context_device: { data: new BigInt64Array(rows).fill(device), dims: [rows] },
    history_item_ids: { data: BigInt64Array.from({ length: rows * seq }, (_, k) => history[k % seq]!), dims: [rows, seq] },
    history_length: { data: new BigInt64Array(rows).fill(length), dims: [rows] },
  };
}

describe('ModelPool broadcast inputs', () => {
  it('reads the broadcastable inputs from kindred.contract.requestInputs (none for a model without)', () => {
    expect([...pool.describe('ranker')!.broadcastInputs].sort()).toEqual([...REQUEST].sort());
    expect(pool.describe('tower')!.broadcastInputs).toEqual([]);
  });

  it('gives batch-1 request inputs the scores of the same rows repeated, each such request in a run of its own', async () => {
    const sizes = [300, 1, 57, 1000, 2];
    const full = await Promise.all(sizes.map((n, k) => pool.run('ranker', request(k, n, 12, false))));
    const runs = pool.stats().runs;
    const one = await Promise.all(sizes.map((n, k) => pool.run('ranker', request(k, n, 12, true))));
    // Concurrent and batchable otherwise; a request with batch-1 inputs (n > 1) is not concatenated.
    expect(pool.stats().runs - runs).toBe(sizes.filter((n) => n > 1).length + 1);
    sizes.forEach((n, k) => {
      expect(one[k]!.pctr!.length).toBe(n);
      for (let i = 0; i < n; i++) expect(Math.abs(one[k]!.pctr![i]! - full[k]!.pctr![i]!), `request ${k} row ${i}`).toBeLessThanOrEqual(1e-6);
    });
  });

  it('rejects batch 1 on an input the model does not broadcast, and a batch-1 input without dims', async () => {
    const feeds = request(9, 20, 4, true) as Record<string, unknown>;
    const bad = { ...feeds, item_author: { data: new BigInt64Array(1), dims: [1] } };
    const error = await pool.run('ranker', bad as ModelFeeds).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelError);
    expect((error as ModelError).code).toBe('ERR_KINDRED_MODEL_INPUT');
    expect((error as Error).message).toContain('item_author');
    // Without dims a one-value user_id is not taken for a broadcast (the batch size would be guessed).
    const bare = { ...feeds, user_id: new BigInt64Array(1) };
    const bareError = await pool.run('ranker', bare as ModelFeeds).catch((e: unknown) => e);
    expect(bareError).toBeInstanceOf(ModelError);
    expect((bareError as ModelError).code).toBe('ERR_KINDRED_MODEL_INPUT');
  });
});
