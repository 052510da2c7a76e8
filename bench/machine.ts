/** One line describing the machine, printed by every benchmark so figures carry their context. */
import { existsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
