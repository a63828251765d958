// "Talking to the server" (contract): only to VAULT_ADDR, directly. No proxy from the environment,
// no redirects followed, a total deadline on every request, and a cap on the size of every answer.
// The vault client is driven against small misbehaving servers on loopback; the built sidecar
// against a real OpenBao with every proxy variable set, and against a server that redirects.
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  answerJson,
  dribble,
  SEALED_STATUS,
  startRawServer,
  startRecordingProxy,
  startRecordingServer,
  streamHugeAnswer,
  type FakeServer,
} from '../../harness/fake-servers.js';
import { writeSecretVolume } from '../../harness/key-volume.js';
import type { InitResult } from '../../harness/openbao.js';
import { startOpenBao } from '../../harness/openbao.js';
import { waitFor } from '../../harness/ports.js';
import { createVaultClient, type VaultFailure } from '../../../sidecar/vault-client.js';
import { expectNoLeaks, sidecarFor, tempDir, track } from './context.js';

const SHARE = randomBytes(33).toString('hex');

/** Every variable axios (proxy-from-env), Node or curl-alikes read for a proxy. */
const PROXY_VARIABLES = [
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'ALL_PROXY',
  'http_proxy',
  'https_proxy',
  'all_proxy',
] as const;

function proxyEnv(proxyUrl: string): Record<string, string> {
  return {
    ...Object.fromEntries(PROXY_VARIABLES.map((name) => [name, proxyUrl])),
    // Empty: nothing is exempted, so a client that honours the proxy variables uses the proxy.
    NO_PROXY: '',
    no_proxy: '',
    // Node ≥ 22.21 / 24.5 makes its global agents follow the proxy variables with this set.
    NODE_USE_ENV_PROXY: '1',
  };
}

const servers: FakeServer[] = [];
const savedEnv = { ...process.env };

async function fake(start: Promise<FakeServer>): Promise<FakeServer> {
  const server = await start;
  servers.push(server);
  return server;
}

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  for (const name of Object.keys(process.env)) {
    if (!(name in savedEnv)) Reflect.deleteProperty(process.env, name);
  }
  Object.assign(process.env, savedEnv);
});

function clientFor(
  address: string,
  requestTimeoutMs = 5_000,
): ReturnType<typeof createVaultClient> {
  return createVaultClient({
    address,
    tls: { ca: undefined, cert: undefined, key: undefined },
    tlsServerName: undefined,
    skipVerify: false,
    requestTimeoutMs,
  });
}

/** A fake sealed server: seal-status answers sealed 5/3, unseal answers progress 1. */
function sealedServer(): Promise<FakeServer> {
  return startRecordingServer((req, res) => {
    if (req.url === '/v1/sys/seal-status') answerJson(res, 200, SEALED_STATUS);
    else if (req.url === '/v1/sys/unseal') answerJson(res, 200, { ...SEALED_STATUS, progress: 1 });
    else answerJson(res, 404, { errors: [] });
  });
}

/** Settles `promise`, or fails the test after `ms` (the behaviour under test is "it ends"). */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not end within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

function failureOf(result: { ok: boolean; failure?: VaultFailure }): VaultFailure {
  expect(result.ok).toBe(false);
  return result.failure as VaultFailure;
}

describe('the vault client', () => {
  describe('with every proxy variable pointing at a recording proxy', () => {
    it('still talks to VAULT_ADDR directly, and the proxy sees nothing', async () => {
      const proxy = await fake(startRecordingProxy());
      const vault = await fake(sealedServer());
      Object.assign(process.env, proxyEnv(proxy.url));
      const client = clientFor(vault.url);

      expect(await client.sealStatus()).toMatchObject({ ok: true, status: { sealed: true } });
      expect(await client.submitShare(SHARE, false)).toMatchObject({ kind: 'status' });
      expect(await client.resetRound()).toEqual({ ok: true });

      expect(proxy.requests).toEqual([]);
      expect(vault.requests.map((r) => `${r.method} ${r.target}`)).toEqual([
        'GET /v1/sys/seal-status',
        'PUT /v1/sys/unseal',
        'PUT /v1/sys/unseal',
      ]);
    });
  });

  describe('with VAULT_PREFIX, VAULT_TOKEN and VAULT_NAMESPACE in the environment', () => {
    it('asks the real paths and sends neither a token nor a namespace', async () => {
      const vault = await fake(sealedServer());
      Object.assign(process.env, {
        VAULT_PREFIX: '/evil/',
        VAULT_TOKEN: 'hvs.NOTAREALTOKENBUTLONGENOUGH',
        VAULT_NAMESPACE: 'team-a',
      });
      const client = clientFor(vault.url);

      expect(await client.sealStatus()).toMatchObject({ ok: true });
      expect(await client.submitShare(SHARE, false)).toMatchObject({ kind: 'status' });
      expect(vault.requests.map((r) => r.target)).toEqual([
        '/v1/sys/seal-status',
        '/v1/sys/unseal',
      ]);
      for (const request of vault.requests) {
        expect(request.headers['x-vault-token']).toBeUndefined();
        expect(request.headers['x-vault-namespace']).toBeUndefined();
      }
    });
  });

  describe('when the server answers with a redirect', () => {
    it.each([
      [301, 'moved permanently'],
      [302, 'found'],
      [303, 'see other'],
      [307, 'temporary redirect: a client following it re-sends the body, i.e. the share'],
      [308, 'permanent redirect: likewise re-sends the body'],
    ])('%i (%s): fails naming the status, and nothing reaches the new place', async (status) => {
      const elsewhere = await fake(sealedServer());
      const vault = await fake(
        startRecordingServer((req, res) => {
          res.writeHead(status, { location: `${elsewhere.url}${req.url ?? '/'}` }).end();
        }),
      );
      const client = clientFor(vault.url);

      const seal = failureOf(await client.sealStatus());
      expect(seal).toMatchObject({ code: 'http', httpStatus: status });
      expect(seal.message).toContain(String(status));
      expect(seal.message).toMatch(/redirect/i);

      const submit = await client.submitShare(SHARE, false);
      expect(submit).toMatchObject({
        kind: 'error',
        failure: { code: 'http', httpStatus: status },
      });
      expect(JSON.stringify(submit)).not.toContain(SHARE);
      expect(failureOf(await client.resetRound())).toMatchObject({ httpStatus: status });

      expect(vault.requests).toHaveLength(3);
      expect(elsewhere.requests).toEqual([]);
    });
  });

  describe('when the server stalls', () => {
    const body = JSON.stringify(SEALED_STATUS);
    const answer = `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
    it.each([
      [
        'one byte at a time from the status line on',
        (socket: Socket) => dribble(socket, answer, 200),
      ],
      [
        'headers at once, then the body one byte at a time',
        (socket: Socket) => {
          const split = answer.indexOf('\r\n\r\n') + 4;
          socket.write(answer.slice(0, split));
          dribble(socket, answer.slice(split), 200);
        },
      ],
      ['by accepting the connection and saying nothing', () => undefined],
    ])('%s: the request ends as a timeout at its deadline', async (_, behaviour) => {
      const vault = await fake(startRawServer(behaviour));
      // 200 ms between bytes is far inside the deadline: only a total deadline ends this.
      const client = clientFor(vault.url, 1_000);
      const failure = failureOf(await within(10_000, 'seal-status', client.sealStatus()));
      expect(failure.code).toBe('timeout');
      expect(failure.message).toContain(vault.url);
    });

    it('in a TLS handshake that never completes: the request ends as a timeout', async () => {
      const vault = await fake(startRawServer(() => undefined));
      const client = clientFor(`https://127.0.0.1:${vault.port}`, 1_000);
      const failure = failureOf(await within(10_000, 'seal-status', client.sealStatus()));
      expect(failure.code).toBe('timeout');
    });
  });

  describe('when the answer is huge', () => {
    const HUNDRED_MIB = 100 * 2 ** 20;
    it.each([
      ['declared in content-length', true],
      ['chunked, its size unknown until read', false],
    ])('(%s): fails as a bad answer, having read only a sliver of it', async (_, declared) => {
      const vault = (await fake(
        startRawServer((socket) => streamHugeAnswer(socket, HUNDRED_MIB, declared)),
      )) as Awaited<ReturnType<typeof startRawServer>>;
      const client = clientFor(vault.url, 30_000);

      const failure = failureOf(await within(30_000, 'seal-status', client.sealStatus()));
      expect(failure.code).toBe('bad-answer');
      expect(failure.message).toMatch(/larger than \d+ KiB/);
      await within(10_000, 'the client hanging up', vault.clientGone);
      // Kernel socket buffers hold a few MiB on loopback; the client itself kept at most the cap.
      expect(vault.bytesSent()).toBeLessThan(HUNDRED_MIB / 8);
    });
  });

  describe('close()', () => {
    it('ends the request in flight at once, and every later request without asking', async () => {
      const vault = await fake(startRecordingServer(() => undefined));
      const client = clientFor(vault.url, 60_000);
      const pending = client.sealStatus();
      await waitFor('the request to arrive', () =>
        vault.requests.length === 1 ? true : undefined,
      );

      client.close();
      const failure = failureOf(await within(2_000, 'the pending request', pending));
      expect(failure.message).toMatch(/stopping/);
      const later = await within(2_000, 'a later submit', client.submitShare(SHARE, true));
      expect(later).toMatchObject({ kind: 'error' });
      expect(JSON.stringify(later)).not.toContain(SHARE);
      expect(vault.requests).toHaveLength(1);
    });
  });
});

/** Five random shares with t = 3, written as a Secret volume; shaped like an init for leak checks. */
function fakeShares(): { keysDir: string; init: InitResult } {
  const keysHex = Array.from({ length: 5 }, () => randomBytes(33).toString('hex'));
  const keysDir = tempDir('keys');
  writeSecretVolume(keysDir, Object.fromEntries(keysHex.map((k, i) => [`key-${i}`, k])));
  const keysBase64 = keysHex.map((k) => Buffer.from(k, 'hex').toString('base64'));
  return { keysDir, init: { keysHex, keysBase64, rootToken: '', rawJson: '' } };
}

describe('the built sidecar', () => {
  it('unseals a real OpenBao directly while every proxy variable names a recording proxy', async () => {
    const proxy = await fake(startRecordingProxy());
    const server = track(await startOpenBao({ storage: 'persistent' }));
    const init = await server.init(5, 3);
    const keysDir = tempDir('keys');
    writeSecretVolume(keysDir, { 'init.json': init.rawJson });
    const sidecar = await sidecarFor(server.addr, keysDir, proxyEnv(proxy.url));

    await server.waitUntil('unsealed by the sidecar', (s) => s.sealed === false, 20_000);
    expect(proxy.requests).toEqual([]);
    await expectNoLeaks(sidecar, init);
  });

  it('unseals a real OpenBao with VAULT_PREFIX=/evil/ (and a token and namespace) in its environment', async () => {
    const server = track(await startOpenBao({ storage: 'persistent' }));
    const init = await server.init(5, 3);
    const keysDir = tempDir('keys');
    writeSecretVolume(keysDir, { 'init.json': init.rawJson });
    const sidecar = await sidecarFor(server.addr, keysDir, {
      VAULT_PREFIX: '/evil/',
      VAULT_TOKEN: init.rootToken,
      VAULT_NAMESPACE: 'team-a',
    });

    await server.waitUntil('unsealed by the sidecar', (s) => s.sealed === false, 20_000);
    await expectNoLeaks(sidecar, init);
  });

  it('reports a 307 on unseal and never sends the share to where it points', async () => {
    const elsewhere = await fake(sealedServer());
    const vault = await fake(
      startRecordingServer((req, res) => {
        if (req.url === '/v1/sys/seal-status') answerJson(res, 200, SEALED_STATUS);
        else res.writeHead(307, { location: `${elsewhere.url}${req.url ?? '/'}` }).end();
      }),
    );
    const { keysDir, init } = fakeShares();
    const sidecar = await sidecarFor(vault.url, keysDir);

    const reported = await waitFor('the redirect to be reported', async () => {
      const lastError = (await sidecar.status()).lastError as { message?: string } | null;
      return lastError?.message?.includes('307') ? lastError.message : undefined;
    });
    expect(reported).toMatch(/redirect/i);
    expect(vault.requests.some((r) => r.method === 'PUT')).toBe(true);
    expect(elsewhere.requests).toEqual([]);
    await expectNoLeaks(sidecar, init);
  });
});
