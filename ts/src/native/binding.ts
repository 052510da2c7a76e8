/**
 * Loads the native addon (sharp-style): an explicit path, the local source build, then the
 * prebuilt platform package; when none loads, one error lists every place tried and why.
 * The addon is loaded lazily, on first use, so importing kindred never fails.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { NativeLoadError } from '../core/errors.js';

/** What the addon reports for each backend family. */
export interface NativeBackendInfo {
  name: string;
  kind: 'cpu' | 'gpu';
  available: boolean;
  reason?: string;
  device?: string;
  threads?: number;
}

/** The exact shape of the addon's exports (native/src/addon/module.cc). */
export interface NativeAddon {
  listBackends(): NativeBackendInfo[];
  /** to[i] += from[i], synchronously (same lengths; TypeError/RangeError otherwise). */
  addInto(to: Float32Array, from: Float32Array): void;
  /**
   * Copies row slots[i] of a paged store (row s: floats [(s % pageRows)·width, +width) of
   * pages[s / pageRows], every page the same length) into row i of the targets (each at least
   * slots.length rows long, none overlapping a page), split evenly among them; negative slots are
   * skipped. Synchronous; TypeError/RangeError on misuse (nothing copied).
   */
  gatherRows(pages: readonly Float32Array[], width: number, slots: Int32Array, targets: readonly Float32Array[]): void;
  /** Resolves with the backend that ran. Throws synchronously on misuse (TypeError/RangeError). */
  pairScores(
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
    rows: number,
    cols: number,
    dim: number,
    backend: string,
    cancel?: Int32Array,
  ): Promise<string>;
  matchWeights(weights: Float32Array, n: number, tuning: NativeMatchTuning, cancel?: Int32Array): Promise<NativeMatchResult>;
  matchEmbeddings(
    user: Float32Array,
    peer: Float32Array,
    scratch: Float32Array,
    n: number,
    dim: number,
    backend: string,
    transform: { kind: 'exp'; w: number; b: number } | { kind: 'identity' },
    mutual: Array<{ attr: Uint8Array; accepts: Uint32Array }>,
    overlap: Uint32Array[],
    blocked: Int32Array | undefined,
    tuning: NativeMatchTuning,
    cancel?: Int32Array,
  ): Promise<NativeMatchResult>;
  /** Several heads: Σ_t weight_t · transform_t(user_t · peer_tᵀ), then Y + Yᵀ, filters and matching. */
  matchHeads(
    heads: Array<{
      user: Float32Array;
      peer: Float32Array;
      dim: number;
      transform: { kind: 'exp'; w: number; b: number } | { kind: 'identity' };
      weight: number;
      /** Both or neither: dim × inputDim each; user and peer are then n × inputDim. */
      userProjection?: Float32Array;
      peerProjection?: Float32Array;
      inputDim?: number;
    }>,
    scratch: Float32Array,
    n: number,
    backend: string,
    mutual: Array<{ attr: Uint8Array; accepts: Uint32Array }>,
    overlap: Uint32Array[],
    blocked: Int32Array | undefined,
    tuning: NativeMatchTuning,
    cancel?: Int32Array,
  ): Promise<NativeMatchResult>;
  /** Ward linkage in SciPy's layout ((n − 1) × 4). Rejects NaN/±Inf in `embeddings` (argument 'embeddings'). */
  wardLinkage(embeddings: Float32Array, n: number, dim: number, cancel?: Int32Array): Promise<Float64Array>;
  /** fcluster(Z, threshold, 'distance') labels 1..k; synchronous (O(n)); throws ERR_KINDRED_INVALID_ARGUMENT for a bad linkage. */
  cutTree(linkage: Float64Array, n: number, threshold: number): Int32Array;
  /** Medoid row of each cluster 1..clusters (at index c − 1). */
  clusterMedoids(
    embeddings: Float32Array,
    n: number,
    dim: number,
    labels: Int32Array,
    clusters: number,
    cancel?: Int32Array,
  ): Promise<Int32Array>;
  /** Linkage, cut, medoids, importance and anchors in one worker. */
  pinnerSage(
    embeddings: Float32Array,
    n: number,
    dim: number,
    ageDays: Float64Array,
    threshold: number,
    lambdaPerDay: number,
    maxAnchors: number,
    cancel?: Int32Array,
  ): Promise<NativePinnerSageResult>;
  /**
   * The best k items (rows of `items`) per query by inner product, written into `outIndices` /
   * `outScores` (q × k, best first; ties → lower row; slots past n hold -1 / -Infinity). Resolves
   * with the backend that ran. Rejects NaN/±Inf in `queries` (argument 'queries') and NaN scores.
   */
  topK(
    queries: Float32Array,
    items: Float32Array,
    q: number,
    n: number,
    dim: number,
    k: number,
    backend: string,
    outIndices: Int32Array,
    outScores: Float32Array,
    cancel?: Int32Array,
  ): Promise<string>;
  build: { blas: boolean; cuda: boolean; napiVersion: number };
}

/** What the addon's pinnerSage resolves with; row indices refer to the rows it was given. */
export interface NativePinnerSageResult {
  linkage: Float64Array;
  /** Cluster label (1..k) of each row. */
  labels: Int32Array;
  /** Medoid row of cluster c at index c − 1. */
  medoids: Int32Array;
  /** Importance of cluster c at index c − 1. */
  importance: Float64Array;
  /** Cluster indices (0-based), most important first. */
  anchors: Int32Array;
}

/** Matcher knobs as the addon takes them (missing fields keep the native defaults). */
export interface NativeMatchTuning {
  candidates?: number;
  rounds?: number;
}

/** What the addon's matchers resolve with. */
export interface NativeMatchResult {
  /** Partner of each user, or -1. */
  mate: Int32Array;
  totalWeight: number;
  upperBound: number;
  pairs: number;
  /** The backend that computed the scores (matchEmbeddings), or null. */
  backend: string | null;
  scoresMs: number;
  filtersMs: number;
  matchingMs: number;
  /** matchEmbeddings, when it reordered the users by their filters: row k of the scratch is user bufferOrder[k]. */
  bufferOrder?: Int32Array;
  /** matchEmbeddings: ŷ(a→b), ŷ(b→a) for each pair a < mate[a], by increasing a (as toMatchResult lists them). */
  predicted?: Float64Array;
}

const require = createRequire(import.meta.url);
let cached: NativeAddon | undefined;

/** The directory holding kindred's package.json (from ts/src/native or dist/native). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'kindred') return dir;
      } catch {
        // not ours; keep walking up
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new NativeLoadError('kindred: cannot find its own package.json above ' + import.meta.url);
    dir = parent;
  }
}

/** The npm package holding the prebuilt addon for this machine, e.g. kindred-linux-x64-gnu. */
export function platformPackageName(): string {
  const report = process.platform === 'linux' ? (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } }) : undefined;
  const libc = process.platform === 'linux' ? (report?.header?.glibcVersionRuntime ? '-gnu' : '-musl') : '';
  return `kindred-${process.platform}-${process.arch}${libc}`;
}

/**
 * The addon, loaded once per thread (each worker thread gets its own instance of the module).
 * @throws {NativeLoadError} when no candidate loads; the message lists each one and its failure
 */
export function native(): NativeAddon {
  if (cached) return cached;
  const tried: string[] = [];
  const candidates: string[] = [];
  if (process.env.KINDRED_ADDON_PATH) candidates.push(process.env.KINDRED_ADDON_PATH);
  candidates.push(join(packageRoot(), 'build', 'Release', 'kindred.node'));
  try {
    candidates.push(require.resolve(`${platformPackageName()}/kindred.node`));
  } catch {
    tried.push(`${platformPackageName()}: not installed`);
  }
  for (const path of candidates) {
    if (!existsSync(path)) {
      tried.push(`${path}: no such file`);
      continue;
    }
    try {
      cached = require(path) as NativeAddon;
      return cached;
    } catch (error) {
      tried.push(`${path}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    }
  }
  throw new NativeLoadError(
    [
      `kindred could not load its native addon for ${process.platform}-${process.arch} (Node ${process.versions.node}, N-API ${process.versions.napi}).`,
      'Tried:',
      ...tried.map((t) => `  - ${t}`),
      'Fixes:',
      `  - reinstall so npm picks the prebuilt package ${platformPackageName()}, or`,
      '  - build from source: apt-get install cmake g++ libopenblas-dev, then npm rebuild kindred, or',
      '  - point KINDRED_ADDON_PATH at a kindred.node you built.',
    ].join('\n'),
  );
}
