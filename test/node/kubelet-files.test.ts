// Issue 18, point 4: the files the kubelet itself writes into the sidecar, on the real node,
// against OpenBao and HashiCorp Vault. Two HA raft clusters: OpenBao opted in by the NAMESPACE
// label (the pod label emptied), Vault by the pod label as in the example.
//
// - The keys Secret created after the pods started (the quick start's order): the kubelet projects
//   it at its next sync of each pod, unhurried here. Printed: created -> each node unsealed.
// - The keys Secret rotated with `kubectl apply`: the kubelet swaps the volume's `..data` link at
//   its next sync of the pod, and the sidecar reads the new set; a restarted server is then unsealed
//   with it. Printed: apply -> the kubelet's swap (its own timestamp in the directory name) -> the
//   sidecar's "keys reloaded" line.
// - The pause set with `kubectl annotate --overwrite` (the examples set paused "false", so the
//   runbooks' commands replace a value): once the kubelet has rewritten the downward-API file, no
//   share is submitted (a restarted server stays sealed, the submission counter does not move);
//   then resumed. Printed: annotate -> the sidecar's "paused" line.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  KEYS_VOLUME,
  PODINFO_VOLUME,
  PODS,
  containerStatus,
  installAndUnseal,
  kubeletDataSwap,
  killContainer,
  node,
  pod,
  report,
  sealStatus,
  sidecarCounter,
  sidecarLog,
  sidecarStatus,
  unsealedLineAfter,
  waitUnsealed,
  waitUntil,
  type InitResult,
  type Node,
  type VaultCluster,
} from './scenario-support.js';

const CASES = [
  { server: 'openbao', ns: 'files-openbao', namespaceOptIn: true },
  { server: 'vault', ns: 'files-vault', namespaceOptIn: false },
] as const;

let k: Node;
const clusters = new Map<string, VaultCluster>();
const inits = new Map<string, InitResult>();

beforeAll(async () => {
  k = node();
  await Promise.all(
    CASES.map(async (c) => {
      const { cluster, init } = await installAndUnseal(k, c.ns, {
        ...c,
        native: true,
        waitForKubelet: true,
      });
      clusters.set(c.ns, cluster);
      inits.set(c.ns, init);
    }),
  );
}, 600_000);

afterAll(async () => {
  await Promise.all(CASES.map((c) => k?.deleteNamespace(c.ns, 180_000)));
}, 300_000);

describe('opt-in as set up', () => {
  it.each(CASES)(
    "$ns: injected through the $server pods' own label or their namespace's",
    async ({ ns, namespaceOptIn }) => {
      const p = await pod(clusters.get(ns)!, 'vault-0');
      expect(p.metadata.labels['vault-autounseal.io/inject']).toBe(
        namespaceOptIn ? undefined : 'true',
      );
      expect((p.spec.initContainers ?? []).map((x: any) => x.name)).toContain('vault-autounseal');
    },
  );
});

describe('a keys Secret created after the pods started', () => {
  it.each(CASES)(
    '$ns: every node is unsealed by its sidecar once the kubelet has projected it',
    async ({ ns }) => {
      const c = clusters.get(ns)!;
      const init = inits.get(ns)!;
      for (const name of PODS) {
        const line = await unsealedLineAfter(c, name, init.secretCreatedAt);
        expect(line, `${name}: the sidecar's unsealed line`).toBeDefined();
        report(
          `${ns} ${name}: keys Secret created -> unsealed (kubelet projection)`,
          line!.time - init.secretCreatedAt,
        );
      }
    },
  );
});

describe("the kubelet's own files", () => {
  // One test per cluster, the two clusters at once; inside, one step after the other: a restarted
  // node in each step, never two down together (raft keeps its quorum).
  it.concurrent.each(CASES)(
    '$ns: a rotated keys Secret, then a pause',
    async ({ ns }) => {
      await rotation(ns);
      await pause(ns);
    },
    900_000,
  );
});

async function rotation(ns: string): Promise<void> {
  const c = clusters.get(ns)!;
  const shares = inits.get(ns)!.sharesB64;
  // The rotation, as a user writes it: the same key, new content (three of the five shares, still
  // the threshold), `kubectl apply`d over the Secret the init pipe created.
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'vault-unseal-keys', namespace: ns },
    type: 'Opaque',
    stringData: {
      'init.json': JSON.stringify({
        unseal_keys_b64: [shares[0], shares[2], shares[4]],
        unseal_threshold: 3,
      }),
    },
  };
  const swaps = await Promise.all(PODS.map((p) => kubeletDataSwap(c, p, 'secret', KEYS_VOLUME)));
  const t0 = Date.now();
  await k.kubectlOk(['apply', '-f', '-'], JSON.stringify(secret));
  for (const [i, name] of PODS.entries()) {
    const line = await waitUntil(
      `${ns}/${name}: the sidecar reloads the rotated keys`,
      180_000,
      async () =>
        (await sidecarLog(c, name)).find((l) => l.time >= t0 && l.msg.startsWith('keys reloaded')),
    );
    expect(line.fields['loaded'], name).toBe(3);
    const swapped = await kubeletDataSwap(c, name, 'secret', KEYS_VOLUME);
    expect(swapped, `${name}: the kubelet swapped ..data`).toBeGreaterThan(swaps[i]!);
    report(`${ns} ${name}: Secret applied -> sidecar reloaded keys`, line.time - t0);
    report(`${ns} ${name}: Secret applied -> kubelet's ..data swap (1 s resolution)`, swapped - t0);
    expect((await sidecarStatus(c, name)).keys.loaded).toBe(3);
  }
  // Used: the Vault container of vault-0 killed, the sidecar unseals it with the new files.
  const tKill = Date.now();
  await killContainer(c, 'vault-0', 'vault');
  await waitUnsealed(c, 'vault-0', 120_000);
  expect(await unsealedLineAfter(c, 'vault-0', tKill)).toBeDefined();
}

async function pause(ns: string): Promise<void> {
  const c = clusters.get(ns)!;
  const target = 'vault-1';
  const t0 = Date.now();
  await k.kubectlOk([
    'annotate',
    'pod',
    target,
    '-n',
    ns,
    'vault-autounseal.io/paused=true',
    '--overwrite',
  ]);
  const paused = await waitUntil(`${ns}/${target} paused`, 180_000, async () =>
    (await sidecarLog(c, target)).find((l) => l.time >= t0 && l.fields['paused'] === true),
  );
  const swapped = await kubeletDataSwap(c, target, 'downward-api', PODINFO_VOLUME);
  report(`${ns} ${target}: annotate -> sidecar paused`, paused.time - t0);
  report(
    `${ns} ${target}: annotate -> kubelet's annotations file swap (1 s resolution)`,
    swapped - t0,
  );
  expect((await sidecarStatus(c, target)).paused).toBe(true);

  // Paused: the server restarted (sealed) stays sealed, and not one share is submitted.
  const submitted = await sidecarCounter(c, target, 'vault_autounseal_key_submissions_total');
  const restarts = containerStatus(await pod(c, target), 'vault').restartCount as number;
  await killContainer(c, target, 'vault');
  await waitUntil(
    `${ns}/${target} vault restarted`,
    60_000,
    async () => containerStatus(await pod(c, target), 'vault').restartCount > restarts,
  );
  const watchUntil = Date.now() + 20_000;
  while (Date.now() < watchUntil) {
    const status = await sealStatus(c, target).catch(() => undefined);
    if (status) expect(status.sealed, `${target} stays sealed while paused`).toBe(true);
    await new Promise((r) => setTimeout(r, 1_000));
  }
  expect(await sidecarCounter(c, target, 'vault_autounseal_key_submissions_total')).toBe(submitted);

  // Resumed: the sidecar unseals it again.
  const t1 = Date.now();
  await k.kubectlOk([
    'annotate',
    'pod',
    target,
    '-n',
    ns,
    'vault-autounseal.io/paused=false',
    '--overwrite',
  ]);
  await waitUnsealed(c, target, 180_000);
  report(`${ns} ${target}: un-annotate -> unsealed`, Date.now() - t1);
}
