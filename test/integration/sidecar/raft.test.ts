// Requirement h of issue 2: a 3-node raft cluster, one sidecar per node, as in a StatefulSet.
import { describe, expect, it } from 'vitest';
import { writeSecretVolume } from '../../harness/key-volume.js';
import { activeNode, startRaftCluster } from '../../harness/openbao.js';
import { waitFor } from '../../harness/ports.js';
import { expectNoLeaks, metricValue, sidecarFor, tempDir, track } from './context.js';

describe('a 3-node raft cluster with one sidecar per node', () => {
  it('unseals every node after init, and every node again after a full cluster restart, with a leader active', async () => {
    const cluster = track(await startRaftCluster(3));
    const keysDir = tempDir('keys');
    const sidecars = await Promise.all(cluster.nodes.map((node) => sidecarFor(node.addr, keysDir)));

    // Followers report "not initialised" until they join: the sidecars wait for them.
    const init = await cluster.nodes[0]!.init(5, 3);
    writeSecretVolume(keysDir, Object.fromEntries(init.keysHex.map((k, i) => [`key-${i}`, k])));
    await Promise.all(
      cluster.nodes.map((node) =>
        node.waitUntil('unsealed after init', (s) => s.sealed === false, 90_000),
      ),
    );
    expect(await waitFor('an active node', () => activeNode(cluster))).toBeDefined();
    // Each sidecar has seen its own node unsealed (a follower finishes joining after the last share).
    await Promise.all(
      sidecars.map((sidecar) =>
        waitFor('sidecar to report unsealed', async () =>
          (await sidecar.status()).state === 'unsealed' ? true : undefined,
        ),
      ),
    );

    // Full restart: every node down at once, then up at once. 2 of 3 must be unsealed for a leader.
    await Promise.all(cluster.nodes.map((node) => node.kill()));
    await Promise.all(cluster.nodes.map((node) => node.start()));
    await Promise.all(
      cluster.nodes.map((node) =>
        node.waitUntil('unsealed after full restart', (s) => s.sealed === false, 90_000),
      ),
    );
    const leader = await waitFor('an active node after restart', () => activeNode(cluster), {
      timeoutMs: 60_000,
    });
    expect(leader).toBeDefined();

    for (const sidecar of sidecars) {
      const metrics = await sidecar.metrics();
      expect(metricValue(metrics, 'vault_autounseal_vault_sealed')).toBe(0);
      expect(
        metricValue(metrics, 'vault_autounseal_unseals_total{result="success"}'),
      ).toBeGreaterThanOrEqual(2);
      expect(sidecar.child.exitCode).toBeNull();
      await expectNoLeaks(sidecar, init);
    }
  });
});
