import { performance } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { METRICS_CACHE, cachedRender, type MetricsCacheOptions } from './metrics-cache.js';

export interface OpsProbes {
  /** Liveness: is the process doing its job loop? Never tied to the state of anything it watches. */
  readonly isLive: () => boolean;
  /** Readiness: is it listening and looping? */
  readonly isReady: () => boolean;
}

/** `/healthz`, `/readyz` and `/metrics`, shared by the sidecar and the webhook's plain-HTTP port. */
export function registerOpsRoutes(
  app: FastifyInstance,
  deps: {
    readonly registry: Registry;
    readonly probes: OpsProbes;
    /** How rendered metrics are reused (common/metrics-cache.ts); METRICS_CACHE on the monotonic clock by default. */
    readonly metricsCache?: MetricsCacheOptions;
  },
): void {
  const renderMetrics = cachedRender(
    () => deps.registry.metrics(),
    deps.metricsCache ?? { ...METRICS_CACHE, now: () => performance.now() },
  );
  app.get('/healthz', async (_request, reply) => {
    const live = deps.probes.isLive();
    return reply.code(live ? 200 : 503).send({ status: live ? 'ok' : 'stalled' });
  });
  app.get('/readyz', async (_request, reply) => {
    const ready = deps.probes.isReady();
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready' });
  });
  app.get('/metrics', async (_request, reply) => {
    const body = await renderMetrics();
    return reply.type(deps.registry.contentType).send(body);
  });
}
