// The two servers, built and not started (only main.ts listens):
// - admission: HTTPS, `POST /mutate` and its per-entry variants (docs/adr/0002-namespace-opt-in.md);
// - ops: plain HTTP, `/healthz`, `/readyz`, `/metrics`, for kubelet probes and Prometheus.
import { MAX_JSON_DEPTH, nestsDeeperThan } from './json-depth.js';
import type { Server as HttpsServer } from 'node:https';
import {
  fastify,
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { perSourceCap } from '../common/connection-fairness.js';
import { guardConnections, type GuardLimits } from '../common/connection-guard.js';
import { createQuietFastify } from '../common/http-server.js';
import { registerOpsRoutes } from '../common/ops-routes.js';
import { reviewAdmission, type AdmissionContext } from './admission.js';
import type { WebhookConfig } from './config.js';
import type { WebhookMetrics } from './metrics.js';
import type { NamespaceInjection } from './should-inject.js';

/**
 * One path per MutatingWebhookConfiguration entry, so the webhook knows what the namespace
 * selector of the entry that called it established (AdmissionReviews carry no namespace labels).
 */
export const ADMISSION_PATHS: Readonly<Record<string, NamespaceInjection>> = {
  '/mutate': 'absent',
  '/mutate/namespace-enabled': 'enabled',
  '/mutate/namespace-invalid': 'invalid',
};

export interface WebhookServerDeps {
  readonly config: Pick<WebhookConfig, 'namespace' | 'maxBodyBytes' | 'limits' | 'sidecar'>;
  /** The initial certificate and key (PEM). Replace later with `setSecureContext`. */
  readonly tls: { readonly cert: string; readonly key: string };
  readonly logger: Logger;
  readonly registry: Registry;
  readonly metrics: WebhookMetrics;
}

export interface WebhookServers {
  readonly admission: FastifyInstance<HttpsServer>;
  readonly ops: FastifyInstance;
  /** Swap the served certificate for new TLS handshakes; open connections keep theirs. */
  setSecureContext(tls: { readonly cert: string; readonly key: string }): void;
}

/** The body is parsed here rather than by fastify so every malformed body gets the same 400. */
function parseJsonBody(
  _request: FastifyRequest,
  body: string,
  done: (err: Error | null, body?: unknown) => void,
): void {
  if (body.trim() === '') {
    done(null, undefined);
    return;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    done(badRequest('the body is not valid JSON'));
    return;
  }
  if (nestsDeeperThan(parsed, MAX_JSON_DEPTH)) {
    done(
      badRequest(`the body nests deeper than ${MAX_JSON_DEPTH} levels; no AdmissionReview does`),
    );
    return;
  }
  done(null, parsed);
}

function badRequest(message: string): FastifyError {
  const error = new Error(message) as FastifyError;
  error.statusCode = 400;
  return error;
}

function registerAdmissionRoutes(app: FastifyInstance<HttpsServer>, deps: WebhookServerDeps): void {
  const { metrics, logger, config } = deps;
  for (const [path, namespaceInjection] of Object.entries(ADMISSION_PATHS)) {
    const context: AdmissionContext = {
      ownNamespace: config.namespace,
      namespaceInjection,
      sidecar: config.sidecar,
    };
    app.post(path, async (request: FastifyRequest, reply: FastifyReply) => {
      const started = process.hrtime.bigint();
      const result = reviewAdmission(request.body, context);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (result.kind === 'invalid') {
        metrics.recordAdmission('error', 'bad-request', seconds);
        logger.warn({ path, message: result.message }, 'malformed admission review');
        return reply
          .code(result.httpStatus)
          .send({ code: 'BAD_ADMISSION_REVIEW', message: result.message });
      }
      const { outcome } = result;
      metrics.recordAdmission(outcome.result, outcome.reason, seconds);
      const fields = {
        ...result.log,
        path,
        result: outcome.result,
        reason: outcome.reason,
        detail: result.detail,
      };
      // Skips are the common case behind the catch-all entry: keep them out of info logs.
      if (outcome.result === 'skipped') logger.debug(fields, 'admission');
      else if (outcome.result === 'injected') logger.info(fields, 'admission');
      else logger.warn(fields, 'admission');
      return reply.code(200).send(result.body);
    });
  }
}

/** Widened so both servers have fastify's default instance type. */
function baseLogger(logger: Logger): FastifyBaseLogger {
  return logger;
}

/**
 * What one client can hold of the listener (WEBHOOK_TLS_HANDSHAKE_TIMEOUT, WEBHOOK_REQUEST_TIMEOUT,
 * WEBHOOK_MAX_CONNECTIONS), as options of Node's https server:
 * - `handshakeTimeout`: Node's default is 120 s for a socket that never sends a ClientHello;
 * - `headersTimeout` and `requestTimeout`: slow headers, then a slow body. Node enforces both only
 *   when it sweeps its connections, every `connectionsCheckingInterval` (30 s by default), so a
 *   15 s timeout used to let slow headers live for 37 s: the sweep runs at least once a second.
 * fastify sets `requestTimeout` again after creating the server: it gets the same value.
 */
function connectionOptions(limits: WebhookServerDeps['config']['limits']): {
  handshakeTimeout: number;
  headersTimeout: number;
  requestTimeout: number;
  connectionsCheckingInterval: number;
} {
  return {
    handshakeTimeout: limits.handshakeTimeoutMs,
    headersTimeout: limits.requestTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    connectionsCheckingInterval: Math.min(1_000, limits.requestTimeoutMs),
  };
}

/**
 * An admission connection serving no request for this long is closed. The apiserver reconnects
 * cheaply, and fastify's default (72 s) let 1,000 idle TLS connections hold the port for over a
 * minute (issue 21). 5 s is Node's own default, which Go clients such as the apiserver meet
 * everywhere.
 */
export const ADMISSION_IDLE_TIMEOUT_MS = 5_000;

/**
 * Past WEBHOOK_MAX_CONNECTIONS, or a quarter of it from one address, the longest-idle connection
 * is closed for the newcomer; the newcomer only when every connection is serving a review
 * (common/connection-guard.ts, docs/adr/0005-ops-port-fairness.md).
 */
function admissionGuardLimits(limits: WebhookServerDeps['config']['limits']): GuardLimits {
  return {
    maxConnections: limits.maxConnections,
    maxConnectionsPerSource: perSourceCap(limits.maxConnections),
    idleTimeoutMs: ADMISSION_IDLE_TIMEOUT_MS,
  };
}

function buildAdmissionServer(deps: WebhookServerDeps): FastifyInstance<HttpsServer> {
  const { limits } = deps.config;
  const app = fastify({
    https: {
      cert: deps.tls.cert,
      key: deps.tls.key,
      minVersion: 'TLSv1.2',
      ...connectionOptions(limits),
    },
    bodyLimit: deps.config.maxBodyBytes,
    loggerInstance: baseLogger(deps.logger),
    logController: new LogController({ disableRequestLogging: true }),
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: ADMISSION_IDLE_TIMEOUT_MS,
    return503OnClosing: true,
  }) as unknown as FastifyInstance<HttpsServer>;
  guardConnections(app.server, { limits: admissionGuardLimits(limits), logger: deps.logger });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, parseJsonBody);
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status =
      error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500;
    if (request.url.startsWith('/mutate')) {
      deps.metrics.recordAdmission('error', status === 413 ? 'body-too-large' : 'bad-request', 0);
    }
    deps.logger.warn(
      { status, code: error.code, message: error.message },
      'admission request rejected',
    );
    const message =
      status === 413 ? `the body is larger than ${deps.config.maxBodyBytes} bytes` : error.message;
    return reply.code(status).send({ code: error.code ?? 'ERROR', message });
  });
  registerAdmissionRoutes(app, deps);
  return app;
}

export function buildWebhookServer(deps: WebhookServerDeps): WebhookServers {
  const admission = buildAdmissionServer(deps);
  const ops = createQuietFastify(deps.logger);
  registerOpsRoutes(ops, {
    registry: deps.registry,
    probes: {
      isLive: () => true,
      // Ready once the HTTPS listener is up: the Service must not send reviews before.
      isReady: () => admission.server.listening,
    },
  });
  return {
    admission,
    ops,
    setSecureContext: (tls) => admission.server.setSecureContext({ cert: tls.cert, key: tls.key }),
  };
}
