// Summaries of repeated measures. Pure.

/** The q-quantile (0..1) of `values` by nearest rank; NaN for no values. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

export interface Summary {
  readonly n: number;
  readonly median_ms: number;
  readonly p95_ms: number;
  readonly min_ms: number;
  readonly max_ms: number;
}

export function summarise(values: readonly number[]): Summary {
  const round = (x: number): number => Math.round(x * 10) / 10;
  return {
    n: values.length,
    median_ms: round(quantile(values, 0.5)),
    p95_ms: round(quantile(values, 0.95)),
    min_ms: round(Math.min(...values)),
    max_ms: round(Math.max(...values)),
  };
}
