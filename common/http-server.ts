import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

/**
 * A plain-HTTP fastify instance that logs through our pino logger, without a line per request:
 * kubelet probes and Prometheus scrapes would otherwise write several lines every few seconds.
 */
export function createQuietFastify(logger: Logger): FastifyInstance {
  // pino's Logger is a FastifyBaseLogger; the widening keeps the instance's default type parameters.
  const loggerInstance: FastifyBaseLogger = logger;
  return Fastify({
    loggerInstance,
    logController: new LogController({ disableRequestLogging: true }),
  });
}
