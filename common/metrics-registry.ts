import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * How often the event-loop lag histogram samples, in ms. prom-client's default, 10 ms, wakes an
 * idle process 100 times a second: profiled on an idle sidecar, that was most of its idle CPU
 * (about 29 CPU-seconds an hour; about 4 with one sample a second). A blocked loop still shows,
 * as one late sample: the lag metrics keep their meaning, at a coarser grain.
 */
export const EVENT_LOOP_SAMPLE_MS = 1_000;

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
  }
  return registry;
}
