/**
 * pinnerSage and the medoids piece against naive TypeScript references (medoid and importance by
 * definition), plus anchor order, false positives, duplicates, argument checks and cancellation.
 */
import { describe, expect, it } from 'vitest';

import { cutTree } from '../../src/cluster/cut-tree.js';
import { medoids } from '../../src/cluster/medoids.js';
import { pinnerSage } from '../../src/cluster/pinner-sage.js';
import { wardLinkage } from '../../src/cluster/ward-linkage.js';
import { AbortError, InvalidArgumentError } from '../../src/core/errors.js';
import { canonical, naiveImportance, naiveMedoids } from '../reference/pinner-sage.js';
import { seededRandom } from '../reference/random.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 0, 1);

/** A history of `n` rows around `topics` centres in `dim` dimensions, with ages up to 200 days. */
function history(seed: number, n: number, dim: number, topics: number) {
  const random = seededRandom(seed);
  const centres = Array.from({ length: topics }, () => Array.from({ length: dim }, () => (random() * 2 - 1) * 3));
  const embeddings = new Float32Array(n * dim);
  const timestamps = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = centres[Math.floor(random() * topics)]!;
    for (let k = 0; k < dim; k++) embeddings[i * dim + k] = c[k]! + (random() * 2 - 1) * 0.4;
    timestamps[i] = NOW - Math.floor(random() * 200 * DAY);
  }
  return { embeddings, timestamps, itemIds: Array.from({ length: n }, (_, i) => `item-${i}`) };
}

async function expectInvalid(promise: Promise<unknown>, argument: string | RegExp) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InvalidArgumentError);
  expect((error as InvalidArgumentError).argument).toMatch(argument);
}

describe('pinnerSage', () => {
  it.each([
    [1, 60, 16, 4, 2.0],
    [2, 150, 32, 6, 3.0],
    [3, 40, 8, 3, 0.5],
    [4, 90, 64, 5, 1e9],
  ])('seed %i (n %i, dim %i, %i topics, t %d): clusters, medoids, importance and anchors match the references', async (seed, n, dim, topics, threshold) => {
    const { embeddings, timestamps, itemIds } = history(seed, n, dim, topics);
    const result = await pinnerSage({ embeddings, n, dim, timestamps, now: NOW, itemIds, threshold });
    const labels = cutTree(await wardLinkage(embeddings, { n, dim }), { n, threshold });
    const k = Math.max(...labels);
    expect(result.clusters).toHaveLength(k);
    // The partition: each cluster's members are exactly one cut label's rows.
    const fromResult = new Array<number>(n);
    result.clusters.forEach((c, ci) => c.members.forEach((row) => (fromResult[row] = ci)));
    expect(canonical(fromResult)).toEqual(canonical(labels));
    const ages = Array.from(timestamps, (t) => (NOW - t) / DAY);
    const wantMedoids = naiveMedoids(embeddings, dim, labels);
    const wantImportance = naiveImportance(labels, ages, 0.01);
    for (const c of result.clusters) {
      const label = labels[c.members[0]!]!;
      expect(c.medoid).toBe(wantMedoids[label - 1]);
      expect(c.itemId).toBe(`item-${c.medoid}`);
      expect(c.size).toBe(c.members.length);
      expect(c.members).toEqual([...c.members].sort((a, b) => a - b));
      expect(Math.abs(c.importance - wantImportance[label - 1]!)).toBeLessThan(1e-12);
    }
    // Most important first; anchors are the first three clusters.
    for (let i = 1; i < k; i++) expect(result.clusters[i - 1]!.importance).toBeGreaterThanOrEqual(result.clusters[i]!.importance);
    expect(result.anchors).toEqual(
      result.clusters.slice(0, 3).map(({ medoid, itemId, importance }) => ({ medoid, itemId, importance })),
    );
    expect(result.falsePositives).toEqual([]);
    expect(result.linkage).toHaveLength((n - 1) * 4);
  });

  it('excludes short-dwell rows as false positives and clusters the rest as if they were absent', async () => {
    const n = 50;
    const dim = 12;
    const { embeddings, timestamps } = history(9, n, dim, 4);
    const dwellMs = Array.from({ length: n }, (_, i) => (i % 7 === 3 ? 500 : 20_000));
    const result = await pinnerSage({ embeddings, n, dim, timestamps, now: NOW, threshold: 2, dwellMs, minDwellMs: 1000 });
    const fp = Array.from({ length: n }, (_, i) => i).filter((i) => i % 7 === 3);
    expect(result.falsePositives).toEqual(fp);
    const kept = Array.from({ length: n }, (_, i) => i).filter((i) => i % 7 !== 3);
    for (const c of result.clusters) for (const row of c.members) expect(fp).not.toContain(row);
    expect(result.clusters.reduce((s, c) => s + c.size, 0)).toBe(kept.length);
    // The same as clustering only the kept rows (mapped back to rows of the full history).
    const sub = new Float32Array(kept.length * dim);
    kept.forEach((row, i) => sub.set(embeddings.subarray(row * dim, (row + 1) * dim), i * dim));
    const alone = await pinnerSage({
      embeddings: sub,
      n: kept.length,
      dim,
      timestamps: kept.map((row) => timestamps[row]!),
      now: NOW,
      threshold: 2,
    });
    expect(result.clusters.map((c) => c.members)).toEqual(alone.clusters.map((c) => c.members.map((i) => kept[i]!)));
    expect(Array.from(result.linkage)).toEqual(Array.from(alone.linkage));
  });

  it('handles the same item engaged twice deterministically', async () => {
    // Rows 0 and 3 are the same item (identical embeddings); row 1 and 2 a second topic.
    const embeddings = Float32Array.from([1, 1, 9, 9, 9.2, 9.1, 1, 1, 1.1, 0.9]);
    const timestamps = [NOW - DAY, NOW - 2 * DAY, NOW - 3 * DAY, NOW, NOW - 10 * DAY];
    const itemIds = ['a', 'b', 'c', 'a', 'd'];
    const run = () => pinnerSage({ embeddings, n: 5, dim: 2, timestamps, now: NOW, itemIds, threshold: 1 });
    const result = await run();
    expect(result.clusters.map((c) => c.members)).toEqual([[0, 3, 4], [1, 2]]);
    // Rows 0 and 3 tie on the distance sum: the lower row is the medoid.
    expect(result.clusters[0]!.medoid).toBe(0);
    expect(result.clusters[0]!.itemId).toBe('a');
    // Both engagements count.
    expect(result.clusters[0]!.importance).toBeCloseTo(Math.exp(-0.01) + 1 + Math.exp(-0.1), 12);
    // A 2-member cluster: the larger norm (row 2).
    expect(result.clusters[1]!.medoid).toBe(2);
    expect(await run()).toEqual(result);
  });

  it('orders anchors by importance, then by the lower medoid row, and honours maxAnchors', async () => {
    // Five far-apart singletons engaged at the same time: equal importance everywhere.
    const embeddings = Float32Array.from([40, 0, 30, 0, 20, 0, 10, 0, 0, 0]);
    const timestamps = new Float64Array(5).fill(NOW - 5 * DAY);
    const result = await pinnerSage({ embeddings, n: 5, dim: 2, timestamps, now: NOW, threshold: 1, maxAnchors: 4 });
    expect(result.anchors.map((a) => a.medoid)).toEqual([0, 1, 2, 3]);
    expect(result.anchors[0]!.itemId).toBeUndefined();
    // Make row 4 the most recent: it leads.
    timestamps[4] = NOW;
    const again = await pinnerSage({ embeddings, n: 5, dim: 2, timestamps, now: NOW, threshold: 1, maxAnchors: 2, lambdaPerDay: 0.5 });
    expect(again.anchors.map((a) => a.medoid)).toEqual([4, 0]);
    expect(again.anchors[0]!.importance).toBe(1);
    expect(again.anchors[1]!.importance).toBeCloseTo(Math.exp(-2.5), 14);
  });

  it('returns an empty result for n = 0 and when every row is a false positive', async () => {
    const empty = await pinnerSage({ embeddings: new Float32Array(0), n: 0, dim: 8, timestamps: [], now: NOW, threshold: 1 });
    expect(empty).toEqual({ clusters: [], anchors: [], falsePositives: [], linkage: new Float64Array(0) });
    const allFp = await pinnerSage({
      embeddings: new Float32Array(4),
      n: 2,
      dim: 2,
      timestamps: [NOW, NOW],
      now: NOW,
      threshold: 1,
      dwellMs: [1, 2],
      minDwellMs: 10,
    });
    expect(allFp.falsePositives).toEqual([0, 1]);
    expect(allFp.clusters).toEqual([]);
  });

  it('names the bad argument', async () => {
    const base = { embeddings: new Float32Array(6), n: 3, dim: 2, timestamps: [NOW, NOW, NOW], now: NOW, threshold: 1 };
    await expectInvalid(pinnerSage({ ...base, embeddings: Float32Array.from([0, 0, NaN, 0, 0, 0]) }), 'options.embeddings');
    await expectInvalid(pinnerSage({ ...base, embeddings: new Float32Array(5) }), 'options.embeddings');
    await expectInvalid(pinnerSage({ ...base, timestamps: [NOW, NOW] }), 'options.timestamps');
    await expectInvalid(pinnerSage({ ...base, timestamps: [NOW, NOW + 1, NOW] }), 'options.timestamps[1]');
    await expectInvalid(pinnerSage({ ...base, timestamps: [NOW, NaN, NOW] }), 'options.timestamps[1]');
    await expectInvalid(pinnerSage({ ...base, threshold: -0.5 }), 'options.threshold');
    await expectInvalid(pinnerSage({ ...base, threshold: NaN }), 'options.threshold');
    await expectInvalid(pinnerSage({ ...base, lambdaPerDay: -1 }), 'options.lambdaPerDay');
    await expectInvalid(pinnerSage({ ...base, maxAnchors: 1.5 }), 'options.maxAnchors');
    await expectInvalid(pinnerSage({ ...base, itemIds: ['a'] }), 'options.itemIds');
    await expectInvalid(pinnerSage({ ...base, minDwellMs: 100 }), 'options.dwellMs');
    await expectInvalid(pinnerSage({ ...base, dwellMs: [1, -1, 1] }), 'options.dwellMs[1]');
    await expectInvalid(pinnerSage({ ...base, n: 30_000, embeddings: new Float32Array(60_000) }), 'options.n');
    await expectInvalid(pinnerSage({ ...base, now: Number.POSITIVE_INFINITY }), 'options.now');
    await expectInvalid(pinnerSage(undefined as never), 'options');
  });

  it('rejects with AbortError when the signal aborts, before or during the work', async () => {
    const { embeddings, timestamps } = history(5, 3000, 16, 8);
    const before = new AbortController();
    before.abort(new Error('stop'));
    await expect(
      pinnerSage({ embeddings, n: 3000, dim: 16, timestamps, now: NOW, threshold: 1, signal: before.signal }),
    ).rejects.toBeInstanceOf(AbortError);
    const during = new AbortController();
    const call = pinnerSage({ embeddings, n: 3000, dim: 16, timestamps, now: NOW, threshold: 1, signal: during.signal });
    setTimeout(() => during.abort(), 5);
    await expect(call).rejects.toBeInstanceOf(AbortError);
  });
});

describe('medoids', () => {
  it('matches the naive medoids for random cuts and checks its labels', async () => {
    const n = 120;
    const dim = 10;
    const { embeddings } = history(21, n, dim, 5);
    const z = await wardLinkage(embeddings, { n, dim });
    for (const threshold of [0, 0.8, 2, 5, 1e9]) {
      const labels = cutTree(z, { n, threshold });
      expect(Array.from(await medoids(embeddings, labels, { n, dim }))).toEqual(naiveMedoids(embeddings, dim, labels));
    }
    await expectInvalid(medoids(embeddings, new Int32Array(n).fill(2), { n, dim }), 'labels');
    await expectInvalid(medoids(embeddings, new Int32Array(n), { n, dim }), 'labels[0]');
    await expectInvalid(medoids(embeddings, new Int32Array(3), { n, dim }), 'labels');
  });
});

describe('wardLinkage arguments', () => {
  it('names the bad argument and aborts', async () => {
    await expectInvalid(wardLinkage(new Float32Array(5), { n: 3, dim: 2 }), 'embeddings');
    await expectInvalid(wardLinkage(Float32Array.from([1, Infinity]), { n: 1, dim: 2 }), 'embeddings');
    await expectInvalid(wardLinkage(new Float32Array(0), { n: -1, dim: 2 }), 'options.n');
    await expectInvalid(wardLinkage(new Float64Array(4) as unknown as Float32Array, { n: 2, dim: 2 }), 'embeddings');
    const controller = new AbortController();
    controller.abort();
    await expect(wardLinkage(new Float32Array(4), { n: 2, dim: 2, signal: controller.signal })).rejects.toBeInstanceOf(AbortError);
    expect(await wardLinkage(new Float32Array(0), { n: 0, dim: 3 })).toHaveLength(0);
    expect(await wardLinkage(new Float32Array(3), { n: 1, dim: 3 })).toHaveLength(0);
  });
});
