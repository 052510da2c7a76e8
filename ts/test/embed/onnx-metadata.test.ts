import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import { fnv1a32, hashBucket, parseHashing } from '../../src/embed/fnv1a.js';
import { loadModelMetadata, MalformedModelError, readOnnxMetadataProps, sidecarPath } from '../../src/embed/onnx-metadata.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/tiny-models/${name}`, import.meta.url));

describe('ONNX metadata', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'kindred-metadata-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('reads metadata_props, which onnxruntime-node does not expose', () => {
    const props = readOnnxMetadataProps(readFileSync(fixture('feature-tower.onnx')));
    expect(JSON.parse(props['kindred.contract']!)).toEqual({ kind: 'feature-tower', version: 1, dim: 64 });
    expect(JSON.parse(props['kindred.vocab']!)).toMatchObject({ country: 5, wants: 8 });
  });

  it('reads nothing from a model without metadata', () => {
    expect(readOnnxMetadataProps(readFileSync(fixture('echo.onnx')))).toEqual({});
  });

  it('rejects bytes that are not a protobuf message', () => {
    expect(() => readOnnxMetadataProps(readFileSync(fixture('corrupt.onnx')))).toThrow(MalformedModelError);
    expect(() => readOnnxMetadataProps(Uint8Array.of(0x0a, 0x7f, 1, 2))).toThrow(/runs past the end/);
  });

  it('lets a JSON sidecar add and override keys', async () => {
    const model = join(scratch, 'tower.onnx');
    copyFileSync(fixture('feature-tower.onnx'), model);
    expect(sidecarPath(model)).toBe(join(scratch, 'tower.json'));
    writeFileSync(join(scratch, 'tower.json'), JSON.stringify({ 'kindred.vocab': { country: 9 }, 'kindred.heads': [] }));
    const metadata = await loadModelMetadata(model);
    expect(JSON.parse(metadata['kindred.vocab']!)).toEqual({ country: 9 });
    expect(metadata['kindred.heads']).toBe('[]');
    expect(JSON.parse(metadata['kindred.contract']!).kind).toBe('feature-tower');
  });
});

describe('fnv1a32 hashing (same values as tools/models/hashing.py)', () => {
  it('hashes UTF-8 text like the Python side', () => {
    const expected: Record<string, number> = {
      '': 2166136261,
      '0': 890022063,
      '42': 2279835011,
      'user-7': 4082333262,
      'ñandú': 3029286091,
      '日本語': 2153733351,
    };
    for (const [text, hash] of Object.entries(expected)) expect(fnv1a32(text), text).toBe(hash);
  });

  it('buckets with a per-field shift', () => {
    const spec = parseHashing({ function: 'fnv1a32', buckets: 31, shift: { history_peer_hash: 11 } })!;
    expect(hashBucket(spec, 'history_peer_hash', 'bob')).toBe(13);
    expect(hashBucket(spec, 'unknown_field', 42)).toBe(2279835011 % 31);
    expect(parseHashing({ function: 'murmur', buckets: 3 })).toBeUndefined();
  });
});
