// Slow and greedy clients cannot hold the HTTPS listener: a socket that never starts TLS, a request
// whose headers trickle in, and connections past the cap are all closed by the server. The limits
// are set small through buildWebhookServer's config so the test is quick; nothing asserts a timing
// beyond "closed before a generous bound".
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reviewForFixture } from '../../fixtures/webhook/fixtures.js';
import { startWebhook, until, type RunningWebhook } from './support.js';

/** Far above the configured limits, far below the defaults (120 s handshake, 37 s headers). */
const GENEROUS_MS = 8_000;

/** Resolves 'closed' when the server closes the socket, 'still open' after the bound. */
function closedWithin(socket: net.Socket, ms: number): Promise<'closed' | 'still open'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('still open'), ms);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
    socket.on('error', () => undefined);
  });
}

function tlsConnect(webhook: RunningWebhook): tls.TLSSocket {
  return tls.connect({
    host: '127.0.0.1',
    port: webhook.port,
    ca: webhook.ca.certPem,
    servername: 'localhost',
  });
}

function secured(socket: tls.TLSSocket): Promise<boolean> {
  return new Promise((resolve) => {
    socket.once('secureConnect', () => resolve(true));
    socket.once('close', () => resolve(false));
    socket.on('error', () => undefined);
  });
}

async function expectServing(webhook: RunningWebhook): Promise<void> {
  const answer = await webhook.review('/mutate', reviewForFixture('vault-0'));
  expect(answer.status).toBe(200);
}

describe('timeouts on slow clients', () => {
  let webhook: RunningWebhook;
  const sockets: net.Socket[] = [];

  beforeAll(async () => {
    webhook = await startWebhook({ limits: { handshakeTimeoutMs: 300, requestTimeoutMs: 600 } });
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await webhook.close();
  });

  it(
    'closes a TCP connection that never sends a ClientHello',
    async () => {
      const socket = net.connect({ host: '127.0.0.1', port: webhook.port });
      sockets.push(socket);
      expect(await closedWithin(socket, GENEROUS_MS)).toBe('closed');
      await expectServing(webhook);
    },
    GENEROUS_MS * 2,
  );

  it(
    'answers 408 and closes a TLS connection whose headers trickle in',
    async () => {
      const socket = tlsConnect(webhook);
      sockets.push(socket);
      expect(await secured(socket)).toBe(true);
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
      socket.write('POST /mutate HTTP/1.1\r\nHost: localhost\r\n');
      // One header line every 100 ms, for ever: each byte resets any idle timer.
      const dribble = setInterval(() => socket.write('X-Slow: 1\r\n'), 100);
      try {
        expect(await closedWithin(socket, GENEROUS_MS)).toBe('closed');
      } finally {
        clearInterval(dribble);
      }
      expect(received).toMatch(/^HTTP\/1\.1 408 /);
      await expectServing(webhook);
    },
    GENEROUS_MS * 2,
  );
});

describe('the connection cap', () => {
  let webhook: RunningWebhook;
  const held: tls.TLSSocket[] = [];

  beforeAll(async () => {
    webhook = await startWebhook({ limits: { maxConnections: 3 } });
  });

  afterAll(async () => {
    for (const socket of held) socket.destroy();
    await webhook.close();
  });

  it(
    'closes connections past the cap at once, logs it, and serves again once some close',
    async () => {
      for (let i = 0; i < 3; i++) {
        const socket = tlsConnect(webhook);
        held.push(socket);
        expect(await secured(socket)).toBe(true);
      }
      const extra = tlsConnect(webhook);
      held.push(extra);
      expect(await secured(extra)).toBe(false);
      expect(webhook.logs).toContainEqual(
        expect.objectContaining({
          msg: 'connection limit reached: new connections are closed',
          maxConnections: 3,
        }),
      );

      for (const socket of held) socket.destroy();
      await until(
        () =>
          new Promise<boolean>((resolve) => {
            webhook.servers.admission.server.getConnections((_err, count) => resolve(count === 0));
          }),
      );
      await expectServing(webhook);
    },
    GENEROUS_MS * 2,
  );
});
