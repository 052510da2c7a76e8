/**
 * Retrieval benchmark (issue 6): ExactIndex (GEMM + native top-k) and HnswIndex (usearch) on the
 * same seeded items, dim 64, cosine: build time, query time for one PinnerSage request (5 anchors ×
 * k = 100), recall@100 of HNSW against the exact answer, and AnchorCache's hit path against its miss
 * path (a miss runs the search; a hit only merges cached lists).
 *
 *   npm run bench:retrieval                   # 100k (both) and 1M (Exact; HNSW build estimated)
 *   npm run bench:retrieval -- 100000 --hnsw-1m   # also build HNSW at 1M (minutes on 2 cores)
 *
 * Items: a mixture of 1,000 Gaussian clusters (like item embeddings: dense neighbourhoods), anchors
 * are items of the index (as PinnerSage medoids are).
 */

import { AnchorCache, ExactIndex, HnswIndex, type Anchor, type ItemIndex } from '../ts/src/index.js';
import { machineLine, p50 } from './machine.js';

const DIM = 64;
const K = 100;
const ANCHORS = 5;
const RECALL_REQUESTS = 40; // 200 anchors

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function makeItems(n: number, seed: number): Float32Array {
  const random = rng(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const centres = Array.from({ length: 1000 }, () => Float32Array.from({ length: DIM }, gaussian));
  const x = new Float32Array(n * DIM);
  for (let i = 0; i < n; i++) {
    const c = centres[Math.floor(random() * centres.length)]!;
    for (let k = 0; k < DIM; k++) x[i * DIM + k] = c[k]! + 0.5 * gaussian();
  }
  return x;
}

function anchorsOf(items: Float32Array, n: number, request: number): Anchor[] {
  const random = rng(1000 + request);
  return Array.from({ length: ANCHORS }, (_, a) => {
    const row = Math.floor(random() * n);
    return { itemId: row, vector: items.slice(row * DIM, (row + 1) * DIM), importance: ANCHORS - a };
  });
}

function queriesOf(anchors: readonly Anchor[]): Float32Array {
  const q = new Float32Array(anchors.length * DIM);
  anchors.forEach((a, i) => q.set(a.vector, i * DIM));
  return q;
}

function timed<T>(fn: () => T): [T, number] {
  const t0 = performance.now();
  const value = fn();
  return [value, performance.now() - t0];
}

const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 10 ? `${ms.toFixed(1)} ms` : `${ms.toFixed(3)} ms`);

async function recall(exact: ItemIndex, hnsw: ItemIndex, items: Float32Array, n: number): Promise<Recall> {
  let sum = 0;
  let poor = 0;
  let min = 1;
  let count = 0;
  for (let r = 0; r < RECALL_REQUESTS; r++) {
    const q = queriesOf(anchorsOf(items, n, 5000 + r));
    const [truth, approx] = await Promise.all([exact.search(q, K), hnsw.search(q, K)]);
    for (let a = 0; a < ANCHORS; a++) {
      const want = new Set(truth[a]!.map((h) => h.id));
      const got = approx[a]!.filter((h) => want.has(h.id)).length / want.size;
      sum += got;
      min = Math.min(min, got);
      if (got < 0.9) poor++;
      count++;
    }
  }
  return { mean: sum / count, min, poor, count };
}

async function cachePaths(index: ItemIndex, items: Float32Array, n: number): Promise<{ hit: number; miss: number }> {
  const cache = new AnchorCache(index, { maxEntries: 50_000, ttlMs: 300_000 });
  const anchors = anchorsOf(items, n, 1);
  const exclude = new Set(Array.from({ length: 200 }, (_, i) => i * 7)); // a 200-item history
  const miss = await p50(async () => {
    cache.clear();
    await cache.retrieve(anchors, K, { exclude });
  }, 30);
  await cache.retrieve(anchors, K, { exclude });
  const hit = await p50(() => cache.retrieve(anchors, K, { exclude }), 300);
  const s = cache.stats();
  if (s.hits === 0 || s.misses === 0) throw new Error(`the cache paths were not exercised: ${JSON.stringify(s)}`);
  return { hit, miss };
}

interface Recall {
  mean: number;
  min: number;
  /** Anchors with recall below 0.9. */
  poor: number;
  count: number;
}

interface Row {
  n: number;
  name: string;
  buildMs: number | undefined;
  queryMs: number | undefined;
  recall?: Recall;
  cache?: { hit: number; miss: number };
  note?: string;
}

async function benchSize(n: number, buildHnsw: boolean, hnswRate: { perItemMs?: number }): Promise<Row[]> {
  const [items, genMs] = timed(() => makeItems(n, 42 + n));
  const ids = Array.from({ length: n }, (_, i) => i);
  console.log(`  n = ${n}: items generated in ${fmt(genMs)}`);
  const exact = new ExactIndex({ dim: DIM, metric: 'cos', initialCapacity: n });
  const [, exactBuild] = timed(() => exact.add(ids, items));
  const request = queriesOf(anchorsOf(items, n, 1));
  const exactQuery = await p50(() => exact.search(request, K), n >= 1_000_000 ? 15 : 50);
  const exactCache = await cachePaths(exact, items, n);
  const rows: Row[] = [{ n, name: 'ExactIndex', buildMs: exactBuild, queryMs: exactQuery, cache: exactCache }];
  console.log(`    ExactIndex: add ${fmt(exactBuild)}, query ${fmt(exactQuery)}`);
  if (!buildHnsw) {
    const perItem = hnswRate.perItemMs;
    // HNSW insertion costs ~ log n per item: scale the measured rate by log(n)/log(n_measured).
    const estimate = perItem === undefined ? undefined : perItem * n * (Math.log(n) / Math.log(100_000));
    rows.push({
      n,
      name: 'HnswIndex',
      buildMs: undefined,
      queryMs: undefined,
      note: `not built: ~${estimate === undefined ? '?' : fmt(estimate)} estimated from the 100k build rate (run with --hnsw-1m to build it)`,
    });
    return rows;
  }
  const hnsw = new HnswIndex({ dim: DIM, metric: 'cos' });
  // Build in chunks so that progress shows (usearch builds on the calling thread, on its own threads).
  const chunk = 50_000;
  const t0 = performance.now();
  for (let start = 0; start < n; start += chunk) {
    const end = Math.min(n, start + chunk);
    hnsw.add(ids.slice(start, end), items.subarray(start * DIM, end * DIM));
  }
  const hnswBuild = performance.now() - t0;
  hnswRate.perItemMs ??= hnswBuild / n;
  const hnswQuery = await p50(() => hnsw.search(request, K), 50);
  console.log(`    HnswIndex: add ${fmt(hnswBuild)}, query ${fmt(hnswQuery)}`);
  const r = await recall(exact, hnsw, items, n);
  const hnswCache = await cachePaths(hnsw, items, n);
  rows.push({ n, name: 'HnswIndex (M 16, efAdd 128, efSearch 64)', buildMs: hnswBuild, queryMs: hnswQuery, recall: r, cache: hnswCache });
  return rows;
}

async function main() {
  const args = process.argv.slice(2);
  const hnsw1m = args.includes('--hnsw-1m');
  const sizes = args.map(Number).filter((v) => Number.isInteger(v) && v > 0);
  console.log(`retrieval benchmark — ${machineLine()}`);
  console.log(`  dim ${DIM}, cosine, one request = ${ANCHORS} anchors × k = ${K}; p50 of tinybench iterations; recall over ${RECALL_REQUESTS * ANCHORS} anchors`);
  const rate: { perItemMs?: number } = {};
  const rows: Row[] = [];
  for (const n of sizes.length > 0 ? sizes : [100_000, 1_000_000]) {
    rows.push(...(await benchSize(n, n <= 100_000 || hnsw1m, rate)));
  }
  console.log('\n| items | index | build | query (5 anchors × k=100) | recall@100 vs Exact (mean, worst anchor, anchors < 0.9) | AnchorCache miss | AnchorCache hit | miss / hit |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    if (r.queryMs === undefined) {
      console.log(`| ${r.n} | ${r.name} | ${r.note} | | | | | |`);
      continue;
    }
    const exactSame = rows.find((x) => x.n === r.n && x.name === 'ExactIndex');
    const speed = exactSame?.queryMs !== undefined && r !== exactSame ? ` (${(exactSame.queryMs / r.queryMs).toFixed(0)}× faster than Exact)` : '';
    console.log(
      `| ${r.n} | ${r.name} | ${r.buildMs === undefined ? '—' : fmt(r.buildMs)} | ${fmt(r.queryMs)}${speed} | ` +
        `${r.recall === undefined ? '1 (exact)' : `${r.recall.mean.toFixed(4)}, ${r.recall.min.toFixed(2)}, ${r.recall.poor}/${r.recall.count}`} | ` +
        `${r.cache === undefined ? '' : fmt(r.cache.miss)} | ${r.cache === undefined ? '' : fmt(r.cache.hit)} | ${r.cache === undefined ? '' : `${(r.cache.miss / r.cache.hit).toFixed(0)}×`} |`,
    );
  }
}

await main();
