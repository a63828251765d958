// Issue 18, points 1 and 3, on the real node, against OpenBao and HashiCorp Vault, with the sidecar
// injected both ways (native, the default; regular, by the pod annotation): four vault-helm HA raft
// clusters side by side, one per namespace, installed with deploy/examples/vault-helm-values.yaml.
//
// 1. Zero to unsealed: helm install, init through `kubectl exec`, the shares piped into the keys
//    Secret; then nobody submits a share, and all three nodes end unsealed, the followers joined
//    through the headless Service's DNS names (retry_join). The kubelet is nudged to project the
//    Secret at once (an annotation change; kubelet-files.test.ts measures its own delay).
// 3. The restarts a user causes: the leader's pod deleted, a follower's pod deleted (both recreated
//    by the StatefulSet controller and injected again), the Vault container killed (the kubelet
//    restarts it), the sidecar killed (Vault keeps serving), and a rolling restart (OnDelete: the
//    template changed, then the pods deleted one at a time, standbys first). Each time-to-unseal is
//    printed ([measured] lines), from the test's action and from the kubelet's container start to
//    the sidecar's "unsealed" log line; never asserted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PODS,
  SERVERS,
  SIDECAR,
  containerStatus,
  installAndUnseal,
  killContainer,
  killVaultAndWaitUnsealed,
  leaderPod,
  node,
  pod,
  raftPeers,
  recreatePod,
  report,
  sealStatus,
  sidecarStatus,
  unsealedLineAfter,
  waitAllUnsealed,
  waitUntil,
  type InitResult,
  type Node,
  type VaultCluster,
} from './scenario-support.js';

const CASES = SERVERS.flatMap((server) =>
  [true, false].map((native) => ({
    server,
    native,
    ns: `${server}-${native ? 'native' : 'regular'}`,
  })),
);

let k: Node;
const clusters = new Map<string, VaultCluster>();
const inits = new Map<string, InitResult>();

beforeAll(async () => {
  k = node();
  // The Secret's projection is nudged here (kubelet-files.test.ts measures the kubelet's own delay).
  await Promise.all(
    CASES.map(async (c) => {
      const { cluster, init } = await installAndUnseal(k, c.ns, c);
      clusters.set(c.ns, cluster);
      inits.set(c.ns, init);
    }),
  );
}, 600_000);

afterAll(async () => {
  await Promise.all(CASES.map((c) => k?.deleteNamespace(c.ns, 180_000)));
}, 300_000);

const cluster = (ns: string): VaultCluster => clusters.get(ns)!;

describe.each(CASES)('zero to unsealed: $server, $ns', ({ ns, native }) => {
  it('every node is unsealed by its own sidecar, and the followers joined through DNS', async () => {
    const c = cluster(ns);
    const init = inits.get(ns)!;
    for (const name of PODS) {
      expect(await sealStatus(c, name), name).toMatchObject({ initialized: true, sealed: false });
      // The sidecar, not a person, unsealed it: its own record of the unseal.
      const status = await sidecarStatus(c, name);
      expect(status.state, name).toBe('unsealed');
      expect(status.lastUnseal, `${name}: unsealed by its sidecar`).not.toBeNull();
      const line = await unsealedLineAfter(c, name, 0);
      expect(line?.fields['durationSeconds'], name).toBeTypeOf('number');
      report(
        `${ns} ${name}: keys Secret created -> unsealed (the kubelet nudged)`,
        line!.time - init.secretCreatedAt,
      );
      // Injected the way this case asks.
      const p = await pod(c, name);
      const where = native ? p.spec.initContainers : p.spec.containers;
      const sidecar = (where ?? []).find((x: any) => x.name === SIDECAR);
      expect(
        sidecar,
        `${name}: sidecar in ${native ? 'initContainers' : 'containers'}`,
      ).toBeDefined();
      expect(sidecar.restartPolicy).toBe(native ? 'Always' : undefined);
    }
    // One raft cluster of three, each member known by its DNS name on the headless Service.
    const peers = await raftPeers(c, 'vault-0', init.rootToken);
    expect(peers.map((p) => p.address).sort()).toEqual(
      PODS.map((name) => `${name}.vault-internal:8201`),
    );
  });
});

describe('restarts a user causes', () => {
  it.concurrent.each(CASES)(
    '$ns: pod deletions, a killed Vault, a killed sidecar, a rolling restart',
    async ({ ns }) => {
      const c = cluster(ns);

      // The leader's pod, then a follower's.
      const leader = await leaderPod(c);
      await recreatePod(c, leader, 'leader pod deleted');
      await waitAllUnsealed(c, 120_000);
      const follower = PODS.find((p) => p !== leader)!;
      await recreatePod(c, follower, 'follower pod deleted');
      await waitAllUnsealed(c, 120_000);

      // The Vault container killed: the kubelet restarts it in the same pod, sealed; the sidecar
      // unseals it again.
      const { killedAt: tKill, line } = await killVaultAndWaitUnsealed(c, 'vault-1');
      report(`${ns} vault container killed: kill -> unsealed`, line.time - tKill);

      // The sidecar killed: Vault keeps serving, unsealed, and is not restarted.
      const vaultRestarts = containerStatus(await pod(c, 'vault-2'), 'vault')
        .restartCount as number;
      const sidecarRestarts = containerStatus(await pod(c, 'vault-2'), SIDECAR)
        .restartCount as number;
      await killContainer(c, 'vault-2', SIDECAR);
      const seen: boolean[] = [];
      await waitUntil(`${ns}/vault-2 sidecar restarted`, 90_000, async () => {
        seen.push((await sealStatus(c, 'vault-2')).sealed);
        return containerStatus(await pod(c, 'vault-2'), SIDECAR).restartCount > sidecarRestarts;
      });
      expect(seen.length).toBeGreaterThan(0);
      expect(
        seen.every((sealed) => !sealed),
        'vault-2 stayed unsealed while its sidecar was down',
      ).toBe(true);
      expect(containerStatus(await pod(c, 'vault-2'), 'vault').restartCount).toBe(vaultRestarts);

      // A rolling restart: the StatefulSet is OnDelete, so `rollout restart` changes the template
      // and each pod is deleted by hand, standbys first, the leader last.
      await k.kubectlOk(['rollout', 'restart', 'statefulset/vault', '-n', ns]);
      const tRoll = Date.now();
      const last = await leaderPod(c);
      for (const name of [...PODS.filter((p) => p !== last), last]) {
        await recreatePod(c, name, `rolling restart ${name}${name === last ? ' (leader)' : ''}`);
        await waitAllUnsealed(c, 120_000);
      }
      report(`${ns} rolling restart of 3 pods: total`, Date.now() - tRoll);
      for (const name of PODS) {
        const p = await pod(c, name);
        expect(p.metadata.annotations['kubectl.kubernetes.io/restartedAt'], name).toBeDefined();
      }
    },
    900_000,
  );
});
