// A server (or a proxy in front of it) that answers 429 Too Many Requests (issue 21, item 14): the
// sidecar says what it is, keeps vault_up at 1 (the server answered), and backs off instead of
// checking every UNSEAL_RETRY_INTERVAL.
import { describe, expect, it } from 'vitest';
import { answerJson, startRecordingServer } from '../../harness/fake-servers.js';
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
