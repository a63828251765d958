import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { perSourceCap } from './connection-fairness.js';
import { guardConnections, type GuardLimits } from './connection-guard.js';

/**
 * Bounds on what clients of a plain-HTTP ops port can hold. Anything in the cluster may reach the
 * sidecar's :8210 and the webhook's :8080 (the NetworkPolicy of a Vault namespace is the user's),
 * and these ports only ever answer small GETs to the kubelet, Prometheus and a human. Without
 * bounds Node keeps idle connections without limit and waits 60 s for headers and 300 s for a
 * request, so one pod could hold thousands of sockets and push the sidecar past its 128 Mi limit.
 * A plain cap is not enough: one client holding all 64 idle sockets kept every kubelet probe out
 * (issue 21), so a full listener closes an idle connection to let the newcomer in
 * (common/connection-guard.ts, docs/adr/0005-ops-port-fairness.md).
 */
export interface OpsServerLimits extends GuardLimits {
  /** Open connections at most; past it the longest-idle one is closed for the newcomer. */
  readonly maxConnections: number;
  /** Time to receive one request's headers and body; then 408 and close. */
  readonly requestTimeoutMs: number;
  /** Largest request body: every route is a GET. */
  readonly bodyLimitBytes: number;
}

export const OPS_SERVER_LIMITS: OpsServerLimits = Object.freeze({
  maxConnections: 64,
  maxConnectionsPerSource: perSourceCap(64),
  // Node's own default keep-alive timeout; kubelet probes never reuse a connection, and Prometheus
  // reconnects at the next scrape (fastify's default is 72 s).
  idleTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  bodyLimitBytes: 1_024,
});

/**
 * A plain-HTTP fastify instance that logs through our pino logger, without a line per request:
 * kubelet probes and Prometheus scrapes would otherwise write several lines every few seconds.
 */
export function createQuietFastify(
  logger: Logger,
  limits: OpsServerLimits = OPS_SERVER_LIMITS,
): FastifyInstance {
  // pino's Logger is a FastifyBaseLogger; the widening keeps the instance's default type parameters.
  const loggerInstance: FastifyBaseLogger = logger;
  const app = Fastify({
    loggerInstance,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: limits.bodyLimitBytes,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.idleTimeoutMs,
    // Node checks both timeouts only on this sweep (default every 30 s).
    http: {
      headersTimeout: limits.requestTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(1_000, limits.requestTimeoutMs),
    },
  });
  guardConnections(app.server, { limits, logger });
  return app;
}
