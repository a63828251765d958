// What `operator seal` (PUT /v1/sys/seal) does to a raft standby, on the real server of this run
// (`npm test`: OpenBao; `npm run test:vault`: HashiCorp Vault). The emergency-seal runbook depends on
// it: HashiCorp Vault refuses to seal a standby ("please restart instead"), so only the active node
// can be sealed through the API; OpenBao seals the standby it is asked to. Every sidecar is paused
// first, as the runbook says, so what stays sealed is what the operator sealed.
// docs/vault-and-openbao.md lists the difference.
import { describe, expect, it } from 'vitest';
import { writeAnnotationsVolume, writeSecretVolume } from '../../harness/key-volume.js';
import { activeNode, startRaftCluster } from '../../harness/openbao.js';
import { sleep, waitFor } from '../../harness/ports.js';
import { serverIdentity } from '../../harness/server-binary.js';
import { expectNoLeaks, sidecarFor, tempDir, track } from './context.js';

const server = serverIdentity();
const PAUSED = 'vault-autounseal.io/paused';

describe(`on ${server.name}: sys/seal sent to a raft standby`, () => {
  it(
    server.kind === 'vault'
      ? 'is refused with 500 "cannot seal when in standby mode; please restart instead": the standby stays unsealed; the active node can be sealed'
      : 'seals that standby, which stays sealed while its sidecar is paused; the active node stays unsealed until sealed itself',
    async () => {
      const cluster = track(await startRaftCluster(3));
      const init = await cluster.nodes[0]!.init(5, 3);
      const keysDir = tempDir('keys');
      writeSecretVolume(keysDir, Object.fromEntries(init.keysHex.map((k, i) => [`key-${i}`, k])));
      // As the examples set it: paused "false" from the start, one downward-API file per pod.
      const podinfos = cluster.nodes.map(() => tempDir('podinfo'));
      for (const dir of podinfos) writeAnnotationsVolume(dir, { [PAUSED]: 'false' });
      const sidecars = await Promise.all(
        cluster.nodes.map((node, i) =>
          sidecarFor(node.addr, keysDir, { UNSEAL_PODINFO_DIR: podinfos[i]! }),
        ),
      );
      for (const node of cluster.nodes) {
        await node.waitUntil('joined and unsealed', (s) => s.sealed === false, 90_000);
      }

      // The runbook: pause every sidecar, and confirm each one is paused, before sealing anything.
      for (const dir of podinfos) writeAnnotationsVolume(dir, { [PAUSED]: 'true' });
      for (const sidecar of sidecars) {
        await waitFor('the sidecar to say paused', async () =>
          (await sidecar.status()).paused === true ? true : undefined,
        );
      }

      const active = await waitFor('an active node', () => activeNode(cluster));
      const standby = cluster.nodes.find((node) => node !== active)!;
      expect((await standby.request('GET', 'sys/health')).status).toBe(429);

      const answer = await standby.request('PUT', 'sys/seal', { token: init.rootToken });
      await sleep(3_000); // long enough for a sidecar that ignored the pause to have unsealed it
      if (server.kind === 'vault') {
        expect(answer.status).toBe(500);
        expect(JSON.stringify(answer.body)).toContain(
          'vault cannot seal when in standby mode; please restart instead',
        );
        expect(await standby.sealStatus()).toMatchObject({ sealed: false });
      } else {
        expect(answer.status).toBe(204);
        expect(await standby.sealStatus()).toMatchObject({ sealed: true, progress: 0 });
      }
      // Either way the active node is untouched, and can itself be sealed through the API.
      expect(await active.sealStatus()).toMatchObject({ sealed: false });
      const sealActive = await active.request('PUT', 'sys/seal', { token: init.rootToken });
      expect(sealActive.status).toBe(204);
      await sleep(3_000);
      expect(await active.sealStatus()).toMatchObject({ sealed: true });
      for (const sidecar of sidecars) await expectNoLeaks(sidecar, init);
    },
    240_000,
  );
});
