import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadWorld } from '../../../examples/synthetic-world.js';
import { AbortError, InvalidArgumentError, ModelError } from '../../src/core/errors.js';
import { defaultModelPath } from '../../src/embed/default-models.js';
import { ModelPool } from '../../src/embed/model-pool.js';
import { FwFmRanker, type RankerItem } from '../../src/rank/fwfm-ranker.js';

/** The contract's hash, written independently of ts/src (FNV-1a 32 over UTF-8, then + shift mod buckets). */
function naiveBucket(shift: Record<string, number>, field: string, value: string | number): number {
  let h = 2166136261;
  for (const byte of Buffer.from(String(value), 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 16777619) >>> 0;
  }
  return (h + (shift[field] ?? 0)) % 16384;
}

const world = loadWorld();
let pool: ModelPool;
let session: ort.InferenceSession;
let shift: Record<string, number>;

beforeAll(async () => {
  pool = new ModelPool({ threads: 1, maxBatch: 8192 });
  const description = await pool.load('fwfm-ranker', defaultModelPath('fwfm-ranker'));
  shift = (JSON.parse(description.metadata['kindred.hashing']!) as { shift: Record<string, number> }).shift;
  session = await ort.InferenceSession.create(defaultModelPath('fwfm-ranker'));
});

afterAll(async () => {
  await pool?.close();
  await session?.release();
});

/** A direct ORT run on naively hashed features: the reference for FwFmRanker.score. */
async function reference(user: string, hour: number, device: number, history: number[], items: readonly RankerItem[]): Promise<Float32Array> {
  const n = items.length;
  const seq = Math.max(1, history.length);
  const col = (field: string, values: Array<string | number>) =>
    new ort.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(naiveBucket(shift, field, v))), [values.length]);
  const hist = new BigInt64Array(n * seq);
  for (let r = 0; r < n; r++) history.forEach((id, j) => (hist[r * seq + j] = BigInt(naiveBucket(shift, 'history_item_ids', id))));
  const out = await session.run({
    user_id: col('user_id', items.map(() => user)),
    item_id: col('item_id', items.map((i) => i.id)),
    item_category: col('item_category', items.map((i) => i.category)),
    item_author: col('item_author', items.map((i) => i.author)),
    context_hour: col('context_hour', items.map(() => hour)),
    context_device: col('context_device', items.map(() => device)),
    history_item_ids: new ort.Tensor('int64', hist, [n, seq]),
    history_length: new ort.Tensor('int64', new BigInt64Array(n).fill(BigInt(history.length)), [n]),
  });
  return out.pctr!.data as Float32Array;
}

const items = (from: number, count: number): RankerItem[] =>
  world.items.slice(from, from + count).map((i) => ({ id: i.id, category: i.category, author: i.author }));

describe('FwFmRanker', () => {
  it('reads the hashing and the false-positive cut from the model', () => {
    const ranker = new FwFmRanker(pool);
    expect(ranker.hasher.buckets).toBe(16384);
    expect(ranker.falsePositiveDwellMs).toBe(3000);
    expect(ranker.historyLength).toBe(32);
  });

  it('scores every candidate in one model run, equal to a direct ONNX Runtime run on naively hashed features', async () => {
    const ranker = new FwFmRanker(pool);
    const user = world.users[0]!;
    const history = user.clicks.filter((c) => c.dwellMs >= 3000).map((c) => c.itemId).slice(-32);
    const candidates = items(100, 2000);
    const before = pool.stats().runs;
    const pctr = await ranker.score({ user: String(user.userId), context: { hour: 21, device: 1 }, history, items: candidates });
    expect(pool.stats().runs - before).toBe(1);
    const expected = await reference(String(user.userId), 21, 1, history, candidates);
    expect(pctr.length).toBe(2000);
    let worst = 0;
    for (let i = 0; i < pctr.length; i++) worst = Math.max(worst, Math.abs(pctr[i]! - expected[i]!));
    expect(worst).toBeLessThan(1e-6);
    // Not a constant: the scores tell items apart.
    expect(Math.max(...pctr) - Math.min(...pctr)).toBeGreaterThan(0.1);
  });

  it('feeds only the most recent historyLength history items', async () => {
    const ranker = new FwFmRanker(pool, { historyLength: 4 });
    const history = [11, 22, 33, 44, 55, 66];
    const candidates = items(0, 50);
    const got = await ranker.score({ user: 'u', context: { hour: 3, device: 0 }, history, items: candidates });
    const expected = await reference('u', 3, 0, history.slice(-4), candidates);
    for (let i = 0; i < 50; i++) expect(got[i]).toBeCloseTo(expected[i]!, 6);
    const cold = await ranker.score({ user: 'u', context: { hour: 3, device: 0 }, history: [], items: candidates });
    const coldExpected = await reference('u', 3, 0, [], candidates);
    for (let i = 0; i < 50; i++) expect(cold[i]).toBeCloseTo(coldExpected[i]!, 6);
  });

  it('keeps concurrent requests apart while reusing input buffers (sizes up and down)', async () => {
    const ranker = new FwFmRanker(pool);
    const requests = [2000, 10, 700, 1, 1500, 64].map((n, k) => ({
      user: `user-${k}`,
      context: { hour: k, device: k % 3 },
      history: Array.from({ length: 5 + k * 7 }, (_, j) => (j * 131 + k) % 5000),
      items: items(k * 500, n),
    }));
    const alone: Float32Array[] = [];
    for (const r of requests) alone.push((await ranker.score(r)).slice());
    for (let round = 0; round < 2; round++) {
      const together = await Promise.all(requests.map((r) => ranker.score(r)));
      together.forEach((got, k) => {
        expect(got.length, `request ${k}`).toBe(alone[k]!.length);
        // Micro-batched with the others: the same rows, maybe another kernel order (float rounding).
        let worst = 0;
        for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - alone[k]![i]!));
        expect(worst, `request ${k}`).toBeLessThan(1e-6);
      });
    }
    const expected = await reference('user-2', 2, 2, requests[2]!.history.slice(-32), requests[2]!.items);
    alone[2]!.forEach((p, i) => expect(p).toBeCloseTo(expected[i]!, 6));
  });

  it('splits a large request into parallel parts (parallelRows) with the same scores', async () => {
    const two = new ModelPool({ threads: 2, maxBatch: 8192 });
    try {
      await two.load('fwfm-ranker', defaultModelPath('fwfm-ranker'), { maxBatch: 500 });
      const split = new FwFmRanker(two, { parallelRows: 500 });
      const request = { user: 'u9', context: { hour: 7, device: 2 }, history: [5, 6, 7, 8], items: items(0, 1999) };
      const before = two.stats().runs;
      const got = await split.score(request);
      expect(two.stats().runs - before).toBe(3); // floor(1999 / 500) parts, each run alone
      const expected = await reference('u9', 7, 2, [5, 6, 7, 8], request.items);
      expect(got.length).toBe(1999);
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - expected[i]!));
      expect(worst).toBeLessThan(1e-6);
      // Below 2 × parallelRows: one run.
      const runs = two.stats().runs;
      await split.score({ ...request, items: items(0, 999) });
      expect(two.stats().runs - runs).toBe(1);
    } finally {
      await two.close();
    }
  });

  it('feeds the request side once (batch 1) when the pool accepts it, with the scores of the batch-N form', async () => {
    // With the real pool: batch 1 exactly when the pool lists broadcastable inputs for the model.
    expect(new FwFmRanker(pool).broadcastsRequest).toBe('broadcastInputs' in pool.describe('fwfm-ranker')!);
    const calls: Array<Record<string, BigInt64Array | { data: BigInt64Array; dims: number[] }>> = [];
    // A pool stand-in that lists the model's request inputs as broadcastable and runs the feeds as given.
    const description = { ...pool.describe('fwfm-ranker')!, broadcastInputs: ['user_id', 'context_hour', 'context_device', 'history_item_ids', 'history_length'] };
    const broadcasting = {
      describe: () => description,
      run: async (_model: string, feeds: Record<string, BigInt64Array | { data: BigInt64Array; dims: number[] }>) => {
        calls.push(feeds);
        const tensors = Object.fromEntries(
          Object.entries(feeds).map(([name, f]) => [name, f instanceof BigInt64Array ? new ort.Tensor('int64', f.slice(), [f.length]) : new ort.Tensor('int64', f.data.slice(), f.dims)]),
        );
        return { pctr: (await session.run(tensors)).pctr!.data as Float32Array };
      },
    } as unknown as ModelPool;
    for (const parallelRows of [0, 100]) {
      calls.length = 0;
      const ranker = new FwFmRanker(broadcasting, { parallelRows });
      expect(ranker.broadcastsRequest).toBe(true);
      const candidates = items(0, 301);
      const got = await ranker.score({ user: 'u5', context: { hour: 9, device: 1 }, history: [3, 4, 5], items: candidates });
      expect(calls.length, `parallelRows ${parallelRows}`).toBe(parallelRows === 0 ? 1 : 3);
      let candidateRows = 0;
      for (const feeds of calls) {
        for (const name of ['user_id', 'context_hour', 'context_device', 'history_length']) expect((feeds[name] as { dims: number[] }).dims, name).toEqual([1]);
        expect((feeds.history_item_ids as { dims: number[] }).dims).toEqual([1, 32]);
        candidateRows += (feeds.item_id as BigInt64Array).length;
      }
      expect(candidateRows).toBe(301);
      const expected = await reference('u5', 9, 1, [3, 4, 5], candidates);
      let worst = 0;
      for (let i = 0; i < 301; i++) worst = Math.max(worst, Math.abs(got[i]! - expected[i]!));
      expect(worst, `parallelRows ${parallelRows}`).toBeLessThan(1e-6);
    }
  });

  it('answers an empty candidate list without a model run', async () => {
    const ranker = new FwFmRanker(pool);
    const before = pool.stats().runs;
    expect((await ranker.score({ user: 'u', items: [] })).length).toBe(0);
    expect(pool.stats().runs).toBe(before);
  });

  it('rejects bad requests with errors naming the field', async () => {
    const ranker = new FwFmRanker(pool);
    const bad: Array<[unknown, string]> = [
      [{ user: 'u', items: [{ id: 1, category: 2, author: 3 }, { id: 2, category: null, author: 3 }] }, 'request.items[1].category'],
      [{ user: 'u', items: [{ id: Number.NaN, category: 2, author: 3 }] }, 'request.items[0].id'],
      [{ user: {}, items: [] }, 'request.user'],
      [{ user: 'u', context: { hour: 24 }, items: [] }, 'request.context.hour'],
      [{ user: 'u', history: [1, undefined], items: [{ id: 1, category: 2, author: 3 }] }, 'request.history[1]'],
      [{ user: 'u', items: 'x' }, 'request.items'],
    ];
    for (const [request, argument] of bad) {
      const error = await ranker.score(request as never).catch((e: unknown) => e);
      expect(error, argument).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).argument).toBe(argument);
    }
  });

  it('rejects a model that is not loaded or is not an FwFM ranker', async () => {
    expect(() => new FwFmRanker(pool, { model: 'nope' })).toThrow(InvalidArgumentError);
    expect(() => new FwFmRanker({} as never)).toThrow(InvalidArgumentError);
    expect(() => new FwFmRanker(pool, { historyLength: 0 })).toThrow(/options\.historyLength/);
    await pool.load('tower', defaultModelPath('feature-tower'));
    try {
      new FwFmRanker(pool, { model: 'tower' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ModelError);
      expect((error as ModelError).code).toBe('ERR_KINDRED_MODEL_INPUT');
    }
  });

  it('honours an aborted signal', async () => {
    const ranker = new FwFmRanker(pool);
    const controller = new AbortController();
    controller.abort();
    await expect(ranker.score({ user: 'u', items: items(0, 10) }, { signal: controller.signal })).rejects.toBeInstanceOf(AbortError);
  });
});
