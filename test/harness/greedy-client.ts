// One misbehaving client of a listener, and the kubelet beside it (issue 21, items 4 and 5): the
// client holds as many connections as it can and sends nothing on them, or one request and then
// keeps the connection alive; the kubelet opens a fresh connection for each probe.
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';

export interface GreedyTarget {
  readonly port: number;
  /** Set for an HTTPS listener: half the connections finish TLS and idle, half never send a ClientHello. */
  readonly tls?: { readonly ca: string; readonly servername: string };
  /** Plain HTTP: half the connections send one GET of this path and keep the connection alive. */
  readonly path?: string;
}

export interface GreedyClient {
  /** Connections open now. */
  held(): number;
  /** Connections the server closed so far. */
  closedByServer(): number;
  stop(): void;
}

/** The kubelet's probe: a fresh connection, one GET, `Connection: close`; its status, or the error's code. */
export function kubeletProbe(
  port: number,
  path: string,
  timeoutMs: number,
): Promise<number | string> {
  return new Promise((resolve) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    req.end();
  });
}

/**
 * Opens `count` connections to 127.0.0.1:`port`; resolves once each is established (TLS finished,
 * or its request answered) or closed by the server. With `reopenAfterMs`, a connection the server
 * closes is opened again after that pause, silent, until `stop()`. (Reopened ones send nothing: a
 * connection serving a request is never closed for a newcomer, so a client from the kubelet's own
 * address that keeps every one of its connections busy could refuse it; in a pod the kubelet is
 * another address. docs/adr/0005-ops-port-fairness.md.)
 */
export async function greedyClient(
  target: GreedyTarget,
  count: number,
  options: { readonly reopenAfterMs?: number } = {},
): Promise<GreedyClient> {
  const open = new Set<net.Socket>();
  let closed = 0;
  let stopped = false;

  const connect = (index: number, reopened = false): Promise<void> =>
    new Promise((settled) => {
      const talk = index % 2 === 0 && !reopened;
      const socket =
        target.tls && talk
          ? tls.connect({
              host: '127.0.0.1',
              port: target.port,
              ca: target.tls.ca,
              servername: target.tls.servername,
            })
          : net.connect({ host: '127.0.0.1', port: target.port });
      open.add(socket);
      socket.on('error', () => undefined);
      // Flowing, so the server's FIN is read and the close seen (answers are thrown away).
      socket.resume();
      socket.once('close', () => {
        open.delete(socket);
        settled();
        if (stopped) return;
        closed += 1;
        if (options.reopenAfterMs !== undefined) {
          setTimeout(() => void connect(index, true), options.reopenAfterMs).unref();
        }
      });
      if (target.tls) {
        if (talk) socket.once('secureConnect', settled);
        else socket.once('connect', settled);
      } else if (talk && target.path) {
        socket.once('connect', () =>
          socket.write(`GET ${target.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`),
        );
        socket.once('data', () => settled());
      } else {
        socket.once('connect', settled);
      }
    });

  await Promise.all(Array.from({ length: count }, (_, index) => connect(index)));
  return {
    held: () => open.size,
    closedByServer: () => closed,
    stop: () => {
      stopped = true;
      for (const socket of open) socket.destroy();
    },
  };
}
