/**
 * Limits shared by the clustering functions. The Ward linkage holds an n × n float64 matrix
 * (8·n² bytes: 800 MB at n = 10,000), so n is capped where that still fits a server comfortably.
 */

/** The most points {@link wardLinkage} and {@link pinnerSage} cluster at once (3.2 GB of matrix). */
export const MAX_CLUSTER_POINTS = 20_000;

/** The largest vector length accepted. */
export const MAX_CLUSTER_DIM = 2 ** 31 - 1;

/** Bytes of working memory the Ward linkage of n points of `dim` dimensions allocates (about). */
export function wardLinkageBytes(n: number, dim: number): number {
  return 8 * n * n + 8 * n * dim;
}
