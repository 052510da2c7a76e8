/**
 * Embedding benchmark (issue 5), all in one run on the default models (defaultModelPath):
 *
 * 1. Feature tower vectors/s at batch 1, 64 and 1024: FeatureTower through the ModelPool (one
 *    worker thread; with the default micro-batching wait maxDelayMs 2, and with 0) against an onnxruntime-node InferenceSession on the main thread (same model,
 *    same ORT options: 1 intra-op and 1 inter-op thread, graph optimisation 'all'). Batch 1 is also
 *    run as 64 concurrent single-user requests, which the pool micro-batches.
 * 2. Session tower sequences/s at history 16, 64 and 128: SessionTower.update × N then flush()
 *    (pool, micro-batched, results written to an InProcessEmbeddingMemory) against a main-thread
 *    session running the same feeds one sequence at a time.
 * 3. EmbeddingMemory get/getMany/put ops/s: InProcessEmbeddingMemory and RedisEmbeddingMemory on a
 *    local redis-server started here (skipped with a message when /usr/bin/redis-server is absent).
 *
 *   npm run bench:embed
 */
import { existsSync } from 'node:fs';

import ort from 'onnxruntime-node';

import {
  defaultModelPath,
  FeatureTower,
  InProcessEmbeddingMemory,
  ModelPool,
  RedisEmbeddingMemory,
  SessionTower,
  type EmbeddingMemory,
  type HistoryEntry,
  type UserSideInfo,
} from '../ts/src/index.js';
import { sideInfoFeeds } from '../ts/src/embed/side-info.js';
import { RedisServer } from '../ts/test/store/redis-server.js';
import { machineLine, p50, repoFile } from './machine.js';

/**
 * defaultModelPath(name), or the repository's models/ when the compiled bench (build/js/ts/src/embed)
 * sits where defaultModelsDir() does not look.
 */
function modelPath(name: 'feature-tower' | 'session-tower'): string {
  const path = defaultModelPath(name);
  return existsSync(path) ? path : repoFile(`models/${name}.onnx`);
}

const REDIS = '/usr/bin/redis-server';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function makeUsers(count: number, vocab: FeatureTower['vocab'], seed: number): UserSideInfo[] {
  const random = rng(seed);
  const pick = (size: number | undefined, fallback: number) => Math.floor(random() * (size ?? fallback));
  return Array.from({ length: count }, () => ({
    country: pick(vocab.country, 10),
    language: pick(vocab.language, 4),
    gender: pick(vocab.gender, 3),
    wants: 1 + pick((vocab.wants ?? 8) - 1, 7),
    ageBucket: pick(vocab.age_bucket, 7),
    deviceLanguage: pick(vocab.device_language, 4),
    accountAgeDays: Math.floor(random() * 900),
    recentReports: random() < 0.05 ? 1 : 0,
  }));
}

function tensors(feeds: Record<string, BigInt64Array | Float32Array>, dims: Record<string, number[]>): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  for (const [name, data] of Object.entries(feeds)) {
    const shape = dims[name] ?? [data.length];
    out[name] = data instanceof BigInt64Array ? new ort.Tensor('int64', data, shape) : new ort.Tensor('float32', data, shape);
  }
  return out;
}

const rate = (perSec: number) =>
  perSec >= 1e6 ? `${(perSec / 1e6).toFixed(2)} M/s` : perSec >= 1e3 ? `${(perSec / 1e3).toFixed(1)} k/s` : `${perSec.toFixed(0)} /s`;

async function featureTower(pool: ModelPool, eager: ModelPool, main: ort.InferenceSession) {
  const tower = new FeatureTower(pool);
  const eagerTower = new FeatureTower(eager);
  console.log('\nFeature tower (vectors/s = users embedded per second; user and peer vectors of dim 64 each):');
  console.log('| batch | pool (1 worker, maxDelayMs 2) | pool (maxDelayMs 0) | main-thread ORT | pool / main | pool maxDelayMs 0 / main |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const batch of [1, 64, 1024]) {
    const users = makeUsers(batch, tower.vocab, 7 + batch);
    const iterations = batch === 1 ? 300 : batch === 64 ? 100 : 30;
    const poolMs = await p50(() => tower.embed(users), iterations);
    const eagerMs = await p50(() => eagerTower.embed(users), iterations);
    const mainMs = await p50(() => main.run(tensors(sideInfoFeeds(users, tower.vocab), {})), iterations);
    const poolRate = (batch / poolMs) * 1000;
    const mainRate = (batch / mainMs) * 1000;
    console.log(
      `| ${batch} (one call at a time) | ${rate(poolRate)} (${poolMs.toFixed(3)} ms/call) | ${rate((batch / eagerMs) * 1000)} (${eagerMs.toFixed(3)} ms/call) | ` +
        `${rate(mainRate)} (${mainMs.toFixed(3)} ms/call) | ${(poolRate / mainRate).toFixed(2)}× | ${(mainMs / eagerMs).toFixed(2)}× |`,
    );
  }
  // 64 concurrent single-user requests: the pool micro-batches them; the main thread runs them one by one.
  const users = makeUsers(64, tower.vocab, 99);
  const poolMs = await p50(() => Promise.all(users.map((u) => tower.embed([u]))), 50);
  const eagerMs = await p50(() => Promise.all(users.map((u) => eagerTower.embed([u]))), 50);
  const mainMs = await p50(async () => {
    for (const u of users) await main.run(tensors(sideInfoFeeds([u], tower.vocab), {}));
  }, 50);
  console.log(
    `| 1 × 64 concurrent requests | ${rate((64 / poolMs) * 1000)} (${poolMs.toFixed(2)} ms for 64) | ${rate((64 / eagerMs) * 1000)} (${eagerMs.toFixed(2)} ms for 64) | ` +
      `${rate((64 / mainMs) * 1000)} (${mainMs.toFixed(2)} ms for 64) | ${(mainMs / poolMs).toFixed(2)}× | ${(mainMs / eagerMs).toFixed(2)}× |`,
  );
}

function makeHistory(length: number, random: () => number): HistoryEntry[] {
  return Array.from({ length }, () => ({ peerId: `u${Math.floor(random() * 1e6)}`, durationSeconds: Math.floor(random() * 600) }));
}

async function sessionTower(pool: ModelPool, main: ort.InferenceSession) {
  const memory = new InProcessEmbeddingMemory({ dim: 64, maxEntries: 100_000 });
  const tower = new SessionTower(pool, memory);
  const vocab = tower.vocab;
  const failures: unknown[] = [];
  tower.on('failed', (error) => failures.push(error));
  console.log(`\nSession tower (sequences/s; causal transformer, maxHistory ${tower.maxHistory}):`);
  console.log('| history | pool via SessionTower.update + flush (writes the memory) | main-thread ORT, one sequence per run | pool / main |');
  console.log('| --- | --- | --- | --- |');
  for (const history of [16, 64, 128]) {
    const random = rng(history);
    const count = history <= 16 ? 512 : history <= 64 ? 256 : 128;
    const side = makeUsers(count, vocab, 3 + history);
    const histories = side.map(() => makeHistory(history, random));
    let round = 0;
    const poolMs = await p50(async () => {
      round++;
      for (let i = 0; i < count; i++) tower.update(`s${round}-${i}`, histories[i]!, side[i]!);
      await tower.flush();
    }, 5);
    // The same model inputs, built by hand (hash buckets drawn at random: the cost does not depend on them).
    const buckets = tower.hashing.buckets;
    const feedsOf = (i: number) => {
      const peers = BigInt64Array.from(histories[i]!, () => BigInt(Math.floor(random() * buckets)));
      const durations = Float32Array.from(histories[i]!, (e) => Math.log1p(e.durationSeconds));
      return tensors(
        {
          ...sideInfoFeeds([side[i]!], vocab),
          user_hash: BigInt64Array.of(BigInt(i % buckets)),
          history_peer_hash: peers,
          history_log_duration: durations,
          history_length: BigInt64Array.of(BigInt(history)),
        },
        { history_peer_hash: [1, history], history_log_duration: [1, history] },
      );
    };
    const feeds = Array.from({ length: count }, (_, i) => feedsOf(i));
    const mainMs = await p50(async () => {
      for (const f of feeds) await main.run(f);
    }, 3);
    const poolRate = (count / poolMs) * 1000;
    const mainRate = (count / mainMs) * 1000;
    console.log(`| ${history} | ${rate(poolRate)} (${count} updates in ${poolMs.toFixed(1)} ms) | ${rate(mainRate)} | ${(poolRate / mainRate).toFixed(2)}× |`);
  }
  if (failures.length > 0) console.log(`  (${failures.length} session updates failed: ${String(failures[0])})`);
  const m = tower.metrics();
  console.log(`  SessionTower: completed ${m.completed}, failed ${m.failed}, dropped ${m.dropped}, memory holds ${memory.size}`);
  await tower.close();
  await memory.close();
}

async function memoryOps(name: string, memory: EmbeddingMemory) {
  const dim = memory.dim;
  const random = rng(5);
  const vec = () => Float32Array.from({ length: dim }, () => random() - 0.5);
  const ids = Array.from({ length: 10_000 }, (_, i) => `m${i}`);
  let version = 1;
  for (const id of ids) await memory.put(id, { user: vec(), peer: vec(), version });
  const u = vec();
  const p = vec();
  let i = 0;
  const batch = ids.slice(0, 256);
  const getMs = await p50(() => memory.get(ids[i++ % ids.length]!), 3000);
  const putMs = await p50(() => memory.put(ids[i++ % ids.length]!, { user: u, peer: p, version: ++version }), 3000);
  const manyMs = await p50(() => memory.getMany(batch), 300);
  // Throughput with 64 operations in flight (what a request batch does against Redis).
  const concurrentGetMs = await p50(() => Promise.all(Array.from({ length: 64 }, () => memory.get(ids[i++ % ids.length]!))), 300);
  const check = await memory.get(ids[0]!);
  const degraded = check.degraded ? ' (DEGRADED: reads failed)' : '';
  console.log(
    `| ${name}${degraded} | ${rate(1000 / getMs)} | ${rate((64 * 1000) / concurrentGetMs)} | ${rate(1000 / putMs)} | ${rate((256 * 1000) / manyMs)} (${manyMs.toFixed(2)} ms per 256) |`,
  );
  return { getMs, putMs, manyMs, concurrentGetMs };
}



async function memories() {
  console.log('\nEmbeddingMemory (dim 64, 10,000 users stored; one op at a time unless said):');
  console.log('| memory | get | get, 64 in flight | put | getMany(256) ids/s |');
  console.log('| --- | --- | --- | --- | --- |');
  const local = new InProcessEmbeddingMemory({ dim: 64, maxEntries: 100_000 });
  const a = await memoryOps('InProcessEmbeddingMemory', local);
  await local.close();
  if (!existsSync(REDIS)) {
    console.log(`| RedisEmbeddingMemory | skipped: ${REDIS} is not installed | | | |`);
    return;
  }
  const server = await RedisServer.start();
  try {
    const redis = new RedisEmbeddingMemory({ url: server.url, dim: 64 });
    // Wait for the connection: the first reads of a fresh client may come back degraded.
    for (let t = 0; t < 50 && (await redis.get('warm')).degraded; t++) await new Promise((r) => setTimeout(r, 100));
    const b = await memoryOps(`RedisEmbeddingMemory (local redis-server, loopback)`, redis);
    await redis.close();
    console.log(
      `  in-process / Redis speed: get ${(b.getMs / a.getMs).toFixed(0)}×, get 64 in flight ${(b.concurrentGetMs / a.concurrentGetMs).toFixed(0)}×,` +
        ` put ${(b.putMs / a.putMs).toFixed(0)}×, getMany ${(b.manyMs / a.manyMs).toFixed(0)}×`,
    );
  } finally {
    await server.stop();
  }
}

async function main() {
  console.log(`embedding benchmark — ${machineLine()}`);
  console.log(`  onnxruntime-node ${(ort as unknown as { env: { versions?: { common?: string } } }).env.versions?.common ?? ''}; pool: 1 worker thread, maxBatch 1024, maxDelayMs 2; ORT 1 intra-op + 1 inter-op thread on both sides`);
  const pool = new ModelPool({ threads: 1, maxBatch: 1024, maxDelayMs: 2 });
  await pool.load('feature-tower', modelPath('feature-tower'));
  await pool.load('session-tower', modelPath('session-tower'));
  // The same pool without the micro-batching wait: what one request costs for the thread hand-off alone.
  const eager = new ModelPool({ threads: 1, maxBatch: 1024, maxDelayMs: 0 });
  await eager.load('feature-tower', modelPath('feature-tower'));
  const options: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  };
  const mainFeature = await ort.InferenceSession.create(modelPath('feature-tower'), options);
  const mainSession = await ort.InferenceSession.create(modelPath('session-tower'), options);
  try {
    await featureTower(pool, eager, mainFeature);
    await sessionTower(pool, mainSession);
  } finally {
    await pool.close();
    await eager.close();
    await mainFeature.release();
    await mainSession.release();
  }
  await memories();
}

await main();
