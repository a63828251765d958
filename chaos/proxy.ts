// A recording HTTP proxy between one sidecar and its server. The sidecar's VAULT_ADDR points here,
// so every request it sends, and the server's answer, is recorded as the server gave it: the
// invariants are then judged on the server's word, not on the sidecar's own logs.
//
// It keeps what a sidecar in a pod would notice: each client connection has its own upstream
// connection, and when the server drops it (a crash, a restart) the client's connection drops too,
// so the sidecar's restart detection still fires. An unreachable server drops the client's socket
// instead of answering, as a refused connection would.
import { createHash } from 'node:crypto';
import { Agent, createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RecordedRequest {
  readonly startedAt: number;
  readonly answeredAt?: number;
  readonly method: string;
  readonly path: string;
  readonly status?: number;
  /** `PUT sys/unseal` only: what was sent (the share only as a digest) and the answer. */
  readonly unseal?: {
    readonly reset: boolean;
    readonly shareDigest?: string;
    readonly sealed?: boolean;
    readonly progress?: number;
    readonly threshold?: number;
    readonly nonce?: string;
  };
}

export interface RecordingProxy {
  readonly addr: string;
  close(): Promise<void>;
}

const MAX_BODY = 64 * 1024;

/** A short digest of a share: enough to tell shares apart, useless to unseal anything. */
export function shareDigest(share: string): string {
  return createHash('sha256').update(share.trim().toLowerCase()).digest('hex').slice(0, 12);
}

export async function startRecordingProxy(
  upstream: { host: string; port: number },
  record: (entry: RecordedRequest) => void,
  clock: () => number = Date.now,
): Promise<RecordingProxy> {
  const agents = new WeakMap<Socket, Agent>();
  const hooked = new WeakSet<Socket>();
  const agentFor = (client: Socket): Agent => {
    let agent = agents.get(client);
    if (!agent) {
      agent = new Agent({ keepAlive: true, maxSockets: 1 });
      agents.set(client, agent);
      client.once('close', () => agent?.destroy());
    }
    return agent;
  };

  const server: Server = createServer((req, res) => {
    const startedAt = clock();
    const client = req.socket;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const path = (req.url ?? '').split('?')[0] ?? '';
      const isUnseal = /\/v1\/sys\/unseal$/.test(path) && req.method !== 'GET';
      const sent = isUnseal ? parseUnsealRequest(body) : undefined;
      const upstreamReq = request({
        host: upstream.host,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: `${upstream.host}:${upstream.port}` },
        agent: agentFor(client),
      });
      upstreamReq.on('socket', (socket: Socket) => {
        if (hooked.has(socket)) return;
        hooked.add(socket);
        // The server closed our upstream connection: close the sidecar's too, as a pod would see.
        socket.once('close', () => client.destroy());
      });
      // The sidecar gave up (its deadline, or it was killed): give up upstream too.
      res.once('close', () => {
        if (!res.writableFinished) upstreamReq.destroy();
      });
      upstreamReq.on('error', () => {
        record({ startedAt, method: req.method ?? '', path, ...(sent ? { unseal: sent } : {}) });
        client.destroy();
      });
      upstreamReq.on('response', (answer: IncomingMessage) => {
        const answerChunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => answerChunks.push(chunk));
        answer.on('error', () => client.destroy());
        answer.on('end', () => {
          const answerBody = Buffer.concat(answerChunks);
          const status = answer.statusCode ?? 0;
          record({
            startedAt,
            answeredAt: clock(),
            method: req.method ?? '',
            path,
            status,
            ...(sent ? { unseal: { ...sent, ...parseUnsealAnswer(answerBody) } } : {}),
          });
          const headers = { ...answer.headers };
          delete headers['transfer-encoding'];
          headers['content-length'] = String(answerBody.length);
          res.writeHead(status, headers);
          res.end(answerBody);
        });
      });
      upstreamReq.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    addr: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function parseUnsealRequest(body: Buffer): { reset: boolean; shareDigest?: string } {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { key?: unknown; reset?: unknown };
    if (parsed.reset === true) return { reset: true };
    if (typeof parsed.key === 'string')
      return { reset: false, shareDigest: shareDigest(parsed.key) };
  } catch {
    // Not JSON: recorded as a submission without a share.
  }
  return { reset: false };
}

function parseUnsealAnswer(body: Buffer): {
  sealed?: boolean;
  progress?: number;
  threshold?: number;
  nonce?: string;
} {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    return {
      ...(typeof parsed.sealed === 'boolean' ? { sealed: parsed.sealed } : {}),
      ...(typeof parsed.progress === 'number' ? { progress: parsed.progress } : {}),
      ...(typeof parsed.t === 'number' ? { threshold: parsed.t } : {}),
      ...(typeof parsed.nonce === 'string' ? { nonce: parsed.nonce } : {}),
    };
  } catch {
    return {};
  }
}
