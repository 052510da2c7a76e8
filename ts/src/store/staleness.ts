/**
 * Staleness bookkeeping shared by the embedding memories: how old the embeddings that requests
 * read are (the seed measured no real loss at 4 s and an acceptable one at 16 s), how often
 * reads miss or degrade, and how often writes lose to a newer version.
 */

/** Percentiles of the ages of recent hits, in ms (NaN when there were none). */
export interface AgeDistribution {
  /** Hits in the window the percentiles cover (at most the window size). */
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Counters of an {@link EmbeddingMemory} since it was created. */
export interface StalenessMetrics {
  reads: number;
  hits: number;
  misses: number;
  /** Reads answered "missing" because the store could not be asked. */
  degradedReads: number;
  writes: number;
  /** Writes ignored because an equal or newer version was stored. */
  staleWrites: number;
  /** Store errors (connection lost, timeouts). */
  errors: number;
  /** Ages of the most recent hits. */
  age: AgeDistribution;
}

/** Collects {@link StalenessMetrics}; ages are kept in a ring of the last `window` hits. */
export class StalenessTracker {
  readonly #ages: Float64Array;
  #next = 0;
  #filled = 0;
  readonly #counts = { reads: 0, hits: 0, misses: 0, degradedReads: 0, writes: 0, staleWrites: 0, errors: 0 };

  constructor(window = 4096) {
    this.#ages = new Float64Array(window);
  }

  hit(ageMs: number): void {
    this.#counts.reads++;
    this.#counts.hits++;
    this.#ages[this.#next] = ageMs;
    this.#next = (this.#next + 1) % this.#ages.length;
    this.#filled = Math.min(this.#filled + 1, this.#ages.length);
  }

  miss(degraded: boolean): void {
    this.#counts.reads++;
    this.#counts.misses++;
    if (degraded) this.#counts.degradedReads++;
  }

  write(stored: boolean): void {
    this.#counts.writes++;
    if (!stored) this.#counts.staleWrites++;
  }

  error(): void {
    this.#counts.errors++;
  }

  snapshot(): StalenessMetrics {
    const ages = Array.from(this.#ages.subarray(0, this.#filled)).sort((a, b) => a - b);
    const at = (q: number) => (ages.length === 0 ? Number.NaN : ages[Math.min(ages.length - 1, Math.floor(q * ages.length))]!);
    const mean = ages.length === 0 ? Number.NaN : ages.reduce((a, b) => a + b, 0) / ages.length;
    return {
      ...this.#counts,
      age: { count: ages.length, meanMs: mean, p50Ms: at(0.5), p90Ms: at(0.9), p99Ms: at(0.99), maxMs: ages.length === 0 ? Number.NaN : ages[ages.length - 1]! },
    };
  }
}
