// Slow and greedy clients cannot hold the HTTPS listener or the ops port: a socket that never
// starts TLS, a request whose headers trickle in, and idle connections are closed by the server, and
// a full listener closes its longest-idle connection for a newcomer (issue 21, items 4 and 5;
// docs/adr/0005-ops-port-fairness.md). Some limits are set small through buildWebhookServer's
// config so the tests are quick; nothing asserts a timing beyond "closed before a generous bound".
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPS_SERVER_LIMITS } from '../../../common/http-server.js';
import { ADMISSION_IDLE_TIMEOUT_MS } from '../../../webhook/server.js';
import { reviewForFixture } from '../../fixtures/webhook/fixtures.js';
import { greedyClient, kubeletProbe, type GreedyClient } from '../../harness/greedy-client.js';
import { startWebhook, type RunningWebhook } from './support.js';

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
    // A paused socket never reads the server's FIN, and so never closes.
    socket.resume();
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
    'closes a TLS connection kept alive after its answer within the idle timeout',
    async () => {
      // fastify kept it for 72 s: 1,000 of them held the port for over a minute (issue 21).
      const socket = tlsConnect(webhook);
      sockets.push(socket);
      expect(await secured(socket)).toBe(true);
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
      socket.write('GET /nothing-here HTTP/1.1\r\nHost: localhost\r\n\r\n');
      expect(await closedWithin(socket, ADMISSION_IDLE_TIMEOUT_MS + GENEROUS_MS)).toBe('closed');
      expect(received).toMatch(/^HTTP\/1\.1 404 /);
      expect(received).toMatch(/\r\nKeep-Alive: timeout=5\r\n/i);
      await expectServing(webhook);
    },
    (ADMISSION_IDLE_TIMEOUT_MS + GENEROUS_MS) * 2,
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

const EVICTED = 'connection limit reached: closed the longest-idle connection to let a new one in';

describe('the connection cap', () => {
  let webhook: RunningWebhook;
  const held: tls.TLSSocket[] = [];

  beforeAll(async () => {
    // A quarter of 12 from one address: the loopback client meets the per-source cap at 3.
    webhook = await startWebhook({ limits: { maxConnections: 12 } });
  });

  afterAll(async () => {
    for (const socket of held) socket.destroy();
    await webhook.close();
  });

  it(
    'closes the longest-idle connection for a newcomer, and logs it',
    async () => {
      for (let i = 0; i < 3; i++) {
        const socket = tlsConnect(webhook);
        held.push(socket);
        expect(await secured(socket)).toBe(true);
      }
      const oldestClosed = closedWithin(held[0]!, GENEROUS_MS);
      const extra = tlsConnect(webhook);
      held.push(extra);
      expect(await secured(extra)).toBe(true);
      expect(await oldestClosed).toBe('closed');
      expect(webhook.logs).toContainEqual(
        expect.objectContaining({
          msg: EVICTED,
          limit: 'per-source',
          maxConnections: 12,
          maxConnectionsPerSource: 3,
        }),
      );
      await expectServing(webhook);
    },
    GENEROUS_MS * 2,
  );
});

describe('one client holding 1,000 idle connections to the HTTPS port', () => {
  let webhook: RunningWebhook;
  let greedy: GreedyClient | undefined;

  beforeAll(async () => {
    // WEBHOOK_MAX_CONNECTIONS' default: before, 1,000 idle TLS connections kept every review out
    // for 73 s, and Vault pods could not be created behind failurePolicy: Fail.
    webhook = await startWebhook({ limits: { maxConnections: 1000 } });
  });

  afterAll(async () => {
    greedy?.stop();
    await webhook.close();
  });

  it('keeps no admission review out, and says so once', async () => {
    // Half finish TLS and idle, half never send a ClientHello.
    greedy = await greedyClient(
      { port: webhook.port, tls: { ca: webhook.ca.certPem, servername: 'localhost' } },
      1000,
    );
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      statuses.push((await webhook.review('/mutate', reviewForFixture('vault-0'))).status);
    }
    expect(statuses).toEqual(Array.from({ length: 20 }, () => 200));
    // One source holds a quarter of the cap at most: the rest were closed as it opened them.
    expect(greedy.held()).toBeLessThanOrEqual(250);
    expect(webhook.logs.filter((line) => line.msg === EVICTED)).toEqual([
      expect.objectContaining({
        port: webhook.port,
        limit: 'per-source',
        maxConnectionsPerSource: 250,
      }),
    ]);
  }, 60_000);
});

describe('one client holding every connection of the ops port (:8080)', () => {
  let webhook: RunningWebhook;
  let greedy: GreedyClient | undefined;

  beforeAll(async () => {
    webhook = await startWebhook();
  });

  afterAll(async () => {
    greedy?.stop();
    await webhook.close();
  });

  it('keeps no kubelet probe out', async () => {
    greedy = await greedyClient(
      { port: webhook.opsPort, path: '/healthz' },
      OPS_SERVER_LIMITS.maxConnections + 16,
      { reopenAfterMs: 250 },
    );
    const answers: Array<number | string> = [];
    for (let i = 0; i < 25; i++) {
      // The kubelet gives up after 1 s by default; 3 s for a loaded CI machine.
      answers.push(await kubeletProbe(webhook.opsPort, i % 2 ? '/readyz' : '/healthz', 3_000));
    }
    expect(answers).toEqual(Array.from({ length: 25 }, () => 200));
    expect(webhook.logs).toContainEqual(
      expect.objectContaining({ msg: EVICTED, port: webhook.opsPort }),
    );
  }, 60_000);
});
