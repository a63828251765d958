// The plain-HTTP ops port (sidecar :8210, webhook :8080) is reachable by any pod the cluster's
// NetworkPolicy lets through. A hostile client must not be able to hold it: connections are capped,
// a slow request is cut off, and a body is refused. SECURITY.md, "the sidecar's HTTP port".
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { OPS_SERVER_LIMITS, createQuietFastify } from '../../../common/http-server.js';
import { createLogger } from '../../../common/logger.js';

const logger = createLogger({
  name: 'ops-test',
  level: 'silent',
  destination: new Writable({ write: (_c, _e, done) => done() }),
});

let app: FastifyInstance | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await app?.close();
  app = undefined;
});

async function start(limits = OPS_SERVER_LIMITS): Promise<number> {
  app = createQuietFastify(logger, limits);
  app.get('/status', async () => ({ ok: true }));
  app.post('/status', async () => ({ ok: true }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Opens a connection and resolves with what it received when the server closed it. */
function open(port: number, send = ''): Promise<{ socket: Socket; closed: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
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

describe('the ops HTTP server', () => {
  it('has bounds by default: a connection cap, a request deadline, a tiny body limit', async () => {
    await start();
    expect(app!.server.maxConnections).toBe(OPS_SERVER_LIMITS.maxConnections);
    expect(app!.server.headersTimeout).toBe(OPS_SERVER_LIMITS.requestTimeoutMs);
    expect(app!.server.requestTimeout).toBe(OPS_SERVER_LIMITS.requestTimeoutMs);
    expect(OPS_SERVER_LIMITS.maxConnections).toBeLessThanOrEqual(128);
    expect(OPS_SERVER_LIMITS.requestTimeoutMs).toBeLessThanOrEqual(30_000);
  });

  it('closes connections past the cap at once, and still serves once they go', async () => {
    const port = await start({ ...OPS_SERVER_LIMITS, maxConnections: 3 });
    const held = await Promise.all([open(port), open(port), open(port)]);
    const extra = await open(port);
    expect(await extra.closed).toBe(''); // closed by the server, nothing answered
    for (const h of held) h.socket.destroy();
    await Promise.all(held.map((h) => h.closed));
    const answer = await fetch(`http://127.0.0.1:${port}/status`);
    expect(answer.status).toBe(200);
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
