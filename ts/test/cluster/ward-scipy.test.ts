/**
 * wardLinkage and cutTree against SciPy fixtures (tools/fixtures/ward_fixtures.py, SciPy 1.10):
 * the same merges exactly, heights within a relative 1e-9, and fcluster's labels.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { cutTree } from '../../src/cluster/cut-tree.js';
import { wardLinkage } from '../../src/cluster/ward-linkage.js';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { canonical } from '../reference/pinner-sage.js';

interface Fixture {
  name: string;
  n: number;
  dim: number;
  pointsF32: string;
  linkage: number[];
  cuts: Array<{ threshold: number; labels: number[] }>;
}

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'ward');
const fixtures: Fixture[] = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Fixture);

function points(f: Fixture): Float32Array {
  const bytes = Buffer.from(f.pointsF32, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

const HEIGHT_TOLERANCE = 1e-9;

describe('wardLinkage vs SciPy linkage(X, "ward")', () => {
  it('has fixtures', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(10);
  });

  it.each(fixtures.map((f) => [f.name, f] as const))('%s: same merges, heights within 1e-9', async (_, f) => {
    const x = points(f);
    expect(x).toHaveLength(f.n * f.dim);
    const z = await wardLinkage(x, { n: f.n, dim: f.dim });
    expect(z).toHaveLength(f.linkage.length);
    for (let r = 0; r < f.n - 1; r++) {
      const [a, b, h, size] = [z[r * 4]!, z[r * 4 + 1]!, z[r * 4 + 2]!, z[r * 4 + 3]!];
      const want = f.linkage.slice(r * 4, r * 4 + 4);
      const merge = `row ${r}: got [${a}, ${b}, ${h}, ${size}], SciPy [${want.join(', ')}]`;
      expect([a, b, size], merge).toEqual([want[0], want[1], want[3]]);
      expect(Math.abs(h - want[2]!) <= HEIGHT_TOLERANCE * Math.max(1, Math.abs(want[2]!)), merge).toBe(true);
    }
  });

  it.each(fixtures.map((f) => [f.name, f] as const))("%s: cutTree gives fcluster's labels", (_, f) => {
    // SciPy's own linkage as input, so that the cut is tested on its own.
    const z = Float64Array.from(f.linkage);
    for (const cut of f.cuts) {
      const labels = cutTree(z, { n: f.n, threshold: cut.threshold });
      expect(canonical(labels), `t = ${cut.threshold}`).toEqual(canonical(cut.labels));
      expect(Array.from(labels), `labels in SciPy's order at t = ${cut.threshold}`).toEqual(cut.labels);
    }
  });
});

describe('cutTree arguments', () => {
  const z = Float64Array.from([0, 1, 1, 2, 2, 3, 2, 3]);
  it('rejects a negative or NaN threshold, a wrong length and a malformed linkage', () => {
    expect(() => cutTree(z, { n: 3, threshold: -1 })).toThrow(InvalidArgumentError);
    expect(() => cutTree(z, { n: 3, threshold: NaN })).toThrow(/options\.threshold/);
    expect(() => cutTree(z, { n: 4, threshold: 1 })).toThrow(/linkage/);
    expect(() => cutTree(Float64Array.from([0, 0, 1, 2]), { n: 2, threshold: 1 })).toThrow(/linkage row 0: cluster 0 was already merged/);
    expect(() => cutTree([0, 1, 1, 2] as unknown as Float64Array, { n: 2, threshold: 1 })).toThrow(InvalidArgumentError);
  });
  it('cuts n = 0 and n = 1 without a linkage, and huge/zero thresholds', () => {
    expect(cutTree(new Float64Array(0), { n: 0, threshold: 0 })).toHaveLength(0);
    expect(Array.from(cutTree(new Float64Array(0), { n: 1, threshold: 0 }))).toEqual([1]);
    expect(Array.from(cutTree(z, { n: 3, threshold: Infinity }))).toEqual([1, 1, 1]);
    expect(new Set(cutTree(z, { n: 3, threshold: 0 })).size).toBe(3);
  });
});
