import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AbortError, ClosedError, ModelError, QueueFullError, WorkerError } from '../../src/core/errors.js';
import { ModelPool } from '../../src/embed/model-pool.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/tiny-models/${name}`, import.meta.url));

/** Feeds for echo.onnx: x [rows,4] counting up from `start`, id [rows] cycling through 0..9. */
function echoFeeds(rows: number, start: number) {
  const x = new Float32Array(rows * 4).map((_, i) => start + i);
  const id = new BigInt64Array(rows).map((_, i) => BigInt((start + i) % 10));
  return { x, id };
}

/** What echo.onnx computes: y = 2x + table[id] with table[i][j] = 4i + j; total = Σ_j x. */
function echoExpected(x: Float32Array, id: BigInt64Array) {
  const rows = id.length;
  const y = new Float32Array(rows * 4);
  const total = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < 4; j++) {
      y[r * 4 + j] = 2 * x[r * 4 + j]! + 4 * Number(id[r]) + j;
      total[r]! += x[r * 4 + j]!;
    }
  }
  return { y, total };
}

/** A run of matmul-chain.onnx that keeps the single worker busy for a while. */
function slowFeeds(rows = 6000) {
  return { x: new Float32Array(rows * 256).fill(0.01) };
}

async function expectModelError(promise: Promise<unknown>, code: string, input?: string): Promise<ModelError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ModelError);
  const m = error as ModelError;
  expect(m.code).toBe(code);
  if (input !== undefined) {
    expect(m.input).toBe(input);
    expect(m.message).toContain(`'${input}'`);
  }
  return m;
}

describe('ModelPool', () => {
  let pool: ModelPool;
  beforeAll(async () => {
    pool = new ModelPool({ threads: 1, maxBatch: 64, maxDelayMs: 20, logSeverityLevel: 4 });
    await pool.load('echo', fixture('echo.onnx'));
    await pool.load('slow', fixture('matmul-chain.onnx'));
  });
  afterAll(async () => {
    await pool.close();
  });

  it('runs a model and returns every declared output', async () => {
    const feeds = echoFeeds(3, 1);
    const out = await pool.run('echo', feeds);
    const want = echoExpected(feeds.x, feeds.id);
    expect(Array.from(out.y!)).toEqual(Array.from(want.y));
    expect(Array.from(out.total!)).toEqual(Array.from(want.total));
    // The caller keeps its arrays (the batch buffers are copies that get moved).
    expect(feeds.x.length).toBe(12);
  });

  it('describes the declared inputs and outputs', () => {
    const d = pool.describe('echo')!;
    expect(d.inputs).toEqual([
      { name: 'x', type: 'float32', shape: ['batch', 4] },
      { name: 'id', type: 'int64', shape: ['batch'] },
    ]);
    expect(d.outputs.map((o) => o.name)).toEqual(['y', 'total']);
    expect(d.batchable).toBe(true);
  });

  it('micro-batches concurrent requests into one run and splits the rows back', async () => {
    const before = pool.stats();
    const requests = Array.from({ length: 10 }, (_, k) => echoFeeds(1 + (k % 3), 100 * k));
    const outs = await Promise.all(requests.map((f) => pool.run('echo', f)));
    const after = pool.stats();
    expect(after.runs - before.runs).toBe(1);
    expect(after.rows - before.rows).toBe(requests.reduce((n, f) => n + f.id.length, 0));
    outs.forEach((out, k) => {
      const want = echoExpected(requests[k]!.x, requests[k]!.id);
      expect(Array.from(out.y!), `request ${k}`).toEqual(Array.from(want.y));
      expect(Array.from(out.total!), `request ${k}`).toEqual(Array.from(want.total));
    });
  });

  it('caps a batch at maxBatch rows', async () => {
    const before = pool.stats().runs;
    const outs = await Promise.all([0, 1, 2, 3, 4].map((k) => pool.run('echo', echoFeeds(30, k))));
    expect(pool.stats().runs - before).toBe(3); // 30+30 | 30+30 | 30
    expect(outs.every((o) => o.total!.length === 30)).toBe(true);
  });

  describe('the contract', () => {
    it('rejects an unknown input, naming it', async () => {
      await expectModelError(pool.run('echo', { ...echoFeeds(1, 0), extra: new Float32Array(1) }), 'ERR_KINDRED_MODEL_INPUT', 'extra');
    });
    it('rejects a missing input, naming it', async () => {
      await expectModelError(pool.run('echo', { x: new Float32Array(4) }), 'ERR_KINDRED_MODEL_INPUT', 'id');
    });
    it('rejects the wrong element type, naming the input', async () => {
      const m = await expectModelError(pool.run('echo', { x: new Float32Array(4), id: new Int32Array(1) }), 'ERR_KINDRED_MODEL_INPUT', 'id');
      expect(m.message).toContain('BigInt64Array');
    });
    it('rejects a mis-shaped input, naming it', async () => {
      await expectModelError(pool.run('echo', { x: new Float32Array(5), id: new BigInt64Array(1) }), 'ERR_KINDRED_MODEL_INPUT', 'x');
      await expectModelError(
        pool.run('echo', { x: { data: new Float32Array(10), dims: [2, 5] }, id: new BigInt64Array(2) }),
        'ERR_KINDRED_MODEL_INPUT',
        'x',
      );
    });
    it('rejects inputs that disagree on the batch size', async () => {
      await expectModelError(pool.run('echo', { x: new Float32Array(8), id: new BigInt64Array(3) }), 'ERR_KINDRED_MODEL_INPUT', 'id');
    });
    it('rejects an unknown model name with InvalidArgumentError', async () => {
      await expect(pool.run('nope', {})).rejects.toMatchObject({ code: 'ERR_KINDRED_INVALID_ARGUMENT', argument: 'name' });
    });
    it('reports a missing file as MODEL_LOAD', async () => {
      const m = await expectModelError(pool.load('missing', fixture('does-not-exist.onnx')), 'ERR_KINDRED_MODEL_LOAD');
      expect(m.message).toContain('does-not-exist.onnx');
    });
    it('reports a corrupt file as MODEL_LOAD, and the pool still works', async () => {
      await expectModelError(pool.load('corrupt', fixture('corrupt.onnx')), 'ERR_KINDRED_MODEL_LOAD');
      expect(pool.describe('corrupt')).toBeUndefined();
      const out = await pool.run('echo', echoFeeds(1, 0));
      expect(out.total![0]).toBe(6);
    });
  });

  it('rejects a request the model fails on, without failing its batch neighbours or the worker', async () => {
    const threadId = pool.workerThreads[0]!.threadId;
    const good = echoFeeds(2, 5);
    const results = await Promise.allSettled([
      pool.run('echo', good),
      pool.run('echo', { x: new Float32Array(4), id: new BigInt64Array([100n]) }),
      pool.run('echo', echoFeeds(1, 7)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const error = (results[1] as PromiseRejectedResult).reason as ModelError;
    expect(error).toBeInstanceOf(ModelError);
    expect(error.code).toBe('ERR_KINDRED_MODEL_RUN');
    expect(error.message).toContain('out of data bounds');
    const want = echoExpected(good.x, good.id);
    expect(Array.from((results[0] as PromiseFulfilledResult<Record<string, Float32Array>>).value.y!)).toEqual(Array.from(want.y));
    // Same worker, still serving.
    expect((await pool.run('echo', echoFeeds(1, 0))).total![0]).toBe(6);
    expect(pool.workerThreads[0]!.threadId).toBe(threadId);
  });

  it('aborts a waiting request: it rejects with AbortError and its rows never run', async () => {
    const busy = pool.run('slow', slowFeeds());
    await new Promise((r) => setTimeout(r, 30));
    const controller = new AbortController();
    const before = pool.stats();
    const waiting = pool.run('echo', echoFeeds(7, 0), { signal: controller.signal });
    const other = pool.run('echo', echoFeeds(2, 0));
    controller.abort(new Error('client went away'));
    const error = await waiting.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AbortError);
    expect((error as AbortError).name).toBe('AbortError');
    expect(((error as AbortError).cause as Error).message).toBe('client went away');
    await busy;
    await other;
    const after = pool.stats();
    expect(after.rows - before.rows).toBe(6000 + 2);
  });

  it('rejects at once for an already-aborted signal', async () => {
    await expect(pool.run('echo', echoFeeds(1, 0), { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
  });

  it('drops the result of a running request that is aborted, and keeps the worker', async () => {
    const controller = new AbortController();
    const running = pool.run('slow', slowFeeds(), { signal: controller.signal });
    await new Promise((r) => setTimeout(r, 30));
    controller.abort();
    await expect(running).rejects.toBeInstanceOf(AbortError);
    expect((await pool.run('echo', echoFeeds(1, 0))).total![0]).toBe(6);
  });

  it('survives a worker that dies: it is reported, replaced, and the model reloads in the new one', async () => {
    // Killed between runs: onnxruntime-node aborts the process when a thread is terminated
    // inside a native run, which is why the pool never terminates a busy worker (abort drops results instead).
    const errors: unknown[] = [];
    pool.on('worker-error', (e) => errors.push(e));
    const old = pool.workerThreads[0]!.threadId;
    await pool.workerThreads[0]!.terminate();
    await new Promise((r) => setTimeout(r, 50));
    expect(errors.length).toBe(1);
    expect(errors[0]).toBeInstanceOf(WorkerError);
    expect(pool.stats().workerExits).toBe(1);
    const feeds = echoFeeds(2, 3);
    const out = await pool.run('echo', feeds);
    expect(Array.from(out.y!)).toEqual(Array.from(echoExpected(feeds.x, feeds.id).y));
    expect(pool.workerThreads[0]!.threadId).not.toBe(old);
  });
});

describe('ModelPool back-pressure and close', () => {
  it('rejects with QueueFullError once maxQueue requests wait', async () => {
    const pool = new ModelPool({ maxQueue: 2, maxDelayMs: 0, logSeverityLevel: 4 });
    await pool.load('slow', fixture('matmul-chain.onnx'));
    await pool.load('echo', fixture('echo.onnx'));
    const busy = pool.run('slow', slowFeeds());
    await new Promise((r) => setTimeout(r, 30));
    const a = pool.run('echo', echoFeeds(1, 0));
    const b = pool.run('echo', echoFeeds(1, 1));
    await expect(pool.run('echo', echoFeeds(1, 2))).rejects.toBeInstanceOf(QueueFullError);
    expect(pool.stats().rejected).toBe(1);
    await Promise.all([busy, a, b]);
    await pool.close();
  });

  it('close() runs what was accepted, then refuses new work', async () => {
    const pool = new ModelPool({ maxDelayMs: 1000 });
    await pool.load('echo', fixture('echo.onnx'));
    const pending = [pool.run('echo', echoFeeds(1, 0)), pool.run('echo', echoFeeds(2, 1))];
    const closing = pool.close();
    const outs = await Promise.all(pending);
    expect(outs.map((o) => o.total!.length)).toEqual([1, 2]);
    await closing;
    await expect(pool.run('echo', echoFeeds(1, 0))).rejects.toBeInstanceOf(ClosedError);
  });

  it('with threads: 2, runs two batches at once, each worker with its own session', async () => {
    const pool = new ModelPool({ threads: 2, maxBatch: 1000, logSeverityLevel: 4 });
    await pool.load('slow', fixture('matmul-chain.onnx'));
    expect(pool.workerThreads.length).toBe(2);
    const runs = [pool.run('slow', slowFeeds(3000)), pool.run('slow', slowFeeds(3000))];
    expect(pool.stats().inFlight).toBe(2);
    const [a, b] = await Promise.all(runs);
    expect(Array.from(a!.y!.subarray(0, 256))).toEqual(Array.from(b!.y!.subarray(0, 256)));
    await pool.close();
  });

  it('checks its options, naming them', () => {
    expect(() => new ModelPool({ threads: -1 })).toThrow(/options\.threads/);
    expect(() => new ModelPool({ threads: 65 })).toThrow(/options\.threads/);
    expect(() => new ModelPool({ maxBatch: 1.5 })).toThrow(/options\.maxBatch/);
  });
});

describe('ModelPool inline (threads: 0)', () => {
  it('runs on the event loop with the results of a worker pool: batched, failures isolated, closable', async () => {
    const inline = new ModelPool({ threads: 0, maxBatch: 64, maxDelayMs: 5, logSeverityLevel: 4 });
    const workers = new ModelPool({ threads: 1, maxBatch: 64, maxDelayMs: 5, logSeverityLevel: 4 });
    try {
      expect(inline.workerThreads).toEqual([]);
      await inline.load('echo', fixture('echo.onnx'));
      await workers.load('echo', fixture('echo.onnx'));
      expect(inline.describe('echo')!.outputs.map((o) => o.name)).toEqual(['y', 'total']);
      const requests = Array.from({ length: 6 }, (_, k) => echoFeeds(1 + (k % 3), 50 * k));
      const [fromInline, fromWorkers] = await Promise.all([
        Promise.all(requests.map((f) => inline.run('echo', f))),
        Promise.all(requests.map((f) => workers.run('echo', f))),
      ]);
      requests.forEach((f, k) => {
        const want = echoExpected(f.x, f.id);
        expect(Array.from(fromInline[k]!.y!), `request ${k}`).toEqual(Array.from(want.y));
        expect(Array.from(fromInline[k]!.total!), `request ${k}`).toEqual(Array.from(fromWorkers[k]!.total!));
      });
      // The six concurrent requests went as one batch, as on a worker.
      expect(inline.stats()).toMatchObject({ runs: 1, rows: requests.reduce((n, f) => n + f.id.length, 0) });
      // A request the model fails on rejects alone, typed.
      const results = await Promise.allSettled([
        inline.run('echo', echoFeeds(2, 5)),
        inline.run('echo', { x: new Float32Array(4), id: new BigInt64Array([100n]) }),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
      expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(ModelError);
      expect(((results[1] as PromiseRejectedResult).reason as ModelError).code).toBe('ERR_KINDRED_MODEL_RUN');
      // A missing file is a load error, as with workers.
      await expectModelError(inline.load('missing', fixture('nope.onnx')), 'ERR_KINDRED_MODEL_LOAD');
    } finally {
      await inline.close();
      await workers.close();
    }
    await expect(inline.run('echo', echoFeeds(1, 0))).rejects.toBeInstanceOf(ClosedError);
  });

  it('inlineWhenIdle: a lone run goes inline, runs under load go to the workers, same results', async () => {
    const pool = new ModelPool({ threads: 1, inlineWhenIdle: true, maxBatch: 4, maxDelayMs: 0, logSeverityLevel: 4 });
    try {
      await pool.load('echo', fixture('echo.onnx'));
      await pool.load('slow', fixture('matmul-chain.onnx'));
      const feeds = echoFeeds(3, 9);
      const want = echoExpected(feeds.x, feeds.id);
      // One at a time: inline.
      for (let k = 0; k < 3; k++) expect(Array.from((await pool.run('echo', feeds)).y!)).toEqual(Array.from(want.y));
      expect(pool.stats()).toMatchObject({ runs: 3, inlineRuns: 3 });
      // While a slow run is in flight (inline, first), the next ones go to the worker.
      const slow = pool.run('slow', slowFeeds(2000));
      const busy = await Promise.all([0, 1, 2].map((k) => pool.run('echo', echoFeeds(4, 10 * k))));
      busy.forEach((out, k) => expect(Array.from(out.y!)).toEqual(Array.from(echoExpected(echoFeeds(4, 10 * k).x, echoFeeds(4, 10 * k).id).y)));
      await slow;
      const stats = pool.stats();
      expect(stats.runs).toBe(7);
      expect(stats.inlineRuns).toBeLessThan(7);
      expect(() => new ModelPool({ inlineWhenIdle: 'yes' as unknown as boolean })).toThrow(/options\.inlineWhenIdle/);
    } finally {
      await pool.close();
    }
  });
});
