import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * How often the event-loop lag histogram samples, in ms. prom-client's default, 10 ms, wakes an
 * idle process 100 times a second: profiled on an idle sidecar, that was most of its idle CPU
 * (about 29 CPU-seconds an hour; about 4 with one sample a second). A blocked loop still shows,
 * as one late sample: the lag metrics keep their meaning, at a coarser grain.
 */
export const EVENT_LOOP_SAMPLE_MS = 1_000;

/**
 * The delay histogram's figures. Node records the whole time between two samples, so at one sample
 * a second they read about 1 s on an idle process: a lag that is not there (the soak showed it,
 * docs/soak.md). They are left out; `nodejs_eventloop_lag_seconds`, measured at each scrape, stays.
 */
export const MISLEADING_LAG_METRICS = [
  'nodejs_eventloop_lag_min_seconds',
  'nodejs_eventloop_lag_max_seconds',
  'nodejs_eventloop_lag_mean_seconds',
  'nodejs_eventloop_lag_stddev_seconds',
  'nodejs_eventloop_lag_p50_seconds',
  'nodejs_eventloop_lag_p90_seconds',
  'nodejs_eventloop_lag_p99_seconds',
] as const;

/**
 * One registry per process, passed to whatever registers metrics. prom-client's global registry
 * is never used, so tests can build as many independent instances as they like.
 */
export function createRegistry(
  options: { defaultMetrics: boolean } = { defaultMetrics: true },
): Registry {
  const registry = new Registry();
  if (options.defaultMetrics) {
    collectDefaultMetrics({
      register: registry,
      eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS,
    });
    for (const name of MISLEADING_LAG_METRICS) registry.removeSingleMetric(name);
  }
  return registry;
}
