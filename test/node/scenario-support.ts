// Shared by the node scenario tests (quick-start, restarts, kubelet-files, probes): a vault-helm
// HA raft cluster installed with the project's example values, one per namespace, so that several
// run side by side on the one node and share the kubelet's slow waits; init through `kubectl exec`
// with the shares piped into the keys Secret; and what a user would look at: seal status on the
// pod IP, the sidecar's /status and its log lines, with their own timestamps for measuring.
//
// The chart is the project's stand-in (test/node/fixtures/vault-chart), or the real vault-helm
// with VAULT_HELM_CHART=DIR. No share or token is ever printed: errors name pods and states only.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  IMAGES,
  ROOT,
  WEBHOOK_NAMESPACE,
  WEBHOOK_RELEASE,
  node,
  waitUntil,
  type Node,
} from './harness/node.js';
import { ctr } from './harness/cluster.js';

export type Server = 'openbao' | 'vault';
export const SERVERS: readonly Server[] = ['openbao', 'vault'];
export const SIDECAR = 'vault-autounseal';
export const RELEASE = 'vault';
export const PODS = ['vault-0', 'vault-1', 'vault-2'] as const;

export const STAND_IN_CHART = join(ROOT, 'test', 'node', 'fixtures', 'vault-chart');
export const EXAMPLE_VALUES = join(ROOT, 'deploy', 'examples', 'vault-helm-values.yaml');

/** The chart `hashicorp/vault` stands for: the real one when VAULT_HELM_CHART names a copy. */
export function vaultChart(): string {
  return process.env['VAULT_HELM_CHART'] || STAND_IN_CHART;
}

export function imageOf(server: Server): { repository: string; tag: string } {
  const [repository, tag] = IMAGES[server].split(/:(?=[^:]+$)/) as [string, string];
  return { repository, tag };
}

/** The chart's default raft config: the example without retry_join (what issue 18 found broken). */
const CONFIG_WITHOUT_RETRY_JOIN = `ui = true
disable_mlock = true
listener "tcp" {
  tls_disable = 1
  address = "[::]:8200"
  cluster_address = "[::]:8201"
}
storage "raft" {
  path = "/vault/data"
}
service_registration "kubernetes" {}
`;

export interface InstallOptions {
  readonly server: Server;
  /** false: the pod annotation vault-autounseal.io/native-sidecar "false" (a regular container). */
  readonly native: boolean;
  /** false: the example with the chart's default raft config, which has no retry_join. */
  readonly retryJoin?: boolean;
  /** Opt in by the namespace label instead of the pod label (server.extraLabels emptied). */
  readonly namespaceOptIn?: boolean;
  /** More labels on the namespace, e.g. Pod Security's enforce label. */
  readonly namespaceLabels?: Readonly<Record<string, string>>;
}

export interface VaultCluster {
  readonly k: Node;
  readonly ns: string;
  readonly options: InstallOptions;
}

/** A namespace and `helm install vault` into it with the example values, as the quick start does. */
export async function installVault(
  k: Node,
  ns: string,
  options: InstallOptions,
): Promise<VaultCluster> {
  await k.createNamespace(ns, {
    ...(options.namespaceOptIn ? { 'vault-autounseal.io/injection': 'enabled' } : {}),
    ...options.namespaceLabels,
  });
  await provideVolumes(k, ns);
  const image = imageOf(options.server);
  const extra = mkdtempSync(join(tmpdir(), 'vau-values-'));
  const overrides: Record<string, unknown> = {
    server: {
      image: { repository: image.repository, tag: image.tag, pullPolicy: 'Never' },
      affinity: '', // one node: the chart's required anti-affinity would schedule one pod of three
      ...(options.native ? {} : { annotations: { 'vault-autounseal.io/native-sidecar': 'false' } }),
      ...(options.retryJoin === false
        ? { ha: { raft: { config: CONFIG_WITHOUT_RETRY_JOIN } } }
        : {}),
    },
  };
  const file = join(extra, 'node.yaml');
  writeFileSync(file, JSON.stringify(overrides));
  try {
    await k.helmOk([
      'install',
      RELEASE,
      vaultChart(),
      '--namespace',
      ns,
      '--set',
      'injector.enabled=false',
      // The real chart binds each release's ServiceAccount cluster-wide (ClusterRoleBinding
      // <release>-server-binding, for Vault's Kubernetes auth, unused here): several releases named
      // `vault` in different namespaces would clash on it. The stand-in has no such binding.
      ...(process.env['VAULT_HELM_CHART'] ? ['--set', 'server.authDelegator.enabled=false'] : []),
      '-f',
      options.namespaceOptIn ? withoutPodLabel(extra) : EXAMPLE_VALUES,
      '-f',
      file,
    ]);
  } finally {
    await rm(extra, { recursive: true, force: true });
  }
  return { k, ns, options };
}

/** The chart's three claims (data-vault-N), bound beforehand to fresh hostPath volumes. */
export async function provideVolumes(k: Node, ns: string): Promise<void> {
  await k.provideVolumes(ns, RELEASE, 'data', PODS.length);
}

/** The example values without the pod label: the namespace label opts the pods in instead. */
function withoutPodLabel(dir: string): string {
  const values = parseYaml(readFileSync(EXAMPLE_VALUES, 'utf8')) as {
    server: Record<string, unknown>;
  };
  delete values.server['extraLabels'];
  const file = join(dir, 'example-without-pod-label.yaml');
  writeFileSync(file, JSON.stringify(values));
  return file;
}

export interface SealStatus {
  readonly initialized: boolean;
  readonly sealed: boolean;
}

/** /v1/sys/seal-status on the pod's IP (reachable from the host through the bridge). */
export async function sealStatus(c: VaultCluster, pod: string): Promise<SealStatus> {
  const ip = await c.k.podIp(c.ns, pod);
  const response = await fetch(`http://${ip}:8200/v1/sys/seal-status`, {
    signal: AbortSignal.timeout(5_000),
  });
  return (await response.json()) as SealStatus;
}

/** The sidecar's /status (state, keys loaded, paused): what the runbooks read. */
export async function sidecarStatus(c: VaultCluster, pod: string): Promise<any> {
  const ip = await c.k.podIp(c.ns, pod);
  const response = await fetch(`http://${ip}:8210/status`, { signal: AbortSignal.timeout(5_000) });
  return response.json();
}

/** The sidecar's /metrics, as Prometheus scrapes it from the pod IP. */
export async function sidecarMetrics(c: VaultCluster, pod: string): Promise<string> {
  const ip = await c.k.podIp(c.ns, pod);
  const response = await fetch(`http://${ip}:8210/metrics`, { signal: AbortSignal.timeout(5_000) });
  return response.text();
}

/** A counter of the sidecar's /metrics (summed over labels). */
export async function sidecarCounter(c: VaultCluster, pod: string, name: string): Promise<number> {
  return (await sidecarMetrics(c, pod))
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

export async function waitServing(
  c: VaultCluster,
  pod: string,
  timeoutMs = 180_000,
): Promise<void> {
  await waitUntil(`${c.ns}/${pod} answers seal-status`, timeoutMs, async () => {
    await sealStatus(c, pod);
    return true;
  });
}

export interface InitResult {
  /** Held in memory for the test's own checks; never printed. */
  readonly rootToken: string;
  readonly sharesB64: readonly string[];
  /** When the keys Secret was created (ms since the epoch). */
  readonly secretCreatedAt: number;
}

/**
 * `vault operator init` through `kubectl exec`, and the shares piped into the keys Secret with the
 * root token stripped (the quick start's recipe), 5 shares, threshold 3.
 */
export async function initAndStoreKeys(c: VaultCluster): Promise<InitResult> {
  await waitServing(c, 'vault-0');
  const init = await c.k.exec(c.ns, 'vault-0', 'vault', [
    'vault',
    'operator',
    'init',
    '-key-shares=5',
    '-key-threshold=3',
    '-format=json',
  ]);
  if (init.code !== 0) throw new Error(`${c.ns}: vault operator init exited ${init.code}`);
  const parsed = JSON.parse(init.stdout) as {
    unseal_keys_b64: string[];
    unseal_threshold: number;
    root_token: string;
  };
  // The Secret on stdin (kubectl reads it; node's stdin is a socket, which /dev/stdin cannot open),
  // with the root token stripped, as the quick start's pipe does.
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'vault-unseal-keys', namespace: c.ns },
    type: 'Opaque',
    stringData: {
      'init.json': JSON.stringify({
        unseal_keys_b64: parsed.unseal_keys_b64,
        unseal_threshold: parsed.unseal_threshold,
      }),
    },
  };
  const created = await c.k.kubectl(['create', '-f', '-'], JSON.stringify(secret));
  if (created.code !== 0) {
    throw new Error(`${c.ns}: creating the keys Secret failed: ${created.stderr.slice(0, 300)}`);
  }
  return {
    rootToken: parsed.root_token,
    sharesB64: parsed.unseal_keys_b64,
    secretCreatedAt: Date.now(),
  };
}

export async function waitUnsealed(c: VaultCluster, pod: string, timeoutMs: number): Promise<void> {
  await waitUntil(`${c.ns}/${pod} unsealed`, timeoutMs, async () => {
    const status = await sealStatus(c, pod);
    return status.initialized && !status.sealed;
  });
}

export async function waitAllUnsealed(c: VaultCluster, timeoutMs: number): Promise<void> {
  await Promise.all(PODS.map((pod) => waitUnsealed(c, pod, timeoutMs)));
}

/**
 * Makes the kubelet sync the cluster's pods now, with a change to an annotation nothing reads. The
 * kubelet projects a Secret created after a pod started only at its next periodic sync of that pod
 * (up to ~90 s: kubelet-files.test.ts and the quick start measure it); a change to the pod object
 * syncs it at once, its Secret volumes included. For the files that do not measure that delay.
 */
export async function nudgeKubelet(c: VaultCluster): Promise<void> {
  await c.k.kubectlOk([
    'annotate',
    'pod',
    '-n',
    c.ns,
    ...PODS,
    `node-test.vault-autounseal.invalid/nudged=${Date.now()}`,
    '--overwrite',
  ]);
}

export interface UnsealedCluster {
  readonly cluster: VaultCluster;
  readonly init: InitResult;
}

/**
 * Zero to unsealed, as the quick start goes: helm install, init through `kubectl exec`, the shares
 * piped into the keys Secret, then every node unsealed by its own sidecar. `waitForKubelet`: leave
 * the Secret's projection to the kubelet's own sync (what is measured), else nudge it.
 */
export async function installAndUnseal(
  k: Node,
  ns: string,
  options: InstallOptions & { readonly waitForKubelet?: boolean },
): Promise<UnsealedCluster> {
  const cluster = await installVault(k, ns, options);
  const init = await initAndStoreKeys(cluster);
  if (!options.waitForKubelet) await nudgeKubelet(cluster);
  await waitAllUnsealed(cluster, 240_000);
  return { cluster, init };
}

/** `vault operator raft list-peers` with the token on stdin (never in argv or a log). */
export async function raftPeers(
  c: VaultCluster,
  pod: string,
  token: string,
): Promise<{ node_id: string; address: string; voter: boolean }[]> {
  const result = await c.k.exec(
    c.ns,
    pod,
    'vault',
    [
      'sh',
      '-c',
      'read -r VAULT_TOKEN; export VAULT_TOKEN; exec vault operator raft list-peers -format=json',
    ],
    `${token}\n`,
  );
  if (result.code !== 0) throw new Error(`${c.ns}/${pod}: raft list-peers exited ${result.code}`);
  return (JSON.parse(result.stdout) as { data: { config: { servers: any[] } } }).data.config
    .servers;
}

export interface LogLine {
  readonly time: number;
  readonly msg: string;
  readonly fields: Record<string, unknown>;
}

/** The sidecar's JSON log lines, with their own timestamps (ms). `previous`: the last container's. */
export async function sidecarLog(
  c: VaultCluster,
  pod: string,
  previous = false,
): Promise<LogLine[]> {
  const result = await c.k.kubectl([
    'logs',
    '-n',
    c.ns,
    pod,
    '-c',
    SIDECAR,
    ...(previous ? ['--previous'] : []),
  ]);
  return result.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .map((fields) => ({
      time: Date.parse(String(fields['time'])),
      msg: String(fields['msg']),
      fields,
    }));
}

/** The first sidecar line after `since` that says the server is unsealed. */
export async function unsealedLineAfter(
  c: VaultCluster,
  pod: string,
  since: number,
): Promise<LogLine | undefined> {
  return (await sidecarLog(c, pod)).find(
    (l) => l.time >= since && l.fields['state'] === 'unsealed',
  );
}

export async function pod(c: VaultCluster, name: string): Promise<any> {
  return c.k.get(c.ns, 'pod', name);
}

/** The kubelet's record of a container: restartCount, state, its containerd ID. */
// eslint-disable-next-line @typescript-eslint/explicit-module-boundary-types -- kubectl's JSON
export function containerStatus(p: any, name: string): any {
  return [
    ...(p?.status?.initContainerStatuses ?? []),
    ...(p?.status?.containerStatuses ?? []),
  ].find((s: any) => s.name === name);
}

/** SIGKILL of one container's process through containerd, as an OOM kill or a crash would. */
export async function killContainer(
  c: VaultCluster,
  podName: string,
  container: string,
): Promise<void> {
  const status = containerStatus(await pod(c, podName), container);
  const id = String(status?.containerID ?? '').replace(/^containerd:\/\//, '');
  if (!id) throw new Error(`${c.ns}/${podName}: no running ${container} container`);
  const killed = await ctr(c.k.dir, ['tasks', 'kill', '--signal', 'SIGKILL', id]);
  if (killed.code !== 0) throw new Error(`ctr tasks kill ${container}: ${killed.stderr}`);
}

/**
 * Deletes a pod and waits until the StatefulSet controller recreated it, the webhook injected it
 * again and its sidecar unsealed it; reports how long that took. Returns the new pod.
 */
export async function recreatePod(c: VaultCluster, name: string, what: string): Promise<any> {
  const before = await pod(c, name);
  const t0 = Date.now();
  await c.k.kubectlOk(['delete', 'pod', name, '-n', c.ns, '--wait=false']);
  const fresh = await waitUntil(`${c.ns}/${name} recreated`, 120_000, async () => {
    const p = await pod(c, name);
    return p && p.metadata.uid !== before.metadata.uid && p.status?.podIP ? p : false;
  });
  const containers = [...(fresh.spec.initContainers ?? []), ...fresh.spec.containers];
  if (!containers.some((x: any) => x.name === SIDECAR))
    throw new Error(`${c.ns}/${name} was recreated without the sidecar`);
  await waitUnsealed(c, name, 120_000);
  const line = await waitUntil(`${c.ns}/${name} sidecar says unsealed`, 30_000, () =>
    unsealedLineAfter(c, name, t0),
  );
  const started = await waitUntil(`${c.ns}/${name} vault started`, 30_000, async () => {
    const at = containerStatus(await pod(c, name), 'vault')?.state?.running?.startedAt;
    return at ? Date.parse(at) : false;
  });
  report(`${c.ns} ${what}: delete -> unsealed`, line.time - t0);
  report(
    `${c.ns} ${what}: vault container started (kubelet, 1 s resolution) -> unsealed`,
    line.time - started,
  );
  return pod(c, name);
}

/**
 * SIGKILL of a pod's Vault container: the kubelet restarts it in the same pod, sealed, and its
 * sidecar unseals it again. Returns when the kill was sent and the sidecar's line saying unsealed.
 */
export async function killVaultAndWaitUnsealed(
  c: VaultCluster,
  name: string,
): Promise<{ killedAt: number; line: LogLine }> {
  const restarts = containerStatus(await pod(c, name), 'vault').restartCount as number;
  const killedAt = Date.now();
  await killContainer(c, name, 'vault');
  await waitUntil(
    `${c.ns}/${name} vault restarted by the kubelet`,
    90_000,
    async () => containerStatus(await pod(c, name), 'vault').restartCount > restarts,
  );
  await waitUnsealed(c, name, 120_000);
  const line = await waitUntil(`${c.ns}/${name} sidecar says unsealed`, 30_000, () =>
    unsealedLineAfter(c, name, killedAt),
  );
  return { killedAt, line };
}

/** Which pod is the raft leader: the one whose sidecar sees an active node in /v1/sys/leader. */
export async function leaderPod(c: VaultCluster): Promise<string> {
  return waitUntil(`${c.ns}: a leader`, 60_000, async () => {
    for (const p of PODS) {
      const ip = await c.k.podIp(c.ns, p);
      const r = await fetch(`http://${ip}:8200/v1/sys/leader`, {
        signal: AbortSignal.timeout(5_000),
      });
      if (((await r.json()) as { is_self?: boolean }).is_self) return p;
    }
    return false;
  });
}

/**
 * When the kubelet last swapped a volume's files (to the second): its atomic writer points `..data`
 * at a new directory named after the moment of the write in UTC plus a random suffix,
 * `..2026_12_05_22_40_01.123456789`.
 */
export async function kubeletDataSwap(
  c: VaultCluster,
  podName: string,
  plugin: 'secret' | 'downward-api',
  volume: string,
): Promise<number> {
  const uid = (await pod(c, podName)).metadata.uid as string;
  const link = join(
    c.k.dir,
    'kubelet',
    'root',
    'pods',
    uid,
    'volumes',
    `kubernetes.io~${plugin}`,
    volume,
    '..data',
  );
  const target = await readlink(link);
  const m = /^\.\.(\d{4})_(\d\d)_(\d\d)_(\d\d)_(\d\d)_(\d\d)\.\d+$/.exec(target);
  if (!m) throw new Error(`${link} -> ${target}: not the kubelet's timestamped directory`);
  const [y, mo, d, h, mi, sec] = m.slice(1).map(Number);
  return Date.UTC(y ?? 0, (mo ?? 1) - 1, d, h, mi, sec);
}

export const KEYS_VOLUME = 'vault-autounseal-keys-1';
export const PODINFO_VOLUME = 'vault-autounseal-podinfo';

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

/** One measured number, printed for docs/real-node-timings.md; never asserted. */
export function report(what: string, ms: number): void {
  process.stderr.write(`[measured] ${what}: ${seconds(ms)}\n`);
}

/**
 * Runs `body` with the suite's webhook release upgraded (`helm upgrade --reuse-values --set …`),
 * once every webhook pod runs with the new environment (`ready` says which), then rolls the
 * release back, whatever happened. For the node-exclusive files only: every pod created meanwhile,
 * in any namespace, is injected with these settings.
 */
export async function withWebhookSettings(
  k: Node,
  settings: Readonly<Record<string, string>>,
  ready: (env: readonly { name: string; value?: string }[]) => boolean,
  body: () => Promise<void>,
): Promise<void> {
  try {
    await k.helmOk([
      'upgrade',
      WEBHOOK_RELEASE,
      join(ROOT, 'deploy', 'helm', 'vault-autounseal'),
      '--namespace',
      WEBHOOK_NAMESPACE,
      '--reuse-values',
      ...Object.entries(settings).flatMap(([key, value]) => ['--set', `${key}=${value}`]),
      '--wait',
      '--timeout',
      '180s',
    ]);
    await waitForWebhookPods(k, 'on the new settings', 120_000, (p) =>
      ready(p.spec.containers[0].env ?? []),
    );
    await body();
  } finally {
    await rollbackWebhook(k);
  }
}

/**
 * Waits until the webhook has pods and every one of them `fits`: after `helm upgrade --wait` or a
 * rollback the old pods may still be terminating, so only the new ones must be left.
 */
export async function waitForWebhookPods(
  k: Node,
  what: string,
  timeoutMs: number,
  fits: (pod: any) => boolean,
): Promise<void> {
  await waitUntil(`webhook pods all ${what}`, timeoutMs, async () => {
    const pods = JSON.parse(
      await k.kubectlOk(['get', 'pods', '-n', WEBHOOK_NAMESPACE, '-o', 'json']),
    ).items as any[];
    return pods.length > 0 && pods.every(fits);
  });
}

/** The suite's webhook release back to its previous revision (helm rollback), waited for. */
export async function rollbackWebhook(k: Node): Promise<void> {
  await k.helm([
    'rollback',
    WEBHOOK_RELEASE,
    '--namespace',
    WEBHOOK_NAMESPACE,
    '--wait',
    '--timeout',
    '180s',
  ]);
}

export { IMAGES, ROOT, node, waitUntil, type Node };
