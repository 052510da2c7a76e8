/**
 * The feature tower (Wide&Deep over request-time side information): computed per request, because
 * side information may change between requests; optionally memoized by the whole side information
 * (a pure function of it), see {@link FeatureCache}.
 */
import { integerInRange, optionalSignal, optionsObject } from '../core/validate.js';
import { FeatureCache, type FeatureCacheMetrics } from './feature-cache.js';
import type { ModelPool } from './model-pool.js';
import { metadataJson } from './onnx-metadata.js';
import { checkSideInfo, encodeSideInfo, readVocab, type SideInfoVocab, type UserSideInfo } from './side-info.js';
import { towerModel } from './tower-model.js';

/** Options of {@link FeatureTower}. */
export interface FeatureTowerOptions {
  /** The model's name in the pool. Default `'feature-tower'`. */
  model?: string;
  /**
   * Side-information tuples whose outputs are kept (LRU), 0..10,000,000; default 0 (no cache). An
   * entry costs 2·dim·4 bytes of floats plus its key (measured: about 0.63 KB at dim 64). A hit returns the floats
   * the model computed when the tuple was first seen (a batch's composition can move their last
   * bits, as with any micro-batched call); {@link FeatureTower.clearCache} after replacing the
   * model in the pool.
   */
  cacheEntries?: number;
}

/** Per-call options of {@link FeatureTower.embed}. */
export interface EmbedOptions {
  signal?: AbortSignal;
}

/**
 * Package-internal (not exported from the package): an {@link EmbedOptions} key telling
 * {@link FeatureTower.embed} that its caller already ran `checkSideInfo` against this tower's
 * vocabulary, under its own argument names (MatchPool checks every user before anything else).
 */
export const sideInfoChecked: unique symbol = Symbol('kindred.sideInfoChecked');
/**
 * Package-internal: `rows × dim` arrays that {@link FeatureTower.embed} may fill and return instead
 * of allocating (when the cache serves some rows); the caller reads the result's arrays, and keeps
 * these until the call has settled.
 */
export const embedInto: unique symbol = Symbol('kindred.embedInto');
type InternalEmbedOptions = EmbedOptions & { [sideInfoChecked]?: true; [embedInto]?: { user: Float32Array; peer: Float32Array } };

/** User and peer embeddings of a batch: row i of each (`dim` floats) belongs to user i. */
export interface TowerEmbeddings {
  readonly rows: number;
  readonly dim: number;
  /** `rows × dim`. */
  readonly user: Float32Array;
  /** `rows × dim`. */
  readonly peer: Float32Array;
}

/**
 * Embeds users from their side information with the feature-tower model loaded in a pool.
 *
 * @example
 * await pool.load('feature-tower', 'models/feature-tower.onnx');
 * const tower = new FeatureTower(pool);
 * const { user, peer } = await tower.embed([{ country: 3, language: 1, gender: 0, wants: 2, ageBucket: 2,
 *   deviceLanguage: 1, accountAgeDays: 30, recentReports: 0 }]);
 */
export class FeatureTower {
  readonly #pool: ModelPool;
  readonly #model: string;
  /** Floats per side. */
  readonly dim: number;
  /** Vocabulary sizes the ids are checked against (from `kindred.vocab`, possibly empty). */
  readonly vocab: SideInfoVocab;
  /** The match heads of `kindred.heads` (raw JSON), or undefined when the model has none. */
  readonly heads: unknown;
  readonly #cache: FeatureCache | undefined;

  /**
   * @param pool a pool where the model is loaded
   * @throws InvalidArgumentError when the model is not loaded; ModelError when it breaks the contract
   */
  constructor(pool: ModelPool, options?: FeatureTowerOptions) {
    const o = optionsObject<FeatureTowerOptions>(options, 'options');
    this.#pool = pool;
    this.#model = o.model ?? 'feature-tower';
    const cacheEntries = integerInRange(o.cacheEntries ?? 0, 'options.cacheEntries', 0, 10_000_000);
    const { model, dim } = towerModel(pool, this.#model, []);
    this.dim = dim;
    this.vocab = readVocab(model.metadata);
    this.heads = metadataJson(model.metadata, 'kindred.heads');
    this.#cache = cacheEntries > 0 ? new FeatureCache(cacheEntries, dim) : undefined;
  }

  /**
   * Embeds a batch of users (micro-batched with concurrent calls).
   *
   * @throws InvalidArgumentError naming the bad field (e.g. `users[2].country` outside the vocabulary)
   * @throws (rejects) ModelError, QueueFullError, AbortError, WorkerError from the pool
   */
  async embed(users: readonly UserSideInfo[], options?: EmbedOptions): Promise<TowerEmbeddings> {
    const o = optionsObject<InternalEmbedOptions>(options, 'options');
    const signal = optionalSignal(o.signal, 'options.signal');
    if (o[sideInfoChecked] !== true) checkSideInfo(users, this.vocab);
    const runOptions = signal === undefined ? undefined : { signal };
    const cache = this.#cache;
    const n = users.length;
    const d = this.dim;
    if (cache === undefined) {
      const out = await this.#pool.run(this.#model, encodeSideInfo(users), runOptions);
      return { rows: n, dim: d, user: out.user!, peer: out.peer! };
    }
    // Every row is written below (a hit by the cache's gather, a miss from the model), so reused
    // arrays need no zeroing.
    const into = o[embedInto];
    const reuse = into !== undefined && into.user.length === n * d && into.peer.length === n * d;
    const user = reuse ? into.user : new Float32Array(n * d);
    const peer = reuse ? into.peer : new Float32Array(n * d);
    const unfilled = cache.fill(users, user, peer);
    if (unfilled.length === 0) return { rows: n, dim: d, user, peer };
    // A tuple repeated within the batch is computed once per repeat: rare, and still right.
    const missing = unfilled.length === n ? users : unfilled.map((i) => users[i]!);
    const out = await this.#pool.run(this.#model, encodeSideInfo(missing), runOptions);
    const computed = { user: out.user!, peer: out.peer! };
    cache.store(missing, computed);
    if (unfilled.length === n) return { rows: n, dim: d, user: computed.user, peer: computed.peer };
    unfilled.forEach((i, r) => {
      user.set(computed.user.subarray(r * d, (r + 1) * d), i * d);
      peer.set(computed.peer.subarray(r * d, (r + 1) * d), i * d);
    });
    return { rows: n, dim: d, user, peer };
  }

  /** The cache's counters, or undefined without a cache. */
  cacheMetrics(): FeatureCacheMetrics | undefined {
    return this.#cache?.metrics();
  }

  /** Drops every cached output (e.g. after loading another model under the same name). */
  clearCache(): void {
    this.#cache?.clear();
  }
}
