import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One registry per process, passed to whatever registers metrics. prom-client's global registry
 * is never used, so tests can build as many independent instances as they like.
 */
export function createRegistry(
  options: { defaultMetrics: boolean } = { defaultMetrics: true },
): Registry {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
  return registry;
}
