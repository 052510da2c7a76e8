import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

/**
 * The shipped default models (models/*.onnx) run under ONNX Runtime (Node) must give the PyTorch outputs that
 * tools/models/build.py wrote into ts/test/fixtures/models, and carry the kindred.* metadata of the model contract.
 */

const root = fileURLToPath(new URL('../../../', import.meta.url));
const MODELS = ['feature-tower', 'session-tower', 'fwfm-ranker'] as const;
const KINDS: Record<(typeof MODELS)[number], string> = {
  'feature-tower': 'feature-tower',
  'session-tower': 'session-tower',
  'fwfm-ranker': 'fwfm-ranker',
};

interface TensorJson {
  dtype: 'int64' | 'float32';
  dims: number[];
  data: number[];
}
interface Fixture {
  model: string;
  tolerance: { abs: number; rel: number };
  metadata: Record<string, string>;
  hashing: { field: string; value: string; fnv1a32: number; bucket: number }[];
  cases: { name: string; inputs: Record<string, TensorJson>; outputs: Record<string, TensorJson> }[];
}

function loadFixture(name: string): Fixture {
  return JSON.parse(readFileSync(join(root, 'ts/test/fixtures/models', `${name}.json`), 'utf8')) as Fixture;
}

function toTensor(t: TensorJson): ort.Tensor {
  if (t.dtype === 'int64') return new ort.Tensor('int64', BigInt64Array.from(t.data, (v) => BigInt(v)), t.dims);
  return new ort.Tensor('float32', Float32Array.from(t.data), t.dims);
}

/** FNV-1a 32-bit over UTF-8 bytes: the contract's hash, written independently of the Python builder. */
function fnv1a32(text: string): number {
  let h = 2166136261;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= byte;
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h >>> 0;
}

/**
 * ONNX Runtime for Node does not expose custom metadata, so read ModelProto.metadata_props (field 14, repeated
 * StringStringEntryProto { key = 1, value = 2 }) straight from the protobuf bytes. Only top-level fields are walked.
 */
function readMetadataProps(bytes: Uint8Array): Record<string, string> {
  const decoder = new TextDecoder();
  const readVarint = (buf: Uint8Array, pos: { at: number }): number => {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (pos.at >= buf.length) throw new Error('truncated varint');
      const byte = buf[pos.at++]!;
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return value;
      scale *= 128;
    }
  };
  const fields = (buf: Uint8Array, visit: (field: number, payload: Uint8Array) => void): void => {
    const pos = { at: 0 };
    while (pos.at < buf.length) {
      const tag = readVarint(buf, pos);
      const field = Math.floor(tag / 8);
      const wire = tag % 8;
      if (wire === 0) readVarint(buf, pos);
      else if (wire === 1) pos.at += 8;
      else if (wire === 5) pos.at += 4;
      else if (wire === 2) {
        const len = readVarint(buf, pos);
        visit(field, buf.subarray(pos.at, pos.at + len));
        pos.at += len;
      } else throw new Error(`unsupported wire type ${wire}`);
    }
  };
  const props: Record<string, string> = {};
  fields(bytes, (field, payload) => {
    if (field !== 14) return;
    let key = '';
    let value = '';
    fields(payload, (f, p) => {
      if (f === 1) key = decoder.decode(p);
      if (f === 2) value = decoder.decode(p);
    });
    props[key] = value;
  });
  return props;
}

describe.each(MODELS)('default model %s', (name) => {
  const fixture = loadFixture(name);
  const file = join(root, 'models', `${name}.onnx`);
  const metadata = readMetadataProps(new Uint8Array(readFileSync(file)));

  it('runs under ONNX Runtime and agrees with the PyTorch reference within tolerance', async () => {
    const session = await ort.InferenceSession.create(file);
    try {
      expect(fixture.cases.length).toBeGreaterThanOrEqual(2);
      for (const testCase of fixture.cases) {
        expect([...session.inputNames].sort()).toEqual(Object.keys(testCase.inputs).sort());
        const feeds = Object.fromEntries(Object.entries(testCase.inputs).map(([k, v]) => [k, toTensor(v)]));
        const results = await session.run(feeds);
        for (const [outName, expected] of Object.entries(testCase.outputs)) {
          const got = results[outName];
          expect(got, `${testCase.name}: output ${outName}`).toBeDefined();
          expect(got!.type).toBe('float32');
          expect(got!.dims).toEqual(expected.dims);
          const data = got!.data as Float32Array;
          let worst = 0;
          for (let i = 0; i < expected.data.length; i++) {
            const want = expected.data[i]!;
            const excess = Math.abs(data[i]! - want) - (fixture.tolerance.abs + fixture.tolerance.rel * Math.abs(want));
            worst = Math.max(worst, excess);
            expect(Number.isFinite(data[i]!)).toBe(true);
          }
          expect(worst, `${testCase.name}: ${outName} beyond tolerance`).toBe(0);
        }
      }
    } finally {
      await session.release();
    }
  });

  it('ignores history padding beyond history_length and answers each row as it does in a batch', async () => {
    const session = await ort.InferenceSession.create(file);
    try {
      const testCase = fixture.cases[0]!;
      const seqInputs = Object.entries(testCase.inputs).filter(([, t]) => t.dims.length === 2);
      const rows = testCase.inputs[Object.keys(testCase.inputs)[0]!]!.dims[0]!;
      // Widen every [batch, seq] input by 7 junk columns (in range for the tables), which must be masked out.
      const extra = 7;
      const feeds: Record<string, ort.Tensor> = {};
      for (const [k, t] of Object.entries(testCase.inputs)) {
        if (t.dims.length !== 2) {
          feeds[k] = toTensor(t);
          continue;
        }
        const seq = t.dims[1]!;
        const data: number[] = [];
        for (let r = 0; r < rows; r++) data.push(...t.data.slice(r * seq, (r + 1) * seq), ...new Array<number>(extra).fill(t.dtype === 'int64' ? 17 : 5.5));
        feeds[k] = toTensor({ dtype: t.dtype, dims: [rows, seq + extra], data });
      }
      const padded = seqInputs.length > 0 ? await session.run(feeds) : undefined;
      // The last row alone.
      const last = rows - 1;
      const alone = await session.run(
        Object.fromEntries(
          Object.entries(testCase.inputs).map(([k, t]) => {
            const size = t.data.length / rows;
            return [k, toTensor({ dtype: t.dtype, dims: [1, ...t.dims.slice(1)], data: t.data.slice(last * size, (last + 1) * size) })];
          }),
        ),
      );
      for (const [outName, expected] of Object.entries(testCase.outputs)) {
        const size = expected.data.length / rows;
        const close = (got: Float32Array, want: number[], what: string) => {
          for (let i = 0; i < want.length; i++) {
            expect(Math.abs(got[i]! - want[i]!), `${what}[${i}]`).toBeLessThanOrEqual(
              fixture.tolerance.abs + fixture.tolerance.rel * Math.abs(want[i]!),
            );
          }
        };
        if (padded) close(padded[outName]!.data as Float32Array, expected.data, `${outName} with padding`);
        close(alone[outName]!.data as Float32Array, expected.data.slice(last * size, (last + 1) * size), `${outName} alone`);
      }
    } finally {
      await session.release();
    }
  });

  it('declares dynamic batch (and seq) axes', async () => {
    const session = await ort.InferenceSession.create(file);
    try {
      for (const meta of session.inputMetadata) {
        expect(meta.isTensor).toBe(true);
        if (!meta.isTensor) continue;
        expect(meta.shape[0], meta.name).toBe('batch');
        if (meta.shape.length === 2) expect(meta.shape[1], meta.name).toBe('seq');
      }
      for (const meta of session.outputMetadata) {
        if (meta.isTensor) expect(meta.shape[0], meta.name).toBe('batch');
      }
    } finally {
      await session.release();
    }
  });

  it('carries the kindred.* metadata of the contract (the same as the fixture copy)', () => {
    expect(metadata).toEqual(fixture.metadata);
    const contract = JSON.parse(metadata['kindred.contract'] ?? 'null') as { kind: string; version: number };
    expect(contract.kind).toBe(KINDS[name]);
    expect(contract.version).toBe(1);
  });

  it('hashes like the Python builder (fnv1a32 + shift mod buckets)', () => {
    const hashing = JSON.parse(
      metadata['kindred.hashing'] ?? loadFixture('fwfm-ranker').metadata['kindred.hashing']!,
    ) as { function: string; buckets: number; shift: Record<string, number> };
    expect(hashing.function).toBe('fnv1a32');
    expect(fixture.hashing.length).toBeGreaterThan(0);
    for (const v of fixture.hashing) {
      expect(fnv1a32(v.value), `fnv1a32(${JSON.stringify(v.value)})`).toBe(v.fnv1a32);
      const shift = hashing.shift[v.field];
      expect(shift, v.field).toBeTypeOf('number');
      expect((fnv1a32(v.value) + shift!) % hashing.buckets, `${v.field}=${v.value}`).toBe(v.bucket);
    }
  });
});

describe('default model metadata details', () => {
  const meta = (name: string) => readMetadataProps(new Uint8Array(readFileSync(join(root, 'models', `${name}.onnx`))));

  it('feature tower: vocab sizes and match heads with a fitted exp transform', () => {
    const m = meta('feature-tower');
    const vocab = JSON.parse(m['kindred.vocab']!) as Record<string, number>;
    for (const field of ['country', 'language', 'gender', 'wants', 'age_bucket', 'device_language']) {
      expect(Number.isInteger(vocab[field]) && vocab[field]! > 0, field).toBe(true);
    }
    expect(vocab.gender).toBe(3);
    expect(vocab.wants).toBe(8);
    const heads = JSON.parse(m['kindred.heads']!) as {
      name: string;
      weight: number;
      transform: { kind: string; w: number; b: number };
      userProjection: number[] | null;
      peerProjection: number[] | null;
      dim: number;
    }[];
    const chat = heads.find((h) => h.name === 'chat_duration');
    expect(chat).toBeDefined();
    expect(chat!.transform.kind).toBe('exp');
    expect(chat!.transform.w).toBeGreaterThan(0);
    expect(Number.isFinite(chat!.transform.b)).toBe(true);
    expect(chat!.dim).toBe(64);
    for (const h of heads) {
      expect(h.weight).toBeGreaterThan(0);
      for (const p of [h.userProjection, h.peerProjection]) {
        if (p === null) expect(h.dim).toBe(64);
        else {
          expect(p.length).toBe(64 * h.dim);
          expect(p.every(Number.isFinite)).toBe(true);
        }
      }
    }
  });

  it('session tower: max history 128 and a user hash table', () => {
    const m = meta('session-tower');
    expect(m['kindred.max_history']).toBe('128');
    const hashing = JSON.parse(m['kindred.hashing']!) as { buckets: number; shift: Record<string, number> };
    expect(Object.keys(hashing.shift).sort()).toEqual(['history_peer_hash', 'user_hash']);
    expect(hashing.buckets).toBeGreaterThan(0);
  });

  it('ranker: the history field shares the item table (same shift)', () => {
    const hashing = JSON.parse(meta('fwfm-ranker')['kindred.hashing']!) as { buckets: number; shift: Record<string, number> };
    expect(hashing.shift.history_item_ids).toBe(hashing.shift.item_id);
    for (const f of ['user_id', 'item_id', 'item_category', 'item_author', 'context_hour', 'context_device']) {
      expect(hashing.shift[f], f).toBeTypeOf('number');
    }
  });

  it('models/ stays under 10 MB', () => {
    const total = (dir: string): number =>
      readdirSync(dir).reduce((sum, f) => {
        const p = join(dir, f);
        const s = statSync(p);
        return sum + (s.isDirectory() ? total(p) : s.size);
      }, 0);
    expect(total(join(root, 'models'))).toBeLessThan(10 * 1024 * 1024);
  });
});
