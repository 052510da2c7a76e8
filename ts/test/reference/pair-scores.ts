/** The naive reference for pairScores: double-precision dot products, plus Σ|a·b| for error bounds. */
export function naivePairScores(a: Float32Array, b: Float32Array, rows: number, cols: number, dim: number) {
  const scores = new Float64Array(rows * cols);
  const magnitude = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      let sum = 0;
      let mag = 0;
      for (let k = 0; k < dim; k++) {
        const p = a[i * dim + k]! * b[j * dim + k]!;
        sum += p;
        mag += Math.abs(p);
      }
      scores[i * cols + j] = sum;
      magnitude[i * cols + j] = mag;
    }
  }
  return { scores, magnitude };
}

/** fp32 dot-product error budget: 2·(dim+2)·u·Σ|a·b|, u = 2^-24 (as in the native conformance test). */
export function f32Tolerance(dim: number, magnitude: number): number {
  return 2 * (dim + 2) * 2 ** -24 * magnitude + 1e-30;
}
