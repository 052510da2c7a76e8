/**
 * kindred demo (`npm run demo`): lists the backends this machine has, then scores a synthetic
 * video-chat pool — every user against every potential partner — on each available backend and
 * prints timings. Later stages (matching, feeds) will grow this demo.
 */
import { listBackends, pairScores } from '../ts/src/index.js';

const POOL = 2000;
const DIM = 64;
const TASTES = 12;

/** Users with a taste cluster each: user vectors near their cluster's centre, peer vectors too. */
function syntheticPool(n: number, dim: number, seed: number) {
  let s = seed >>> 0;
  const random = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const centres = Array.from({ length: TASTES }, () => Float32Array.from({ length: dim }, gaussian));
  const taste = new Int32Array(n);
  const user = new Float32Array(n * dim);
  const peer = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    taste[i] = Math.floor(random() * TASTES);
    const c = centres[taste[i]!]!;
    for (let k = 0; k < dim; k++) {
      user[i * dim + k] = (c[k]! + 0.7 * gaussian()) / Math.sqrt(dim);
      peer[i * dim + k] = (c[k]! + 0.7 * gaussian()) / Math.sqrt(dim);
    }
  }
  return { taste, user, peer };
}

async function main() {
  console.log('kindred demo\n\nBackends on this machine:');
  const backends = listBackends();
  for (const b of backends) {
    console.log(`  ${b.name.padEnd(9)} ${b.available ? `yes  ${b.device ?? ''}` : `no   ${b.reason ?? ''}`}`);
  }

  const { taste, user, peer } = syntheticPool(POOL, DIM, 2026);
  console.log(`\nScoring a pool of ${POOL} users (${TASTES} taste clusters, dim ${DIM}): ${POOL * POOL} pair scores`);
  const out = new Float32Array(POOL * POOL);
  for (const b of backends.filter((x) => x.available)) {
    await pairScores(user, peer, { rows: POOL, cols: POOL, dim: DIM, backend: b.name, out }); // warm-up
    const runs: number[] = [];
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now();
      await pairScores(user, peer, { rows: POOL, cols: POOL, dim: DIM, backend: b.name, out });
      runs.push(performance.now() - t0);
    }
    runs.sort((x, y) => x - y);
    const ms = runs[2]!;
    console.log(`  ${b.name.padEnd(9)} median ${ms.toFixed(2)} ms  (${((2 * POOL * POOL * DIM) / ms / 1e6).toFixed(1)} GFLOP/s)`);
  }

  // What the scores say: a user scores partners of the same taste higher.
  let same = 0;
  let sameCount = 0;
  let other = 0;
  let otherCount = 0;
  for (let i = 0; i < POOL; i++) {
    for (let j = 0; j < POOL; j++) {
      if (i === j) continue;
      if (taste[i] === taste[j]) {
        same += out[i * POOL + j]!;
        sameCount++;
      } else {
        other += out[i * POOL + j]!;
        otherCount++;
      }
    }
  }
  console.log(
    `\nMean score, same taste: ${(same / sameCount).toFixed(3)}; different taste: ${(other / otherCount).toFixed(3)}`,
  );
  console.log('Next in kindred: filters and max-weight matching on these scores (matchPool), and rankFeed.');
}

await main();
