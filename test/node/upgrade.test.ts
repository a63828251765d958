// The upgrade from the previous release to this one, on the real node (issue 20), as
// docs/upgrade.md and CHANGELOG.md tell an operator to do it: 0.1.0 (chart and images rebuilt from
// git by scripts/previous-release.sh) installed with `helm install`, a Vault cluster kept unsealed
// by 0.1.0 sidecars, then `helm upgrade` to this version's chart and images with the values given
// again (not --reuse-values), then `helm rollback`. What it shows:
//   - the chart upgrade changes no running pod: same pods, same sidecar containers, still 0.1.0,
//     and they keep unsealing (a killed Vault container is unsealed again by its 0.1.0 sidecar);
//   - a pod created after the upgrade gets this version's sidecar;
//   - a cluster with both sidecar versions stays unsealed through restarts (every Vault container
//     killed at once, the leader's pod re-created);
//   - `helm rollback` to 0.1.0 changes no running pod either, and the next new pod gets 0.1.0.
// Which sidecar a pod runs is read as an operator would: the injected container's image, and the
// sidecar's own `vault_autounseal_build_info{version}` on /metrics.
//
// It replaces the suite's webhook release for its duration (node-exclusive), and puts this
// version's back, installed afresh, whatever happened.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import {
  CURRENT_RELEASE,
  WEBHOOK_DEPLOYMENT,
  WEBHOOK_NAMESPACE,
  WEBHOOK_RELEASE,
  webhookInstallArgs,
  webhookReleaseArgs,
  type WebhookRelease,
} from './harness/node.js';
import { PREVIOUS, VERSION } from './harness/images.js';
import { injectedSidecar } from './harness/pods.js';
import {
  PODS,
  SIDECAR,
  containerStatus,
  installAndUnseal,
  killContainer,
  killVaultAndWaitUnsealed,
  leaderPod,
  node,
  pod,
  recreatePod,
  sealStatus,
  sidecarMetrics,
  unsealedLineAfter,
  waitAllUnsealed,
  waitForWebhookPods,
  waitUntil,
  type Node,
  type VaultCluster,
} from './scenario-support.js';

const NAMESPACE = 'upgrade';
const OLD: WebhookRelease = {
  chart: PREVIOUS.chart,
  webhook: PREVIOUS.webhook,
  sidecar: PREVIOUS.sidecar,
};

let k: Node;
let c: VaultCluster;

/** The version the pod's sidecar says it is (`vault_autounseal_build_info`), read from its pod IP. */
async function sidecarVersion(name: string): Promise<string> {
  const line = (await sidecarMetrics(c, name))
    .split('\n')
    .find((l) => l.startsWith('vault_autounseal_build_info{'));
  const version = line ? /version="([^"]+)"/.exec(line)?.[1] : undefined;
  if (!version) throw new Error(`${NAMESPACE}/${name}: no vault_autounseal_build_info on /metrics`);
  return version;
}

/** Image and version of the sidecar in each Vault pod: what docs/upgrade.md's command shows. */
async function sidecars(): Promise<Record<string, { image: string; version: string }>> {
  const out: Record<string, { image: string; version: string }> = {};
  for (const name of PODS) {
    const image = String(injectedSidecar(await pod(c, name))?.image);
    out[name] = { image, version: await sidecarVersion(name) };
  }
  return out;
}

/** What must not change when only the chart changes: each pod and its sidecar container. */
async function runningPods(): Promise<Record<string, { uid: string; sidecar: string }>> {
  const out: Record<string, { uid: string; sidecar: string }> = {};
  for (const name of PODS) {
    const p = await pod(c, name);
    out[name] = {
      uid: String(p.metadata.uid),
      sidecar: `${containerStatus(p, SIDECAR)?.containerID}#${containerStatus(p, SIDECAR)?.restartCount}`,
    };
  }
  return out;
}

/** helm install / upgrade of the webhook, then until every webhook pod runs the release's image. */
async function deployWebhook(verb: 'install' | 'upgrade', release: WebhookRelease): Promise<void> {
  await k.helmOk(webhookReleaseArgs(verb, release));
  await webhookPodsOn(release.webhook);
}

async function webhookPodsOn(image: string): Promise<void> {
  await waitForWebhookPods(
    k,
    `on ${image} and Ready`,
    180_000,
    (p) =>
      p.spec.containers[0].image === image &&
      (p.status?.conditions ?? []).some((x: any) => x.type === 'Ready' && x.status === 'True'),
  );
}

async function deploymentImage(): Promise<string> {
  const deployment = await k.get(WEBHOOK_NAMESPACE, 'deployment', WEBHOOK_DEPLOYMENT);
  return String(deployment?.spec?.template?.spec?.containers?.[0]?.image);
}

async function uninstallWebhook(): Promise<void> {
  await k.helm(['uninstall', WEBHOOK_RELEASE, '--namespace', WEBHOOK_NAMESPACE, '--wait']);
  await waitUntil('the webhook pods gone', 120_000, async () => {
    const pods = await k.kubectlOk(['get', 'pods', '-n', WEBHOOK_NAMESPACE, '-o', 'name']);
    return pods.trim() === '';
  });
}

beforeAll(async () => {
  k = node();
  if (!existsSync(PREVIOUS.chart)) {
    throw new Error(`${PREVIOUS.dir} is missing: run bash scripts/previous-release.sh`);
  }
  // 0.1.0 installed as its users installed it: the suite's release makes way for it.
  await uninstallWebhook();
  await deployWebhook('install', OLD);
  ({ cluster: c } = await installAndUnseal(k, NAMESPACE, { server: 'openbao', native: true }));
}, 900_000);

afterAll(async () => {
  await k?.deleteNamespace(NAMESPACE, 180_000);
  // Whatever happened, the next file gets this version's webhook as the global setup installed it.
  await uninstallWebhook();
  await k?.helmOk(webhookInstallArgs());
  await webhookPodsOn(CURRENT_RELEASE.webhook);
}, 600_000);

describe(`upgrade from ${PREVIOUS.version} to ${VERSION}`, () => {
  it(`${PREVIOUS.version}: every node is unsealed by a ${PREVIOUS.version} sidecar`, async () => {
    expect(await deploymentImage()).toBe(OLD.webhook);
    for (const [name, sidecar] of Object.entries(await sidecars())) {
      expect(sidecar, name).toEqual({ image: OLD.sidecar, version: PREVIOUS.version });
      expect(await sealStatus(c, name), name).toMatchObject({ initialized: true, sealed: false });
    }
  });

  it(`helm upgrade to ${VERSION} changes no running pod, and their ${PREVIOUS.version} sidecars keep unsealing`, async () => {
    const before = await runningPods();
    await deployWebhook('upgrade', CURRENT_RELEASE);
    expect(await deploymentImage()).toBe(CURRENT_RELEASE.webhook);
    const revision = JSON.parse(
      await k.helmOk(['status', WEBHOOK_RELEASE, '-n', WEBHOOK_NAMESPACE, '-o', 'json']),
    );
    expect(revision.version, 'helm revision').toBe(2);

    expect(await runningPods(), 'the same pods and sidecar containers').toEqual(before);
    for (const [name, sidecar] of Object.entries(await sidecars()))
      expect(sidecar, name).toEqual({ image: OLD.sidecar, version: PREVIOUS.version });
    await waitAllUnsealed(c, 60_000);

    // A 0.1.0 sidecar still does its job after the upgrade: its Vault container killed and
    // restarted sealed by the kubelet, it unseals it again.
    const { line } = await killVaultAndWaitUnsealed(c, 'vault-1');
    expect(line.fields['state']).toBe('unsealed');
  });

  it(`a new pod gets the ${VERSION} sidecar, and the mixed cluster stays unsealed through restarts`, async () => {
    // docs/upgrade.md: standbys first.
    const leader = await leaderPod(c);
    const standby = PODS.find((p) => p !== leader)!;
    const recreated = await recreatePod(c, standby, `standby ${standby} on ${VERSION}`);
    expect(injectedSidecar(recreated)?.image).toBe(CURRENT_RELEASE.sidecar);
    expect(await sidecarVersion(standby)).toBe(VERSION);
    const versions = Object.values(await sidecars()).map((s) => s.version);
    expect(new Set(versions), 'both versions run side by side').toEqual(
      new Set([PREVIOUS.version, VERSION]),
    );

    // Every Vault container killed at once (a node-wide crash of the servers): each comes back
    // sealed, and each sidecar, old or new, unseals its own.
    const restarts = Object.fromEntries(
      await Promise.all(
        PODS.map(async (name) => [name, containerStatus(await pod(c, name), 'vault').restartCount]),
      ),
    ) as Record<string, number>;
    const killedAt = Date.now();
    await Promise.all(PODS.map((name) => killContainer(c, name, 'vault')));
    for (const name of PODS) {
      await waitUntil(
        `${NAMESPACE}/${name} vault restarted`,
        120_000,
        async () => containerStatus(await pod(c, name), 'vault').restartCount > restarts[name]!,
      );
    }
    await waitAllUnsealed(c, 180_000);
    for (const name of PODS) {
      const line = await waitUntil(`${name}: its sidecar says unsealed`, 30_000, () =>
        unsealedLineAfter(c, name, killedAt),
      );
      expect(line.fields['state'], name).toBe('unsealed');
    }

    // The leader's pod last, re-created on the new version: leadership moves to whichever node
    // wins, 0.1.0 or 0.2.0, and all three stay unsealed.
    const lastLeader = await leaderPod(c);
    const fresh = await recreatePod(c, lastLeader, `leader ${lastLeader} on ${VERSION}`);
    expect(injectedSidecar(fresh)?.image).toBe(CURRENT_RELEASE.sidecar);
    await waitAllUnsealed(c, 120_000);
  });

  it(`helm rollback to ${PREVIOUS.version} changes no running pod, and the next new pod gets ${PREVIOUS.version} again`, async () => {
    const before = await runningPods();
    const beforeVersions = await sidecars();
    await k.helmOk([
      'rollback',
      WEBHOOK_RELEASE,
      '1',
      '--namespace',
      WEBHOOK_NAMESPACE,
      '--wait',
      '--timeout',
      '180s',
    ]);
    await webhookPodsOn(OLD.webhook);
    expect(await deploymentImage()).toBe(OLD.webhook);
    expect(await runningPods(), 'the same pods and sidecar containers').toEqual(before);
    expect(await sidecars()).toEqual(beforeVersions);

    const onNew = PODS.find((name) => beforeVersions[name]!.version === VERSION)!;
    const recreated = await recreatePod(c, onNew, `${onNew} after the rollback`);
    expect(injectedSidecar(recreated)?.image).toBe(OLD.sidecar);
    expect(await sidecarVersion(onNew)).toBe(PREVIOUS.version);
    await waitAllUnsealed(c, 120_000);
  });
});
