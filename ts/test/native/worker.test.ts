import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { describe, expect, it } from 'vitest';

import { pairScores } from '../../src/match/pair-scores.js';
import { randomMatrix, seededRandom } from '../reference/random.js';

const addonPath = fileURLToPath(new URL('../../../build/Release/kindred.node', import.meta.url));
const workerFile = new URL('../fixtures/pair-scores-worker.mjs', import.meta.url);

function runInWorker(data: Record<string, unknown>): Promise<{ used: string; out: Float32Array; backends: string[] }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerFile, { workerData: data });
    worker.once('message', (message) => {
      resolve(message);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

describe.skipIf(!existsSync(addonPath))('the addon in worker_threads', () => {
  it('loads and computes in several workers at once, alongside the main thread', async () => {
    const random = seededRandom(3);
    const rows = 40;
    const cols = 50;
    const dim = 24;
    const a = randomMatrix(random, rows, dim);
    const b = randomMatrix(random, cols, dim);
    const expected = await pairScores(a, b, { rows, cols, dim, backend: 'portable' });
    const results = await Promise.all([
      runInWorker({ addonPath, a, b, rows, cols, dim, backend: 'portable' }),
      runInWorker({ addonPath, a, b, rows, cols, dim, backend: 'auto' }),
      pairScores(a, b, { rows, cols, dim }),
    ]);
    for (const r of results.slice(0, 2) as Array<{ out: Float32Array; backends: string[] }>) {
      expect(r.backends).toEqual(['cuda', 'blas', 'portable']);
      for (let i = 0; i < expected.length; i++) expect(Math.abs(r.out[i]! - expected[i]!)).toBeLessThan(1e-4);
    }
  });

  it('a worker that exits while a call runs does not take the process down', async () => {
    const random = seededRandom(4);
    const n = 1500;
    const a = randomMatrix(random, n, 128);
    const worker = new Worker(workerFile, { workerData: { addonPath, a, b: a, rows: n, cols: n, dim: 128, backend: 'portable' } });
    await new Promise((r) => setTimeout(r, 20));
    await worker.terminate();
    // The process is still here and the addon still works on the main thread.
    const small = await pairScores(Float32Array.of(1, 2), Float32Array.of(3, 4), { rows: 1, cols: 1, dim: 2 });
    expect(small[0]).toBe(11);
  });
});
