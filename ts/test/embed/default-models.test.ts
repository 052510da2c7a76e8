/**
 * The shipped models (models/*.onnx) through the ModelPool: every parity case of the model
 * builder (ts/test/fixtures/models/*.json) run alone and all at once (micro-batched, split back),
 * and the session tower's padding (which lets users of similar history lengths share a batch)
 * changes nothing. Skipped, with the reason, until the models are built.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ModelFeeds, ModelInput } from '../../src/embed/model-contract.js';
import { ModelPool } from '../../src/embed/model-pool.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const models = ['feature-tower', 'session-tower', 'fwfm-ranker'] as const;

interface TensorJson {
  dtype: 'int64' | 'float32';
  dims: number[];
  data: number[];
}
interface ParityCase {
  name: string;
  inputs: Record<string, TensorJson>;
  outputs: Record<string, TensorJson>;
}

function feedsOf(c: ParityCase): ModelFeeds {
  const feeds: Record<string, ModelInput> = {};
  for (const [name, t] of Object.entries(c.inputs)) {
    const data = t.dtype === 'int64' ? BigInt64Array.from(t.data, (v) => BigInt(v)) : Float32Array.from(t.data);
    feeds[name] = { data, dims: t.dims };
  }
  return feeds;
}

function expectOutputs(actual: Record<string, Float32Array>, c: ParityCase, tolerance: { abs: number; rel: number }, what: string) {
  for (const [name, t] of Object.entries(c.outputs)) {
    const out = actual[name]!;
    expect(out.length, `${what} ${name}`).toBe(t.data.length);
    for (let i = 0; i < t.data.length; i++) {
      const want = t.data[i]!;
      expect(Math.abs(out[i]! - want), `${what} ${name}[${i}]`).toBeLessThanOrEqual(tolerance.abs + tolerance.rel * Math.abs(want));
    }
  }
}

describe('shipped models through the ModelPool', () => {
  it('ships every default model and its fixture', () => {
    for (const m of models) {
      expect(existsSync(`${root}models/${m}.onnx`), `models/${m}.onnx`).toBe(true);
      expect(existsSync(`${root}ts/test/fixtures/models/${m}.json`), `fixture ${m}`).toBe(true);
    }
  });

  let pool: ModelPool;
  beforeAll(async () => {
    pool = new ModelPool({ maxDelayMs: 10 });
    for (const m of models) await pool.load(m, `${root}models/${m}.onnx`);
  });
  afterAll(async () => pool?.close());

  for (const m of models) {
    it(`${m}: parity cases alone and micro-batched together`, async () => {
      const fixture = JSON.parse(readFileSync(`${root}ts/test/fixtures/models/${m}.json`, 'utf8')) as {
        tolerance: { abs: number; rel: number };
        cases: ParityCase[];
      };
      for (const c of fixture.cases) expectOutputs(await pool.run(m, feedsOf(c)), c, fixture.tolerance, `${m} / ${c.name} (alone)`);
      const runs = pool.stats().runs;
      const together = await Promise.all(fixture.cases.map((c) => pool.run(m, feedsOf(c))));
      together.forEach((out, k) => expectOutputs(out, fixture.cases[k]!, fixture.tolerance, `${m} / ${fixture.cases[k]!.name} (batched)`));
      expect(pool.stats().runs - runs).toBeLessThanOrEqual(fixture.cases.length);
    });
  }

  it('session-tower: padding past history_length does not change the embedding', async () => {
    const one = (seq: number, length: number) => {
      const peers = new BigInt64Array(seq);
      const durations = new Float32Array(seq);
      for (let t = 0; t < length; t++) {
        peers[t] = BigInt(17 * t + 5);
        durations[t] = Math.log1p(10 * t + 3);
      }
      const ids = (v: number) => BigInt64Array.of(BigInt(v));
      return pool.run('session-tower', {
        user_hash: ids(42),
        country: ids(1),
        language: ids(1),
        gender: ids(0),
        wants: ids(2),
        age_bucket: ids(2),
        device_language: ids(1),
        account_age_days: Float32Array.of(30),
        recent_reports: Float32Array.of(0),
        history_peer_hash: { data: peers, dims: [1, seq] },
        history_log_duration: { data: durations, dims: [1, seq] },
        history_length: ids(length),
      });
    };
    const exact = await one(5, 5);
    const padded = await one(8, 5);
    for (const side of ['user', 'peer']) {
      for (let i = 0; i < 64; i++) expect(Math.abs(padded[side]![i]! - exact[side]![i]!), `${side}[${i}]`).toBeLessThan(1e-4);
    }
  });
});

