import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export interface OpsProbes {
  /** Liveness: is the process doing its job loop? Never tied to the state of anything it watches. */
  readonly isLive: () => boolean;
  /** Readiness: is it listening and looping? */
  readonly isReady: () => boolean;
}

/** `/healthz`, `/readyz` and `/metrics`, shared by the sidecar and the webhook's plain-HTTP port. */
export function registerOpsRoutes(
  app: FastifyInstance,
  deps: { readonly registry: Registry; readonly probes: OpsProbes },
): void {
  app.get('/healthz', async (_request, reply) => {
    const live = deps.probes.isLive();
    return reply.code(live ? 200 : 503).send({ status: live ? 'ok' : 'stalled' });
  });
  app.get('/readyz', async (_request, reply) => {
    const ready = deps.probes.isReady();
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready' });
  });
  app.get('/metrics', async (_request, reply) => {
    const body = await deps.registry.metrics();
    return reply.type(deps.registry.contentType).send(body);
  });
}
