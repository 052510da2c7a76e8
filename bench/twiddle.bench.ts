/**
 * Twiddler chain benchmark: downrank → false-positive → interval over a ranked list, per list size,
 * against a same-run baseline (copying and sorting the list by score), so the ratio carries over
 * between machines. No time is asserted; this is a sanity check that the layer costs little next
 * to ranking.
 *
 *   npx tsx bench/twiddle.bench.ts            # n = 200, 2000, 10000
 *   npx tsx bench/twiddle.bench.ts 5000
 */
import { Bench } from 'tinybench';

import { TwiddlerChain, type RankedCandidate, type RecentAction } from '../ts/src/index.js';
import { seededRandom } from '../ts/test/reference/random.js';
import { machineLine } from './machine.js';

const DIM = 32;
const NOW = 1_700_000_000_000;

/** A feed like the product's: 30 categories, 300 authors, a vector each; 500 recent actions, 10 false positives. */
function makeRequest(n: number, seed: number) {
  const random = seededRandom(seed);
  const candidates: RankedCandidate[] = [];
  for (let i = 0; i < n; i++) {
    const vector = new Float32Array(DIM);
    for (let j = 0; j < DIM; j++) vector[j] = random() * 2 - 1;
    candidates.push({
      itemId: `item-${i}`,
      score: random(),
      category: `c${Math.floor(random() ** 2 * 30)}`,
      author: `a${Math.floor(random() * 300)}`,
      vector,
    });
  }
  candidates.sort((a, b) => b.score - a.score);
  const recentActions: RecentAction[] = Array.from({ length: 500 }, () => ({
    itemId: `item-${Math.floor(random() * n)}`,
    action: random() < 0.8 ? 'impression' : 'click',
    at: NOW - Math.floor(random() * 7_200_000),
  }));
  const falsePositiveVectors = Array.from({ length: 10 }, () => candidates[Math.floor(random() * n)]!.vector!.map((x) => x + 0.1 * (random() - 0.5)));
  return { candidates, context: { now: NOW, recentActions, falsePositiveVectors } };
}

async function benchSize(n: number) {
  const { candidates, context } = makeRequest(n, 99 + n);
  const chains = {
    plain: new TwiddlerChain([
      { name: 'downrank', params: { windowMs: 3_600_000, rules: { impression: { threshold: 3, factor: 0.5 }, click: { threshold: 1, factor: 0.3 } } } },
      { name: 'false-positive', params: { threshold: 0.8, strength: 0.5 } },
      { name: 'interval', params: { keys: ['category', 'author'], minGap: 4 } },
    ]),
    lookahead: new TwiddlerChain([
      { name: 'downrank', params: { windowMs: 3_600_000, rules: { impression: { threshold: 3, factor: 0.5 }, click: { threshold: 1, factor: 0.3 } } } },
      { name: 'false-positive', params: { threshold: 0.8, strength: 0.5 } },
      { name: 'interval', params: { keys: ['category', 'author'], minGap: 4, lookahead: true } },
    ]),
  };
  const bench = new Bench({ iterations: 50, time: 0, warmupIterations: 5, warmupTime: 0 });
  bench.add('baseline: copy + sort by score', () => {
    [...candidates].sort((a, b) => b.score - a.score);
  });
  bench.add('3 twiddlers (interval plain greedy)', () => {
    chains.plain.run(candidates, context);
  });
  bench.add('3 twiddlers (interval lookahead)', () => {
    chains.lookahead.run(candidates, context);
  });
  await bench.run();
  const p50 = (name: string) => {
    const task = bench.tasks.find((t) => t.name.startsWith(name))!;
    return 'latency' in task.result ? task.result.latency.p50 : Number.NaN;
  };
  const base = p50('baseline');
  const plain = p50('3 twiddlers (interval plain');
  const ahead = p50('3 twiddlers (interval lookahead');
  const moved = chains.plain.run(candidates, context).steps.map((s) => `${s.label} ${s.skipped ?? s.moves.length}`).join(', ');
  console.log(
    `  n=${String(n).padEnd(6)} sort ${base.toFixed(3)} ms | chain ${plain.toFixed(3)} ms (${(plain / base).toFixed(1)}x) | with lookahead ${ahead.toFixed(3)} ms (${(ahead / base).toFixed(1)}x) | moves: ${moved}`,
  );
}

async function main() {
  console.log(`twiddler chain benchmark (p50) — ${machineLine()}`);
  const sizes = process.argv.slice(2).map(Number).filter((x) => Number.isInteger(x) && x > 1);
  for (const n of sizes.length > 0 ? sizes : [200, 2000, 10000]) await benchSize(n);
}

await main();
