/** Small statistics for the benchmark: percentiles, medians, per-second buckets. */

/** The p-th percentile (0..100) by the nearest-rank method; NaN for no samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

export function max(samples: readonly number[]): number {
  return samples.length === 0 ? Number.NaN : Math.max(...samples);
}

/** Counts of `times` (ms) per whole second since `start`, for `seconds` seconds. */
export function perSecond(times: readonly number[], start: number, seconds: number): number[] {
  const buckets = Array.from({ length: Math.max(0, seconds) }, () => 0);
  for (const t of times) {
    const i = Math.floor((t - start) / 1000);
    if (i >= 0 && i < buckets.length) buckets[i]! += 1;
  }
  return buckets;
}

export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
