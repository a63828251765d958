// The sidecar's plain-HTTP listener: /healthz, /readyz, /metrics (common/ops-routes.ts) and /status.
// Built, not started: main.ts listens; tests use app.inject() or listen on 127.0.0.1:0.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createQuietFastify } from '../common/http-server.js';
import { registerOpsRoutes } from '../common/ops-routes.js';
import type { Unsealer } from './unsealer.js';

export function buildSidecarServer(deps: {
  readonly unsealer: Unsealer;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly address: string;
}): FastifyInstance {
  const app = createQuietFastify(deps.logger.child({ component: 'http' }));
  registerOpsRoutes(app, {
    registry: deps.registry,
    probes: {
      isLive: () => deps.unsealer.isLive(),
      // Never gated on seal state or keys: a failing readiness probe on any container takes the
      // whole Vault pod out of its Service (README, Endpoints).
      isReady: () => deps.unsealer.isRunning(),
    },
  });
  app.get('/status', (_request, reply) =>
    reply.send({ address: deps.address, ...deps.unsealer.view() }),
  );
  return app;
}
