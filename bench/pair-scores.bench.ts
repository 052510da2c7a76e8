/**
 * pairScores benchmark: kindred's backends against numpy/OpenBLAS (same shapes, same script run)
 * and a naive JS loop, with and without reusing the output buffer.
 *
 *   npm run bench                       # 2000x2000x64 and 10000x10000x64
 *   npm run bench -- 4000x4000x64       # other shapes
 *
 * Prints median ms, GFLOP/s and ratios against the baselines measured in this run. It runs as
 * compiled JS (tsc, then node): under a TypeScript loader such as tsx, the loader's extra thread
 * was measured to slow 2000x2000x64 calls by ~1.4 ms (~30%).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

import { Bench } from 'tinybench';

import { listBackends, pairScores, type BackendName } from '../ts/src/index.js';
import { machineLine, repoFile } from './machine.js';

type Shape = [rows: number, cols: number, dim: number];

// Small shapes are cheap and noisy on a shared 2-core box: more samples there.
const iterationsFor = (macs: number) => (macs < 1e9 ? 31 : 7);
// The first calls of a process run slow (thread pools starting, page faults, GC after the inputs'
// allocation): measured ~30% at 2000x2000x64 over the first 30 calls. Warm up well past that.
const warmupFor = (macs: number) => (macs < 1e9 ? 30 : 2);
// Above this many multiply-adds the naive loop takes tens of seconds per run: skipped, and said so.
const NAIVE_MAX_MACS = 1e9;
const ROUNDS = 3;
const NUMPY_REUSED = 'numpy/OpenBLAS, out reused';
const PYTHON = '/usr/bin/python3';

function parseShapes(args: string[]): Shape[] {
  const shapes = args
    .map((a) => /^(\d+)x(\d+)x(\d+)$/.exec(a))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [Number(m[1]), Number(m[2]), Number(m[3])] as Shape);
  return shapes.length > 0 ? shapes : [[2000, 2000, 64], [10000, 10000, 64]];
}

function seeded(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function naiveJs(a: Float32Array, b: Float32Array, out: Float32Array, rows: number, cols: number, dim: number) {
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      let sum = 0;
      for (let k = 0; k < dim; k++) sum += a[i * dim + k]! * b[j * dim + k]!;
      out[i * cols + j] = sum;
    }
  }
}

interface NumpyResult {
  reusedMs: number;
  freshMs: number;
  numpy: string;
  blas: string;
}

function numpyBaseline([rows, cols, dim]: Shape): NumpyResult | string {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const script = repoFile('bench/numpy_sgemm.py');
  try {
    const out = execFileSync(PYTHON, [script, String(rows), String(cols), String(dim), String(iterationsFor(rows * cols * dim))], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return JSON.parse(out.trim().split('\n').pop()!) as NumpyResult;
  } catch (error) {
    const text = String((error as { stderr?: string }).stderr ?? error);
    return text.includes('No module named') ? 'numpy is not installed (apt-get install python3-numpy)' : text.split('\n')[0]!;
  }
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

/** p50 latency (ms) of each task of one tinybench run, by name. */
async function runTasks(options: ConstructorParameters<typeof Bench>[0], tasks: Array<[string, () => unknown]>) {
  const bench = new Bench(options);
  for (const [name, fn] of tasks) bench.add(name, fn);
  await bench.run();
  return new Map(bench.tasks.map((t) => [t.name, 'latency' in t.result ? t.result.latency.p50 : Number.NaN]));
}

async function benchShape(shape: Shape, backends: BackendName[]) {
  const [rows, cols, dim] = shape;
  const macs = rows * cols * dim;
  const gflop = (2 * macs) / 1e9;
  const a = seeded(rows * dim, 1);
  const b = seeded(cols * dim, 2);
  const out = new Float32Array(rows * cols);
  const tasks: Array<[string, () => unknown]> = [];
  for (const backend of backends) {
    tasks.push([`kindred ${backend}, out reused`, () => pairScores(a, b, { rows, cols, dim, backend, out })]);
    tasks.push([`kindred ${backend}, fresh out`, () => pairScores(a, b, { rows, cols, dim, backend })]);
  }
  const options = { iterations: iterationsFor(macs), time: 0, warmupIterations: warmupFor(macs), warmupTime: 0 };

  // A shared 2-core VM drifts by tens of percent over seconds, so kindred and numpy alternate over
  // several rounds and each ratio is the median of the per-round ratios (same round, same conditions).
  const perRound: Array<Map<string, number>> = [];
  let numpy: NumpyResult | string = 'not run';
  for (let round = 0; round < ROUNDS; round++) {
    const times = await runTasks(options, tasks);
    numpy = numpyBaseline(shape);
    if (typeof numpy !== 'string') {
      times.set(NUMPY_REUSED, numpy.reusedMs);
      times.set('numpy/OpenBLAS, fresh out', numpy.freshMs);
    }
    perRound.push(times);
  }
  const runNaive = macs <= NAIVE_MAX_MACS;
  const naiveMs = runNaive
    ? (await runTasks({ iterations: 3, time: 0, warmupIterations: 1, warmupTime: 0 }, [
        ['naive JS loop', () => naiveJs(a, b, out, rows, cols, dim)],
      ])).get('naive JS loop')!
    : undefined;

  const names = [...perRound[0]!.keys()];
  const baselineName = perRound[0]!.has(NUMPY_REUSED) ? NUMPY_REUSED : names[0]!;
  console.log(`\n${rows}x${cols}x${dim}: ${gflop.toFixed(2)} GFLOP per call, output ${((rows * cols * 4) / 1e6).toFixed(0)} MB, ${ROUNDS} rounds`);
  if (typeof numpy === 'string') console.log(`  numpy baseline skipped: ${numpy}`);
  else console.log(`  numpy ${numpy.numpy} on ${numpy.blas}`);
  if (!runNaive) console.log(`  naive JS skipped: ${(macs / 1e9).toFixed(1)}e9 multiply-adds would take too long`);
  console.log(
    `  ${'task'.padEnd(34)} ${'median ms'.padStart(10)} ${'GFLOP/s'.padStart(9)}  speed vs ${baselineName} (per-round ratios)${naiveMs ? ' | vs naive JS' : ''}`,
  );
  const rowsOut = names.map((name) => ({
    name,
    ms: median(perRound.map((t) => t.get(name)!)),
    ratios: perRound.map((t) => t.get(baselineName)! / t.get(name)!),
  }));
  if (naiveMs !== undefined) rowsOut.push({ name: 'naive JS loop, out reused', ms: naiveMs, ratios: [] });
  for (const r of rowsOut) {
    const vsBase = r.ratios.length ? `${median(r.ratios).toFixed(2)}x (${r.ratios.map((x) => x.toFixed(2)).join(', ')})` : '';
    const vsNaive = naiveMs ? ` | ${(naiveMs / r.ms).toFixed(1)}x` : '';
    console.log(`  ${r.name.padEnd(34)} ${r.ms.toFixed(2).padStart(10)} ${(gflop / (r.ms / 1e3)).toFixed(1).padStart(9)}  ${vsBase}${vsNaive}`);
  }
}

async function main() {
  console.log(`pairScores benchmark — ${machineLine()}`);
  const all = listBackends();
  for (const b of all) console.log(`  backend ${b.name}: ${b.available ? b.device : `unavailable (${b.reason})`}`);
  const backends = all.filter((b) => b.available).map((b) => b.name);
  for (const shape of parseShapes(process.argv.slice(2))) await benchShape(shape, backends);
}

await main();
