/**
 * What every benchmark shares: one line describing the machine (so figures carry their context),
 * repository paths from the compiled copy, and the median of a tinybench task.
 */
import { existsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Bench } from 'tinybench';

export function machineLine(): string {
  const cpu = cpus();
  return `${cpu[0]?.model ?? 'unknown CPU'} × ${cpu.length} threads, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.versions.node}, ${process.platform}-${process.arch}`;
}

/** A file of the repository by its path from the root, found from here or from the compiled copy. */
export function repoFile(path: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, path))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find ${path} above ${import.meta.url}`);
    dir = parent;
  }
  return join(dir, path);
}

/** Median time of one call (ms) over `iterations` tinybench iterations (2 warm-up calls first). */
export async function p50(fn: () => Promise<unknown>, iterations: number): Promise<number> {
  const bench = new Bench({ iterations, time: 0, warmupIterations: 2, warmupTime: 0 });
  bench.add('x', fn);
  await bench.run();
  const r = bench.tasks[0]!.result;
  if (r === undefined || !('latency' in r)) throw new Error(`benchmark task failed: ${JSON.stringify(r)}`);
  return r.latency.p50;
}
