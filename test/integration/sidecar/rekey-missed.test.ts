// Found by the chaos runs (docs/chaos.md): on raft, a node that is down (or sealed) while the
// cluster is rekeyed keeps the old key material in its own storage, and learns of the rekey only
// once unsealed. The new shares alone never unseal it. The README tells operators to keep the
// previous shares in a second key directory; this is that advice, against real OpenBao.
import { describe, expect, it } from 'vitest';
import { writeSecretVolume } from '../../harness/key-volume.js';
import { activeNode, startRaftCluster, type InitResult } from '../../harness/openbao.js';
import { waitFor } from '../../harness/ports.js';
import { expectNoLeaks, sidecarFor, tempDir, track } from './context.js';

const files = (shares: readonly string[]): Record<string, string> =>
  Object.fromEntries(shares.map((share, i) => [`key-${i}`, share]));

describe('a raft node that missed a rekey', () => {
  it('is unsealed from the previous key directory, and a late previous directory still rescues it', async () => {
    const cluster = track(await startRaftCluster(3));
    const keysDir = tempDir('keys');
    const previousDir = tempDir('keys-previous');
    const sidecars = await Promise.all(
      cluster.nodes.map((node) =>
        sidecarFor(node.addr, keysDir, { UNSEAL_KEYS_DIR: `${keysDir},${previousDir}` }),
      ),
    );
    const first = await cluster.nodes[0]!.init(5, 3);
    writeSecretVolume(keysDir, files(first.keysHex));
    await Promise.all(
      cluster.nodes.map((node) => node.waitUntil('unsealed', (s) => s.sealed === false, 90_000)),
    );

    const rekeyWhileDown = async (
      old: InitResult,
    ): Promise<{ next: InitResult; index: number }> => {
      const leader = await waitFor('an active node', () => activeNode(cluster), {
        timeoutMs: 60_000,
      });
      const index = cluster.nodes.findIndex((node) => node !== leader);
      await cluster.nodes[index]!.kill();
      const next = await leader.rekey(first.rootToken, old.keysHex.slice(0, 3));
      return { next: { ...next, rootToken: first.rootToken }, index };
    };

    // 1. The operator rotates the Secret and keeps the old shares beside it: the node unseals.
    const second = await rekeyWhileDown(first);
    writeSecretVolume(keysDir, files(second.next.keysHex));
    writeSecretVolume(previousDir, files(first.keysHex));
    const late = cluster.nodes[second.index]!;
    await late.start();
    await late.waitUntil(
      'the node that missed the rekey unsealed',
      (s) => s.sealed === false,
      60_000,
    );
    // Unsealed, it catches up: from now on the new shares alone unseal it.
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    // 2. Rekeyed again while down, and this time the old shares are gone: it stays sealed, and
    // its sidecar says the key set is wrong rather than spinning.
    const third = await rekeyWhileDown(second.next);
    writeSecretVolume(keysDir, files(third.next.keysHex));
    writeSecretVolume(previousDir, {});
    const stuck = cluster.nodes[third.index]!;
    const stuckSidecar = sidecars[third.index]!;
    await stuck.start();
    const status = await waitFor(
      'its sidecar to report wrong keys',
      async () => {
        const s = await stuckSidecar.status();
        return s.state === 'wrong-keys' ? s : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(status.lastError.message).toMatch(/old key set/);
    expect((await stuck.sealStatus()).sealed).toBe(true);

    // 3. The operator puts the previous shares back: the key change starts a search at once.
    writeSecretVolume(previousDir, files(second.next.keysHex));
    await stuck.waitUntil(
      'unsealed once the previous shares are back',
      (s) => s.sealed === false,
      60_000,
    );

    for (const sidecar of sidecars) {
      expect(sidecar.child.exitCode).toBeNull();
      await expectNoLeaks(sidecar, first, second.next, third.next);
    }
  });
});
