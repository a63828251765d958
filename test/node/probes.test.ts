// Issue 18, point 5, and the failure issue 22 found, on the real node, against OpenBao and
// HashiCorp Vault:
// - Probes never restart a sealed server: an HA raft cluster installed with the example values and
//   initialised, but with no keys Secret, stays sealed (vault-0) and uninitialised (vault-1, -2)
//   well past the liveness probe's initial delay and failure threshold; neither the Vault
//   container's liveness probe as the example sets it nor the injected sidecar's probes restart
//   anything (restartCount 0).
// - The example WITHOUT retry_join (the chart's default raft config): vault-0 unseals, but the
//   followers never join: they stay uninitialised, their sidecars waiting in not-initialized.
// (A sidecar that cannot start: wrong-image.test.ts, which changes the webhook and runs alone.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PODS,
  SERVERS,
  SIDECAR,
  containerStatus,
  initAndStoreKeys,
  installVault,
  node,
  nudgeKubelet,
  pod,
  sealStatus,
  sidecarStatus,
  waitServing,
  waitUnsealed,
  type Node,
  type VaultCluster,
} from './scenario-support.js';

// The example's liveness probe: initialDelaySeconds 60, periodSeconds 5 (chart default),
// failureThreshold 5. Watching 100 s after the pods started covers a full threshold of failures.
const SEALED_WATCH_MS = 100_000;

let k: Node;
const sealedClusters = new Map<string, VaultCluster>();
const noJoinClusters = new Map<string, VaultCluster>();

beforeAll(async () => {
  k = node();
  await Promise.all(
    SERVERS.flatMap((server) => [
      installVault(k, `sealed-${server}`, { server, native: true }).then((c) =>
        sealedClusters.set(server, c),
      ),
      installVault(k, `nojoin-${server}`, { server, native: true, retryJoin: false }).then((c) =>
        noJoinClusters.set(server, c),
      ),
    ]),
  );
}, 300_000);

afterAll(async () => {
  await Promise.all(
    [...sealedClusters.values(), ...noJoinClusters.values()].map((c) =>
      k?.deleteNamespace(c.ns, 180_000),
    ),
  );
}, 300_000);

/** Every container of the three pods, with its restart count. */
async function restartCounts(c: VaultCluster): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const name of PODS) {
    for (const container of ['vault', SIDECAR]) {
      counts[`${name}/${container}`] = containerStatus(await pod(c, name), container)?.restartCount;
    }
  }
  return counts;
}

describe('probes and a sealed server', () => {
  it.concurrent.each(SERVERS)(
    '%s: sealed and uninitialised nodes are never restarted by any probe',
    async (server) => {
      const c = sealedClusters.get(server)!;
      await initAndStoreKeysWithoutSecret(c);
      const startedAt = Date.now();
      const seen = new Set<string>();
      while (Date.now() - startedAt < SEALED_WATCH_MS) {
        for (const name of PODS) {
          const s = await sealStatus(c, name).catch(() => undefined);
          if (s)
            seen.add(
              `${name}:${s.initialized ? 'initialized' : 'uninitialized'}:${s.sealed ? 'sealed' : 'unsealed'}`,
            );
        }
        const counts = await restartCounts(c);
        expect(counts, 'no container restarted').toEqual(
          Object.fromEntries(Object.keys(counts).map((key) => [key, 0])),
        );
        await new Promise((r) => setTimeout(r, 5_000));
      }
      // It really was sealed, and uninitialised, all along.
      expect([...seen].sort()).toEqual([
        'vault-0:initialized:sealed',
        'vault-1:uninitialized:sealed',
        'vault-2:uninitialized:sealed',
      ]);
      // The liveness probe as the example sets it ran past its initial delay (the pods are older
      // than it), and the sidecar is there and running.
      for (const name of PODS) {
        const p = await pod(c, name);
        const started = Date.parse(containerStatus(p, 'vault').state.running.startedAt);
        expect(Date.now() - started, `${name} ran past the liveness delay`).toBeGreaterThan(85_000);
        expect(p.spec.containers[0].livenessProbe.httpGet.path).toContain('sealedcode=204');
      }
    },
    600_000,
  );

  it.concurrent.each(SERVERS)(
    '%s: the example without retry_join leaves the followers uninitialised for ever',
    async (server) => {
      const c = noJoinClusters.get(server)!;
      await initAndStoreKeys(c);
      await nudgeKubelet(c);
      await waitUnsealed(c, 'vault-0', 240_000);
      // Give the followers the time a joined follower needs (seconds), and then some.
      await new Promise((r) => setTimeout(r, 30_000));
      for (const name of ['vault-1', 'vault-2']) {
        expect(await sealStatus(c, name), name).toMatchObject({ initialized: false, sealed: true });
        expect((await sidecarStatus(c, name)).state, name).toBe('not-initialized');
      }
    },
    600_000,
  );
});

/** Init vault-0 through `kubectl exec` and throw the output away: no keys Secret at all. */
async function initAndStoreKeysWithoutSecret(c: VaultCluster): Promise<void> {
  await waitServing(c, 'vault-0');
  const init = await k.exec(c.ns, 'vault-0', 'vault', [
    'vault',
    'operator',
    'init',
    '-key-shares=1',
    '-key-threshold=1',
    '-format=json',
  ]);
  expect(init.code).toBe(0);
}
