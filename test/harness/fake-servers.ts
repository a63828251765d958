// Small misbehaving servers on loopback, for what a real OpenBao never does on its own: record
// requests that should never arrive (a proxy, a redirect target), answer with a redirect, hang,
// dribble one byte at a time, or stream an endless answer. Each listens on a free port on 127.0.0.1
// and closes every connection it holds when closed, so no test waits on a dangling socket.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  readonly method: string;
  /** The request target as sent: a path, an absolute URL (proxy style) or host:port (CONNECT). */
  readonly target: string;
  readonly body: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface FakeServer {
  readonly url: string;
  readonly port: number;
  readonly requests: Recorded[];
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, recorded: Recorded) => void;

async function listen(server: Server | NetServer): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

function closer(server: Server | NetServer, sockets: Set<Socket>): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
}

function track(server: Server | NetServer): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return sockets;
}

/** An HTTP server that records every request (body included) and lets `handler` answer it. */
export async function startRecordingServer(handler: Handler): Promise<FakeServer> {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      const recorded = {
        method: req.method ?? '',
        target: req.url ?? '',
        body,
        headers: req.headers,
      };
      requests.push(recorded);
      handler(req, res, recorded);
    });
  });
  // A proxy is asked for https:// targets with CONNECT: record that too, then refuse.
  server.on('connect', (req: IncomingMessage, socket: Socket) => {
    requests.push({ method: 'CONNECT', target: req.url ?? '', body: '', headers: req.headers });
    socket.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
  });
  const sockets = track(server);
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, port, requests, close: closer(server, sockets) };
}

/** A would-be proxy: records whatever reaches it and answers 502 to all of it. */
export function startRecordingProxy(): Promise<FakeServer> {
  return startRecordingServer((_req, res) => {
    res.writeHead(502, { 'content-type': 'text/plain' }).end('recording proxy: not forwarding');
  });
}

/** A sealed 5-of-3 server's seal-status answer, as OpenBao 2.7 gives it. */
export const SEALED_STATUS = {
  type: 'shamir',
  initialized: true,
  sealed: true,
  t: 3,
  n: 5,
  progress: 0,
  nonce: '',
  version: '2.7.2',
  migration: false,
  recovery_seal: false,
  storage_type: 'raft',
};

export function answerJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': text.length });
  res.end(text);
}

/** A TCP server that hands each connection to `onConnection` and counts the bytes it wrote. */
export interface RawServer extends FakeServer {
  /** Bytes written to connections so far (accepted by the kernel, not necessarily read). */
  bytesSent(): number;
  /** Resolves once a connection has closed, i.e. the client hung up. */
  readonly clientGone: Promise<void>;
}

export async function startRawServer(onConnection: (socket: Socket) => void): Promise<RawServer> {
  let gone: () => void = () => undefined;
  const clientGone = new Promise<void>((resolve) => (gone = resolve));
  const all = new Set<Socket>();
  const server = createNetServer((socket) => {
    socket.on('error', () => undefined);
    socket.once('close', () => gone());
    onConnection(socket);
  });
  const sockets = track(server);
  server.on('connection', (socket: Socket) => all.add(socket));
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests: [],
    clientGone,
    bytesSent: () => [...all].reduce((sum, socket) => sum + socket.bytesWritten, 0),
    close: closer(server, sockets),
  };
}

/** Writes `text` one byte every `everyMs`, until the text ends or the client hangs up. */
export function dribble(socket: Socket, text: string, everyMs: number): void {
  let at = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || at >= text.length) {
      clearInterval(timer);
      return;
    }
    socket.write(text.charAt(at));
    at += 1;
  }, everyMs);
  socket.once('close', () => clearInterval(timer));
}

/**
 * Streams `totalBytes` of JSON-looking filler as fast as the client reads it, honouring
 * back-pressure, so the bytes sent measure what the client accepted before hanging up. With
 * `declared: false` the answer is chunked, so its size shows only while reading it.
 */
export function streamHugeAnswer(socket: Socket, totalBytes: number, declared: boolean): void {
  socket.write(
    'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n' +
      (declared ? `content-length: ${totalBytes}\r\n\r\n` : 'transfer-encoding: chunked\r\n\r\n'),
  );
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  let left = totalBytes;
  const frame = (piece: Buffer): Buffer =>
    declared
      ? piece
      : Buffer.concat([
          Buffer.from(`${piece.length.toString(16)}\r\n`),
          piece,
          Buffer.from('\r\n'),
        ]);
  const pump = (): void => {
    while (left > 0 && !socket.destroyed) {
      const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
      left -= piece.length;
      if (!socket.write(frame(piece))) {
        socket.once('drain', pump);
        return;
      }
    }
    if (left === 0 && !declared && !socket.destroyed) socket.write('0\r\n\r\n');
  };
  pump();
}
