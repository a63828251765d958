// Keeps one client from holding a listener (docs/adr/0005-ops-port-fairness.md): every TCP
// connection is tracked from accept to close, an idle one is closed after `idleTimeoutMs`, and when
// a cap is reached common/connection-fairness.ts picks which idle connection makes room for the
// newcomer. Works for plain HTTP and HTTPS servers alike: it follows the TCP socket, so a client
// that never starts TLS, or never sends a request, is idle from its first moment.
import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import {
  admitConnection,
  type Admission,
  type FairnessLimits,
  type OpenConnection,
} from './connection-fairness.js';
import { createRepeatLimiter } from './repeat-limiter.js';

export interface GuardLimits extends FairnessLimits {
  /** A connection serving no request for this long is closed (also one that never sent a request). */
  readonly idleTimeoutMs: number;
}

interface Tracked extends OpenConnection<string> {
  readonly socket: Socket;
  idleSince: number | null;
  inFlight: number;
  timer: NodeJS.Timeout | undefined;
}

/**
 * One TCP connection's name, the same for the raw socket and the TLS socket over it (a request on
 * HTTPS carries the TLS one): both ends' address and port.
 */
function connectionKey(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}|${socket.localAddress}|${socket.localPort}`;
}

const MESSAGES = {
  evict: 'connection limit reached: closed the longest-idle connection to let a new one in',
  refuse: 'connection limit reached: every connection is serving a request, the new one is closed',
} as const;

export function guardConnections(
  server: HttpServer | HttpsServer,
  options: {
    readonly limits: GuardLimits;
    readonly logger: Logger;
    /** Monotonic milliseconds; tests may pass their own. */
    readonly now?: () => number;
  },
): void {
  const { limits, logger } = options;
  const now = options.now ?? (() => performance.now());
  const open = new Map<string, Tracked>();
  const limiter = createRepeatLimiter();

  const forget = (entry: Tracked): void => {
    clearTimeout(entry.timer);
    if (open.get(entry.id) === entry) open.delete(entry.id);
  };
  const close = (entry: Tracked): void => {
    forget(entry);
    entry.socket.destroy();
  };
  const becomeIdle = (entry: Tracked): void => {
    entry.idleSince = now();
    entry.timer = setTimeout(() => close(entry), limits.idleTimeoutMs);
    entry.timer.unref();
  };

  // Dropped and evicted connections are logged, at most once a minute per kind, with a count.
  // `port` tells the listeners of one process apart (the webhook's 8443 and 8080).
  const report = (admission: Exclude<Admission<string>, { kind: 'accept' }>, socket: Socket) => {
    const source = socket.remoteAddress ?? 'unknown';
    const { log, suppressed } = limiter.shouldLog(`${admission.kind}:${admission.limit}`, now());
    if (!log) return;
    logger.warn(
      {
        port: socket.localPort,
        limit: admission.limit,
        maxConnections: limits.maxConnections,
        maxConnectionsPerSource: limits.maxConnectionsPerSource,
        source,
        ...(admission.kind === 'evict' ? { closedSource: admission.victim.source } : {}),
        suppressed,
      },
      MESSAGES[admission.kind],
    );
  };

  server.on('connection', (socket: Socket) => {
    const source = socket.remoteAddress ?? 'unknown';
    const admission = admitConnection([...open.values()], source, limits);
    if (admission.kind !== 'accept') report(admission, socket);
    if (admission.kind === 'refuse') {
      socket.destroy();
      return;
    }
    if (admission.kind === 'evict') {
      const victim = open.get(admission.victim.id);
      if (victim) close(victim);
    }
    const entry: Tracked = {
      id: connectionKey(socket),
      source,
      socket,
      idleSince: null,
      inFlight: 0,
      timer: undefined,
    };
    open.set(entry.id, entry);
    becomeIdle(entry);
    socket.once('close', () => forget(entry));
  });

  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const entry = open.get(connectionKey(request.socket));
    if (!entry) return;
    clearTimeout(entry.timer);
    entry.idleSince = null;
    entry.inFlight += 1;
    response.once('close', () => {
      entry.inFlight -= 1;
      if (entry.inFlight === 0 && open.get(entry.id) === entry) becomeIdle(entry);
    });
  });

  server.once('close', () => {
    for (const entry of open.values()) clearTimeout(entry.timer);
  });
}
