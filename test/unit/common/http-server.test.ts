// The plain-HTTP ops port (sidecar :8210, webhook :8080) is reachable by any pod the cluster's
// NetworkPolicy lets through. A hostile client must not be able to hold it: connections are capped
// and a full port makes room for newcomers, idle ones are closed, a slow request is cut off, and a
// body is refused. SECURITY.md, "the sidecar's HTTP port"; docs/adr/0005-ops-port-fairness.md.
// Linux routes all of 127.0.0.0/8 to loopback, so a client bound to 127.0.0.2 is another source.
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { OPS_SERVER_LIMITS, createQuietFastify } from '../../../common/http-server.js';
import { createLogger } from '../../../common/logger.js';

let logs: Array<Record<string, unknown>> = [];
const logger = createLogger({
  name: 'ops-test',
  level: 'info',
  destination: {
    write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>),
  },
});

let app: FastifyInstance | undefined;
const sockets: Socket[] = [];
/** Requests to /hang wait here until the test ends. */
const releaseHanging: Array<() => void> = [];
afterEach(async () => {
  for (const release of releaseHanging.splice(0)) release();
  for (const s of sockets.splice(0)) s.destroy();
  await app?.close();
  app = undefined;
  logs = [];
});

async function start(limits = OPS_SERVER_LIMITS): Promise<number> {
  app = createQuietFastify(logger, limits);
  app.get('/status', async () => ({ ok: true }));
  app.post('/status', async () => ({ ok: true }));
  app.get(
    '/hang',
    () =>
      new Promise<{ ok: boolean }>((resolve) => releaseHanging.push(() => resolve({ ok: true }))),
  );
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Opens a connection and resolves with what it received when the server closed it. */
function open(
  port: number,
  send = '',
  localAddress = '127.0.0.1',
): Promise<{ socket: Socket; closed: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    sockets.push(socket);
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString('utf8')));
    const closed = new Promise<string>((done) => socket.on('close', () => done(received)));
    socket.once('error', reject);
    socket.once('connect', () => {
      if (send !== '') socket.write(send);
      resolve({ socket, closed });
    });
  });
}

/** Resolves 'closed' when the server closes the socket, 'still open' after `ms` (a generous bound). */
function closedWithin(closed: Promise<string>, ms = 4_000): Promise<'closed' | 'still open'> {
  return Promise.race([
    closed.then(() => 'closed' as const),
    new Promise<'still open'>((resolve) => setTimeout(() => resolve('still open'), ms)),
  ]);
}

/**
 * A kubelet-like probe: a fresh connection, one GET, `Connection: close`. The kubelet gives up
 * after 1 s by default; 3 s here for a loaded CI machine. Resolves the status or the error's code.
 */
function probe(
  port: number,
  path = '/status',
  localAddress = '127.0.0.1',
): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path, localAddress, agent: false, timeout: 3_000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    req.end();
  });
}

const KEEP_ALIVE_GET = 'GET /status HTTP/1.1\r\nHost: x\r\n\r\n';

/**
 * One client holding `count` connections: half sent one request and keep the connection alive, half
 * never sent a byte. Resolves once each is established (and answered) or closed by the server.
 */
async function holdIdle(port: number, count: number, localAddress = '127.0.0.1') {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const held = await open(port, i % 2 === 0 ? KEEP_ALIVE_GET : '', localAddress);
      if (i % 2 === 0) {
        await Promise.race([
          held.closed,
          new Promise((resolve) => held.socket.once('data', resolve)),
        ]);
      }
      return held;
    }),
  );
}

/** Waits until `count` requests to /hang are being served (the test's timeout bounds it). */
async function untilHanging(count: number): Promise<void> {
  while (releaseHanging.length < count) await new Promise((resolve) => setTimeout(resolve, 10));
}

const warnings = (msg: string) => logs.filter((line) => line.msg === msg);
const EVICTED = 'connection limit reached: closed the longest-idle connection to let a new one in';
const REFUSED =
  'connection limit reached: every connection is serving a request, the new one is closed';

describe('the ops HTTP server', () => {
  it('has bounds by default: caps in total and per source, idle and request deadlines, a tiny body limit', async () => {
    await start();
    expect(app!.server.headersTimeout).toBe(OPS_SERVER_LIMITS.requestTimeoutMs);
    expect(app!.server.requestTimeout).toBe(OPS_SERVER_LIMITS.requestTimeoutMs);
    expect(app!.server.keepAliveTimeout).toBe(OPS_SERVER_LIMITS.idleTimeoutMs);
    expect(OPS_SERVER_LIMITS).toMatchObject({ maxConnections: 64, maxConnectionsPerSource: 16 });
    expect(OPS_SERVER_LIMITS.idleTimeoutMs).toBeLessThanOrEqual(5_000);
    expect(OPS_SERVER_LIMITS.requestTimeoutMs).toBeLessThanOrEqual(30_000);
  });

  describe('one client holding more connections than the cap, all idle', () => {
    it('keeps no probe out: each newcomer gets in, and the closing is logged once', async () => {
      const port = await start();
      const held = await holdIdle(port, OPS_SERVER_LIMITS.maxConnections + 16);
      const answers: Array<number | string> = [];
      for (let i = 0; i < 40; i++) answers.push(await probe(port));
      expect(answers).toEqual(Array.from({ length: 40 }, () => 200));
      // The holder's oldest connections made room, the rest of its connections were not touched.
      expect(await closedWithin(held[0]!.closed)).toBe('closed');
      expect(held.at(-1)!.socket.destroyed).toBe(false);
      expect(warnings(EVICTED)).toEqual([
        expect.objectContaining({
          level: 'warn',
          port,
          limit: 'per-source',
          maxConnections: 64,
          maxConnectionsPerSource: 16,
          source: '127.0.0.1',
          closedSource: '127.0.0.1',
          suppressed: 0,
        }),
      ]);
    });
  });

  describe('a source at its own cap', () => {
    const limits = { ...OPS_SERVER_LIMITS, maxConnections: 8, maxConnectionsPerSource: 2 };

    it('makes room by closing its own longest-idle connection, never another source’s', async () => {
      const port = await start(limits);
      const first = await open(port, '', '127.0.0.2');
      const second = await open(port, '', '127.0.0.2');
      const other = await open(port, '', '127.0.0.1');
      const third = await open(port, '', '127.0.0.2');
      expect(await closedWithin(first.closed)).toBe('closed');
      expect([second.socket.destroyed, third.socket.destroyed, other.socket.destroyed]).toEqual([
        false,
        false,
        false,
      ]);
      expect(await probe(port, '/status', '127.0.0.2')).toBe(200);
    });

    it('gets no more while all of its connections serve a request, and another source still does', async () => {
      const port = await start(limits);
      const hanging = await holdIdle(port, 0);
      for (let i = 0; i < 2; i++) {
        hanging.push(await open(port, 'GET /hang HTTP/1.1\r\nHost: x\r\n\r\n', '127.0.0.2'));
      }
      await untilHanging(2);
      const refused = await open(port, '', '127.0.0.2');
      expect(await closedWithin(refused.closed)).toBe('closed');
      expect(await probe(port, '/status', '127.0.0.1')).toBe(200);
      // The busy ones were not closed to make room: released, they are answered.
      for (const release of releaseHanging.splice(0)) release();
      for (const h of hanging) {
        await new Promise((resolve) => h.socket.once('data', resolve));
      }
      expect(warnings(REFUSED)).toEqual([
        expect.objectContaining({ limit: 'per-source', source: '127.0.0.2' }),
      ]);
    });
  });

  it('never closes a connection serving a request: past the cap, the newcomer is refused', async () => {
    const port = await start({
      ...OPS_SERVER_LIMITS,
      maxConnections: 2,
      maxConnectionsPerSource: 2,
    });
    const hanging = [
      await open(port, 'GET /hang HTTP/1.1\r\nHost: x\r\n\r\n'),
      await open(port, 'GET /hang HTTP/1.1\r\nHost: x\r\n\r\n', '127.0.0.2'),
    ];
    await untilHanging(2);
    const extra = await open(port, '', '127.0.0.3');
    expect(await extra.closed).toBe(''); // closed by the server, nothing answered
    for (const release of releaseHanging.splice(0)) release();
    for (const h of hanging) {
      await new Promise((resolve) => h.socket.once('data', resolve));
    }
    expect(warnings(REFUSED)).toEqual([expect.objectContaining({ limit: 'total' })]);
  });

  describe('idle connections are closed after the idle timeout', () => {
    const limits = { ...OPS_SERVER_LIMITS, idleTimeoutMs: 300 };

    it('one that never sends a request', async () => {
      const port = await start(limits);
      const silent = await open(port);
      expect(await closedWithin(silent.closed)).toBe('closed');
    });

    it('one kept alive after its answer', async () => {
      const port = await start(limits);
      const [kept] = await holdIdle(port, 1);
      expect(await closedWithin(kept!.closed)).toBe('closed');
      expect(await kept!.closed).toMatch(/^HTTP\/1\.1 200 OK/);
    });
  });

  it('cuts off a client that never finishes its headers', async () => {
    const port = await start({ ...OPS_SERVER_LIMITS, requestTimeoutMs: 500 });
    const slow = await open(port, 'GET /status HTTP/1.1\r\nHost: x\r\n');
    // The server ends it (408 or a bare close); without the deadline this waits for the test timeout.
    expect(await slow.closed).not.toContain('200 OK');
  });

  it('refuses a request body past the limit with 413', async () => {
    const port = await start();
    const answer = await fetch(`http://127.0.0.1:${port}/status`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pad: 'x'.repeat(OPS_SERVER_LIMITS.bodyLimitBytes) }),
    });
    expect(answer.status).toBe(413);
  });
});
