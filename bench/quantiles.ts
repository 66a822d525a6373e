/** Quantiles of latencies in ms, to 0.01 ms: `quantiles(samples)(0.99)` is the p99 (1 is the maximum). */
export function quantiles(samples: ArrayLike<number>): (q: number) => number {
  const sorted = Float64Array.from(samples).sort();
  return (q) => Math.round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) * 100) / 100;
}
