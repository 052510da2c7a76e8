/**
 * The shipped FwFM ranker takes its request-level inputs (user, context, history) with batch 1,
 * broadcast against batch-N candidates (models/CONTRACT.md): ONNX Runtime (Node) on those inputs
 * must give the PyTorch reference that tools/models/build.py computed on the rows expanded to batch
 * N, and the batch-1 and batch-N forms must agree on any request.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { defaultModelPath } from '../../src/embed/default-models.js';
import { seededRandom } from '../reference/random.js';

interface TensorJson {
  dtype: 'int64' | 'float32';
  dims: number[];
  data: number[];
}
interface Fixture {
  tolerance: { abs: number; rel: number };
  cases: { name: string; inputs: Record<string, TensorJson>; outputs: Record<string, TensorJson> }[];
}

const REQUEST_INPUTS = ['user_id', 'context_hour', 'context_device', 'history_item_ids', 'history_length'];
const root = fileURLToPath(new URL('../../../', import.meta.url));
const fixture = JSON.parse(readFileSync(`${root}ts/test/fixtures/models/fwfm-ranker.broadcast.json`, 'utf8')) as Fixture;

let session: ort.InferenceSession;
beforeAll(async () => {
  session = await ort.InferenceSession.create(defaultModelPath('fwfm-ranker'));
});
afterAll(async () => session?.release());

function tensor(t: TensorJson): ort.Tensor {
  return t.dtype === 'int64' ? new ort.Tensor('int64', BigInt64Array.from(t.data, (v) => BigInt(v)), t.dims) : new ort.Tensor('float32', Float32Array.from(t.data), t.dims);
}

describe('fwfm-ranker with batch-1 request inputs', () => {
  it('agrees with the PyTorch reference (computed at batch N) within tolerance', async () => {
    expect(fixture.cases.length).toBeGreaterThanOrEqual(3);
    for (const c of fixture.cases) {
      const n = c.inputs.item_id!.dims[0]!;
      for (const name of REQUEST_INPUTS) expect(c.inputs[name]!.dims[0], `${c.name}: ${name}`).toBe(1);
      const out = (await session.run(Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, tensor(v)])))).pctr!;
      const want = c.outputs.pctr!.data;
      expect(out.dims, c.name).toEqual([n]);
      expect(want.length, c.name).toBe(n);
      const got = out.data as Float32Array;
      for (let i = 0; i < n; i++) {
        expect(Math.abs(got[i]! - want[i]!), `${c.name}[${i}]`).toBeLessThanOrEqual(fixture.tolerance.abs + fixture.tolerance.rel * Math.abs(want[i]!));
      }
    }
    // The fixture really broadcasts (some case has more than one candidate).
    expect(Math.max(...fixture.cases.map((c) => c.inputs.item_id!.dims[0]!))).toBeGreaterThan(1);
  });

  it('gives the same scores with request inputs at batch 1 and repeated to batch N, on seeded random requests', async () => {
    const random = seededRandom(77);
    const id = () => BigInt(Math.floor(random() * 16384));
    for (let trial = 0; trial < 12; trial++) {
      const n = 1 + Math.floor(random() * 300);
      const seq = Math.floor(random() * 40); // seq 0 (no history column) included
      const length = BigInt(Math.floor(random() * (seq + 1)));
      const history = BigInt64Array.from({ length: seq }, id);
      const [user, hour, device] = [id(), id(), id()];
      const candidates = {
        item_id: new ort.Tensor('int64', BigInt64Array.from({ length: n }, id), [n]),
        item_category: new ort.Tensor('int64', BigInt64Array.from({ length: n }, id), [n]),
        item_author: new ort.Tensor('int64', BigInt64Array.from({ length: n }, id), [n]),
      };
      const request = (rows: number) => ({
        user_id: new ort.Tensor('int64', new BigInt64Array(rows).fill(user), [rows]),
        context_hour: new ort.Tensor('int64', new BigInt64Array(rows).fill(hour), [rows]),
        context_device: new ort.Tensor('int64', new BigInt64Array(rows).fill(device), [rows]),
        history_item_ids: new ort.Tensor('int64', BigInt64Array.from({ length: rows * seq }, (_, k) => history[k % seq]!), [rows, seq]),
        history_length: new ort.Tensor('int64', new BigInt64Array(rows).fill(length), [rows]),
      });
      const one = (await session.run({ ...candidates, ...request(1) })).pctr!.data as Float32Array;
      const full = (await session.run({ ...candidates, ...request(n) })).pctr!.data as Float32Array;
      expect(one.length).toBe(n);
      let worst = 0;
      for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(one[i]! - full[i]!));
      expect(worst, `trial ${trial}: n ${n}, seq ${seq}, length ${length}`).toBeLessThanOrEqual(1e-6);
      for (const p of one) expect(p > 0 && p < 1).toBe(true);
    }
  });
});
