// Rendering the registry is the costly part of a scrape (prom-client reads /proc and walks every
// series). Under a CPU limit of 200m a flood of /metrics requests took the sidecar's time-to-unseal
// from 39 ms to seconds (issue 21), so renders are shared: one render serves every scrape that
// asks while it runs and for `maxAgeMs` after it, whatever the number of scrapers.

export interface MetricsCacheOptions {
  /** How long a rendered body is served again. */
  readonly maxAgeMs: number;
  /** Monotonic milliseconds. */
  readonly now: () => number;
}

/**
 * Prometheus scrapes a target every 10 s or more (its default is 1 m), and two replicas of it
 * scrape at unrelated moments: a body at most 1 s old changes no graph or alert, and a flood costs
 * one render a second.
 */
export const METRICS_MAX_AGE_MS = 1_000;

/** `render` wrapped: at most one render in flight, and its body reused for `maxAgeMs` after it ends. */
export function cachedRender(
  render: () => Promise<string>,
  options: MetricsCacheOptions,
): () => Promise<string> {
  let last: { readonly body: string; readonly at: number } | undefined;
  let pending: Promise<string> | undefined;
  return () => {
    if (last && options.now() - last.at < options.maxAgeMs) return Promise.resolve(last.body);
    pending ??= render().then(
      (body) => {
        last = { body, at: options.now() };
        pending = undefined;
        return body;
      },
      (error: unknown) => {
        // A failed render is not kept: the next scrape tries again.
        pending = undefined;
        throw error;
      },
    );
    return pending;
  };
}
