// Issue 21, item 4: one client holding the sidecar's :8210 must not keep the kubelet out. Before,
// 64 idle keep-alive connections filled the cap for 73 s each and 0 of 40 probes got through: in a
// cluster liveness restarts the sidecar in a loop and readiness takes Vault out of its Service.
// Here a client holds more connections than the cap (half idle after one keep-alive request, half
// never sending a byte) and opens again whatever the sidecar closes; kubelet-like probes on fresh
// connections all pass, and the sidecar still unseals real OpenBao.
import { describe, expect, it } from 'vitest';
import { OPS_SERVER_LIMITS } from '../../../common/http-server.js';
import { greedyClient, kubeletProbe } from '../../harness/greedy-client.js';
import { writeSecretVolume } from '../../harness/key-volume.js';
import { startOpenBao } from '../../harness/openbao.js';
import { waitFor } from '../../harness/ports.js';
import { expectNoLeaks, sidecarFor, tempDir, track } from './context.js';

/** The kubelet's default is 1 s; 3 s here for a loaded CI machine (refusals come at once anyway). */
const PROBE_TIMEOUT_MS = 3_000;

describe('a client holding every connection of :8210', () => {
  it('keeps no kubelet probe out, is logged, and the sidecar still unseals', async () => {
    const server = track(await startOpenBao({ storage: 'persistent' }));
    const init = await server.init(5, 3);
    const keysDir = tempDir('keys');
    writeSecretVolume(keysDir, { 'init.json': init.rawJson });
    const sidecar = await sidecarFor(server.addr, keysDir);
    await server.waitUntil('first unseal', (s) => s.sealed === false);
    const port = Number(new URL(sidecar.httpAddr).port);

    const greedy = await greedyClient(
      { port, path: '/healthz' },
      OPS_SERVER_LIMITS.maxConnections + 16,
      { reopenAfterMs: 250 },
    );
    try {
      const answers: Array<number | string> = [];
      for (let i = 0; i < 40; i++) {
        answers.push(await kubeletProbe(port, i % 2 ? '/readyz' : '/healthz', PROBE_TIMEOUT_MS));
      }
      expect(answers).toEqual(Array.from({ length: 40 }, () => 200));
      expect(greedy.closedByServer()).toBeGreaterThan(0);

      // Sealed on purpose while the client keeps at it: the sidecar unseals it again.
      await server.seal(init.rootToken);
      await server.waitUntil('unsealed again', (s) => s.sealed === false, 30_000);
      expect(await kubeletProbe(port, '/healthz', PROBE_TIMEOUT_MS)).toBe(200);
    } finally {
      greedy.stop();
    }

    await waitFor('the eviction to be logged', () =>
      sidecar
        .logs()
        .find((line) => line.msg?.startsWith('connection limit reached: closed the longest-idle')),
    );
    const lines = sidecar.logs().filter((line) => line.msg?.startsWith('connection limit reached'));
    // Hundreds of connections were closed; at most one line a minute says so.
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'warn',
      component: 'http',
      port,
      limit: 'per-source',
      maxConnections: 64,
      maxConnectionsPerSource: 16,
      source: '127.0.0.1',
    });
    await expectNoLeaks(sidecar, init);
  });
});
