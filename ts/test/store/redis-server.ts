/**
 * A throw-away redis-server for a test, on a free port: start, SIGKILL (a crash), restart on the
 * same port, SIGSTOP/SIGCONT (a server that stops answering), stop. With `persistent`, it keeps
 * an append-only file (fsync always) in a temp dir, so what it acknowledged survives a SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const redisServerBinary = '/usr/bin/redis-server';
export const hasRedisServer = existsSync(redisServerBinary);
/** Why the Redis suites are skipped, when they are. */
export const redisSkipReason = `skipped: ${redisServerBinary} is not installed (apt-get install redis-server)`;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface RedisServerOptions {
  /** Keep an append-only file with `appendfsync always` (default false: nothing persisted). */
  persistent?: boolean;
}

export class RedisServer {
  #process: ChildProcess | undefined;
  readonly #dir: string | undefined;

  private constructor(
    readonly port: number,
    persistent: boolean,
  ) {
    this.#dir = persistent ? mkdtempSync(join(tmpdir(), 'kindred-redis-')) : undefined;
  }

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), options.persistent ?? false);
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.#process !== undefined && this.#process.exitCode === null && this.#process.signalCode === null;
  }

  /** Starts (again) on the same port (and data dir) and waits until it accepts connections. */
  async restart(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', ''];
    if (this.#dir === undefined) args.push('--appendonly', 'no');
    else args.push('--appendonly', 'yes', '--appendfsync', 'always', '--dir', this.#dir);
    const child = spawn(redisServerBinary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#process = child;
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start on ${this.port}:\n${output}`)), 10_000);
      const onExit = (code: number | null) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}:\n${output}`));
      };
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          child.off('exit', onExit);
          resolve();
        }
      });
      child.once('exit', onExit);
    });
  }

  /** Kills the server at once (SIGKILL), as a crash would. */
  async kill(): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGCONT'); // a stopped process cannot act on SIGKILL until continued on some systems
    child.kill('SIGKILL');
    await exited;
  }

  /** Freezes the server (SIGSTOP): connections stay open but nothing answers. */
  pause(): void {
    this.#process?.kill('SIGSTOP');
  }

  /** Undoes {@link pause}. */
  resume(): void {
    this.#process?.kill('SIGCONT');
  }

  /** Kills the server and removes its data dir. */
  async stop(): Promise<void> {
    await this.kill();
    if (this.#dir !== undefined) rmSync(this.#dir, { recursive: true, force: true });
  }
}
