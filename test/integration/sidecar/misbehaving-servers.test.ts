// Servers that misbehave in ways a real OpenBao does not on its own, through the built sidecar.
// One (or a proxy in front of it) answers 429 Too Many Requests (issue 21, item 14): the sidecar
// says what it is, keeps vault_up at 1 (the server answered), and backs off instead of checking
// every UNSEAL_RETRY_INTERVAL. Another shows progress without a nonce (item 12).
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { answerJson, startRecordingServer } from '../../harness/fake-servers.js';
import { writeSecretVolume } from '../../harness/key-volume.js';
import { sleep, waitFor } from '../../harness/ports.js';
import { metricValue, sidecarFor, tempDir } from './context.js';

describe('a 429 answer to the seal-status check', () => {
  it('reads as rate-limited, not unreachable, and is not hammered', async () => {
    // What Vault sends when a rate-limit quota covers sys/seal-status.
    const server = await startRecordingServer((_req, res) =>
      answerJson(res, 429, {
        errors: ['request path "sys/seal-status": rate limit quota exceeded'],
      }),
    );
    try {
      const sidecar = await sidecarFor(server.url, tempDir('keys'), {
        UNSEAL_RETRY_INTERVAL: '100ms',
        UNSEAL_MAX_BACKOFF: '60s',
      });
      await waitFor('the first 429', async () =>
        (await sidecar.status()).lastError?.code === 'rate-limited' ? true : undefined,
      );
      const status = await sidecar.status();
      expect(status.state).toBe('backing-off');
      expect(status.vault.reachable).toBe(true);
      expect(status.lastError.message).toMatch(/429 Too Many Requests/);
      expect(status.lastError.message).toMatch(/rate limit quota exceeded/);
      expect(metricValue(await sidecar.metrics(), 'vault_autounseal_vault_up')).toBe(1);
      const line = sidecar.logs().find((l) => l.code === 'rate-limited');
      expect(line?.msg).toMatch(/seal-status: server answered 429/);

      // Back-off from 1 s, doubling: about 3 checks in 4 s, where every 100 ms would be 40.
      const before = server.requests.length;
      await sleep(4_000);
      expect(server.requests.length - before).toBeLessThanOrEqual(6);
      expect(server.requests.every((r) => r.target === '/v1/sys/seal-status')).toBe(true);
    } finally {
      await server.close();
    }
  });
});

describe('a seal status with progress but no nonce (issue 21, item 12)', () => {
  it('never gets the same share twice in a round: one share per round position', async () => {
    // A broken or hostile server: progress 1 and an empty nonce, whatever it is sent.
    const hostile = {
      type: 'shamir',
      initialized: true,
      sealed: true,
      t: 3,
      n: 5,
      progress: 1,
      nonce: '',
      version: '2.7.2',
    };
    const server = await startRecordingServer((_req, res) => answerJson(res, 200, hostile));
    try {
      const keysDir = tempDir('keys');
      const shares = Array.from({ length: 3 }, () => randomBytes(33).toString('hex'));
      writeSecretVolume(keysDir, Object.fromEntries(shares.map((k, i) => [`key-${i}`, k])));
      await sidecarFor(server.url, keysDir, { UNSEAL_RETRY_INTERVAL: '200ms' });
      await waitFor('a few checks', async () =>
        server.requests.filter((r) => r.method === 'GET').length >= 4 ? true : undefined,
      );
      // Between two resets (a reset ends our part of a round), each share at most once.
      let round: string[] = [];
      let puts = 0;
      for (const request of server.requests.filter((r) => r.method === 'PUT')) {
        const body = JSON.parse(request.body) as { key?: string; reset?: boolean };
        if (body.reset === true) {
          round = [];
          continue;
        }
        puts += 1;
        // A boolean, so a failure never prints a share.
        expect(round.includes(body.key!)).toBe(false);
        round.push(body.key!);
      }
      expect(puts).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });
});
