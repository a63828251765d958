// Rendering the registry is the costly part of a scrape (prom-client reads /proc and walks every
// series: about 1 ms of CPU and 9 KB for the sidecar). Under a CPU limit of 200m a flood of /metrics
// requests took the sidecar's time-to-unseal from 39 ms to seconds (issue 21), so renders are
// shared: scrapes that arrive while one runs wait for it, and its body is served again for a while
// after it ends. How long scales with what the render cost: renders take at most `renderShare` of
// the time, whatever the number of scrapers, and a reader who scrapes again a moment later (a
// human after an action, a test) still gets a body rendered after the action.

export interface MetricsCacheOptions {
  /** The largest share of wall time renders may take: a body is reused for `(1 / share − 1)` times its render's duration. */
  readonly renderShare: number;
  /** A body is never reused for longer than this. */
  readonly maxAgeMs: number;
  /** Monotonic milliseconds. */
  readonly now: () => number;
}

/**
 * Renders take at most 5 % of the time: a 1 ms render is reused for 19 ms, one slowed to 50 ms by
 * CPU throttling for 950 ms. Never more than 1 s: Prometheus scrapes a target every 10 s or more,
 * and a body that old changes no graph and no alert.
 */
export const METRICS_CACHE = Object.freeze({ renderShare: 0.05, maxAgeMs: 1_000 });

/** `render` wrapped: at most one render in flight, its body reused after it ends (see above). */
export function cachedRender(
  render: () => Promise<string>,
  options: MetricsCacheOptions,
): () => Promise<string> {
  const reuseFactor = 1 / options.renderShare - 1;
  let last: { readonly body: string; readonly until: number } | undefined;
  let pending: Promise<string> | undefined;
  return () => {
    if (last && options.now() < last.until) return Promise.resolve(last.body);
    if (pending) return pending;
    const started = options.now();
    pending = render().then(
      (body) => {
        const ended = options.now();
        const reuseMs = Math.min(options.maxAgeMs, (ended - started) * reuseFactor);
        last = { body, until: ended + reuseMs };
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
