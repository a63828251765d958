import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
} from 'fastify';
import type { Logger } from 'pino';

/**
 * A fastify instance that logs through our pino logger, without a line per request: kubelet probes
 * and Prometheus scrapes would otherwise write several lines every few seconds.
 */
export function createQuietFastify(
  logger: Logger,
  options: FastifyServerOptions = {},
): FastifyInstance {
  return Fastify({
    ...options,
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  });
}
