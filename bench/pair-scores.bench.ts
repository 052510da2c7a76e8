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
// Above this many multiply-adds the naive loop takes tens of seconds per run: skipped, and said so.
const NAIVE_MAX_MACS = 1e9;
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

async function benchShape(shape: Shape, backends: BackendName[]) {
  const [rows, cols, dim] = shape;
  const gflop = (2 * rows * cols * dim) / 1e9;
  const a = seeded(rows * dim, 1);
  const b = seeded(cols * dim, 2);
  const out = new Float32Array(rows * cols);
  const bench = new Bench({ iterations: iterationsFor(rows * cols * dim), time: 0, warmupIterations: 1, warmupTime: 0 });
  for (const backend of backends) {
    bench.add(`kindred ${backend}, out reused`, async () => {
      await pairScores(a, b, { rows, cols, dim, backend, out });
    });
    bench.add(`kindred ${backend}, fresh out`, async () => {
      await pairScores(a, b, { rows, cols, dim, backend });
    });
  }
  const runNaive = rows * cols * dim <= NAIVE_MAX_MACS;
  if (runNaive) bench.add('naive JS loop, out reused', () => naiveJs(a, b, out, rows, cols, dim));
  await bench.run();

  const numpy = numpyBaseline(shape);
  const rowsOut: Array<{ name: string; ms: number }> = bench.tasks.map((t) => {
    const r = t.result;
    return { name: t.name, ms: 'latency' in r ? r.latency.p50 : Number.NaN };
  });
  if (typeof numpy !== 'string') {
    rowsOut.push({ name: 'numpy/OpenBLAS, out reused', ms: numpy.reusedMs });
    rowsOut.push({ name: 'numpy/OpenBLAS, fresh out', ms: numpy.freshMs });
  }
  const baseline = rowsOut.find((r) => r.name === 'numpy/OpenBLAS, out reused') ?? rowsOut[0]!;
  const naive = rowsOut.find((r) => r.name.startsWith('naive'));

  console.log(`\n${rows}x${cols}x${dim}: ${gflop.toFixed(2)} GFLOP per call, output ${((rows * cols * 4) / 1e6).toFixed(0)} MB`);
  if (typeof numpy === 'string') console.log(`  numpy baseline skipped: ${numpy}`);
  else console.log(`  numpy ${numpy.numpy} on ${numpy.blas}`);
  if (!runNaive) console.log(`  naive JS skipped: ${(rows * cols * dim / 1e9).toFixed(1)}e9 multiply-adds would take too long`);
  console.log(`  ${'task'.padEnd(34)} ${'median ms'.padStart(10)} ${'GFLOP/s'.padStart(9)}  speed vs ${baseline.name}${naive ? ' | vs naive JS' : ''}`);
  for (const r of rowsOut) {
    const vsBase = (baseline.ms / r.ms).toFixed(2);
    const vsNaive = naive ? ` | ${(naive.ms / r.ms).toFixed(1)}x` : '';
    console.log(
      `  ${r.name.padEnd(34)} ${r.ms.toFixed(2).padStart(10)} ${(gflop / (r.ms / 1e3)).toFixed(1).padStart(9)}  ${vsBase}x${vsNaive}`,
    );
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
