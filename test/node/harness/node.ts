// What tests get of the running node (test/node/global-setup.ts started it for the whole run):
// kubectl and helm with its kubeconfig, exec into containers, bounded waits, events with their
// times, pod IPs (reachable from the host through the bridge route), hostPath volumes for
// StatefulSets, and the webhook's Deployment to scale.
import { chmod, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { run, runOk, type RunResult } from '../../e2e/harness/run.js';
import { CHART, HELM, ROOT } from '../../e2e/harness/deploy.js';
import { waitUntil } from './cluster.js';
import { IMAGES } from './images.js';

export { IMAGES } from './images.js';
export { NET } from './paths.js';
export { waitUntil } from './cluster.js';

/** Set by the global setup for every worker. */
export const DIR_ENV = 'VAU_NODE_DIR';
export const BEFORE_ENV = 'VAU_NODE_BEFORE';

/** The webhook's release: its own namespace, never Vault's (the webhook skips its own namespace). */
export const WEBHOOK_RELEASE = 'vault-autounseal';
export const WEBHOOK_NAMESPACE = 'vault-autounseal';
export const WEBHOOK_DEPLOYMENT = 'vault-autounseal-webhook';

/** A chart and the two images it should run: this version's, or the previous release's. */
export interface WebhookRelease {
  readonly chart: string;
  readonly webhook: string;
  readonly sidecar: string;
}

export const CURRENT_RELEASE: WebhookRelease = {
  chart: CHART,
  webhook: IMAGES.webhook,
  sidecar: IMAGES.sidecar,
};

/** `helm install` of deploy/helm/vault-autounseal as a user runs it, with the local images. */
export function webhookInstallArgs(extra: readonly string[] = []): string[] {
  return webhookReleaseArgs('install', CURRENT_RELEASE, extra);
}

/**
 * `helm install` or `helm upgrade` of the suite's webhook release from `release`'s chart with its
 * images (preloaded: pull policy Never), generated TLS, waited for. Every value is given, so an
 * upgrade starts from the new chart's defaults (docs/upgrade.md: not --reuse-values).
 */
export function webhookReleaseArgs(
  verb: 'install' | 'upgrade',
  release: WebhookRelease,
  extra: readonly string[] = [],
): string[] {
  const [webhookRepo, webhookTag] = release.webhook.split(/:(?=[^:]+$)/) as [string, string];
  const [sidecarRepo, sidecarTag] = release.sidecar.split(/:(?=[^:]+$)/) as [string, string];
  return [
    verb,
    WEBHOOK_RELEASE,
    release.chart,
    '--namespace',
    WEBHOOK_NAMESPACE,
    ...(verb === 'install' ? ['--create-namespace'] : []),
    '--set',
    'tls.mode=generate',
    '--set',
    `image.repository=${webhookRepo}`,
    '--set',
    `image.tag=${webhookTag}`,
    '--set',
    'image.pullPolicy=Never',
    '--set',
    `sidecar.image.repository=${sidecarRepo}`,
    '--set',
    `sidecar.image.tag=${sidecarTag}`,
    '--set',
    'sidecar.image.pullPolicy=Never',
    '--wait',
    '--timeout',
    '180s',
    ...extra,
  ];
}

export interface KubeEvent {
  readonly reason: string;
  readonly message: string;
  readonly type: string;
  readonly kind: string;
  readonly name: string;
  /** Milliseconds since the epoch: eventTime, else lastTimestamp, else firstTimestamp. */
  readonly at: number;
  readonly count: number;
}

export interface Node {
  readonly dir: string;
  readonly kubeconfig: string;
  /** Never throws for a non-zero exit. */
  kubectl(args: readonly string[], input?: string, timeoutMs?: number): Promise<RunResult>;
  /** A non-zero exit throws with kubectl's own message. */
  kubectlOk(args: readonly string[], input?: string, timeoutMs?: number): Promise<string>;
  helm(args: readonly string[]): Promise<RunResult>;
  helmOk(args: readonly string[]): Promise<string>;
  /** `kubectl exec -i` into one container; stdin from `input`. */
  exec(
    namespace: string,
    pod: string,
    container: string,
    command: readonly string[],
    input?: string,
  ): Promise<RunResult>;
  /** A JSON object from `kubectl get -o json`, or undefined when it does not exist. */
  get(namespace: string, kind: string, name: string): Promise<any>;
  podIp(namespace: string, pod: string): Promise<string>;
  /** Waits until the pod's Ready condition is True; returns the pod. */
  waitForReady(namespace: string, pod: string, timeoutMs: number): Promise<any>;
  events(namespace: string, filter?: { name?: string; reason?: string }): Promise<KubeEvent[]>;
  createNamespace(name: string, labels?: Record<string, string>): Promise<void>;
  /** Deletes the namespace and waits until it is gone (its pods stopped by the kubelet). */
  deleteNamespace(name: string, timeoutMs?: number): Promise<void>;
  /**
   * hostPath PersistentVolumes for a StatefulSet's claims (no provisioner here), each pre-bound by
   * claimRef to `<claimName>-<statefulset>-<i>` in a fresh directory of mode 0777: hostPath
   * ignores fsGroup, and the servers run as uid 100. Reclaim policy Delete is refused for
   * hostPath without a provisioner, so they are Retain: call again for a fresh set.
   */
  provideVolumes(
    namespace: string,
    statefulset: string,
    claimName: string,
    replicas: number,
  ): Promise<void>;
  /** Scales the webhook's Deployment and waits until exactly that many replicas are ready. */
  scaleWebhook(replicas: number, timeoutMs?: number): Promise<void>;
}

export function node(): Node {
  const dir = process.env[DIR_ENV];
  if (!dir) {
    throw new Error(
      `${DIR_ENV} is unset: the real node starts in test/node/global-setup.ts (npx vitest run --project node)`,
    );
  }
  const kubeconfig = join(dir, 'pki', 'admin.kubeconfig');
  const env = { KUBECONFIG: kubeconfig };
  const helmEnv = {
    ...env,
    HELM_CACHE_HOME: join(dir, 'helm', 'cache'),
    HELM_CONFIG_HOME: join(dir, 'helm', 'config'),
    HELM_DATA_HOME: join(dir, 'helm', 'data'),
  };
  const kubectl = (
    args: readonly string[],
    input?: string,
    timeoutMs = 120_000,
  ): Promise<RunResult> => run('kubectl', args, { env, input, timeoutMs });
  const kubectlOk = (
    args: readonly string[],
    input?: string,
    timeoutMs = 120_000,
  ): Promise<string> => runOk('kubectl', args, { env, input, timeoutMs });
  const get = async (namespace: string, kind: string, name: string): Promise<any> => {
    const result = await kubectl(['get', kind, name, '-n', namespace, '-o', 'json']);
    if (result.code !== 0) {
      if (/NotFound/.test(result.stderr)) return undefined;
      throw new Error(`kubectl get ${kind} ${name}: ${result.stderr}`);
    }
    return JSON.parse(result.stdout);
  };
  const ready = (pod: any): boolean =>
    (pod?.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
  return {
    dir,
    kubeconfig,
    kubectl,
    kubectlOk,
    helm: (args) => run(HELM, args, { env: helmEnv, timeoutMs: 300_000 }),
    helmOk: (args) => runOk(HELM, args, { env: helmEnv, timeoutMs: 300_000 }),
    exec: (namespace, pod, container, command, input) =>
      kubectl(['exec', '-i', '-n', namespace, pod, '-c', container, '--', ...command], input),
    get,
    podIp: async (namespace, pod) =>
      waitUntil(`${namespace}/${pod} has an IP`, 60_000, async () => {
        const got = await get(namespace, 'pod', pod);
        return (got?.status?.podIP as string | undefined) || false;
      }),
    waitForReady: (namespace, pod, timeoutMs) =>
      waitUntil(`${namespace}/${pod} Ready`, timeoutMs, async () => {
        const got = await get(namespace, 'pod', pod);
        return ready(got) ? got : false;
      }),
    events: async (namespace, filter = {}) => {
      const selectors = [
        ...(filter.name ? [`involvedObject.name=${filter.name}`] : []),
        ...(filter.reason ? [`reason=${filter.reason}`] : []),
      ];
      const out = await kubectlOk([
        'get',
        'events',
        '-n',
        namespace,
        '-o',
        'json',
        ...(selectors.length > 0 ? ['--field-selector', selectors.join(',')] : []),
      ]);
      return (JSON.parse(out).items as any[])
        .map((e) => ({
          reason: String(e.reason ?? ''),
          message: String(e.message ?? ''),
          type: String(e.type ?? ''),
          kind: String(e.involvedObject?.kind ?? ''),
          name: String(e.involvedObject?.name ?? ''),
          at: Date.parse(e.eventTime ?? e.lastTimestamp ?? e.firstTimestamp ?? ''),
          count: Number(e.count ?? 1),
        }))
        .sort((a, b) => a.at - b.at);
    },
    createNamespace: async (name, labels = {}) => {
      await kubectlOk(['create', 'namespace', name]);
      if (Object.keys(labels).length > 0) {
        await kubectlOk([
          'label',
          'namespace',
          name,
          ...Object.entries(labels).map(([k, v]) => `${k}=${v}`),
        ]);
      }
      // Pods are refused until the namespace's default ServiceAccount exists.
      await waitUntil(
        `namespace ${name}'s ServiceAccount`,
        60_000,
        async () => (await kubectl(['get', 'serviceaccount', 'default', '-n', name])).code === 0,
      );
    },
    deleteNamespace: async (name, timeoutMs = 120_000) => {
      await kubectl(['delete', 'namespace', name, '--wait=false']);
      await waitUntil(`namespace ${name} deleted`, timeoutMs, async () => {
        const result = await kubectl(['get', 'namespace', name]);
        return result.code !== 0 && /NotFound/.test(result.stderr);
      });
    },
    provideVolumes: async (namespace, statefulset, claimName, replicas) => {
      const volumes: unknown[] = [];
      for (let i = 0; i < replicas; i++) {
        const claim = `${claimName}-${statefulset}-${i}`;
        const name = `${namespace}-${claim}`;
        const path = join(dir, 'volumes', name);
        await kubectl(['delete', 'pv', name, '--wait=true'], undefined, 60_000);
        await rm(path, { recursive: true, force: true });
        await mkdir(path, { recursive: true });
        await chmod(path, 0o777);
        volumes.push({
          apiVersion: 'v1',
          kind: 'PersistentVolume',
          metadata: { name },
          spec: {
            capacity: { storage: '10Gi' },
            accessModes: ['ReadWriteOnce'],
            persistentVolumeReclaimPolicy: 'Retain',
            storageClassName: '',
            claimRef: { namespace, name: claim },
            hostPath: { path, type: 'Directory' },
          },
        });
      }
      await kubectlOk(
        ['apply', '-f', '-'],
        JSON.stringify({ apiVersion: 'v1', kind: 'List', items: volumes }),
      );
    },
    scaleWebhook: async (replicas, timeoutMs = 180_000) => {
      await kubectlOk([
        'scale',
        'deployment',
        WEBHOOK_DEPLOYMENT,
        '-n',
        WEBHOOK_NAMESPACE,
        `--replicas=${replicas}`,
      ]);
      await waitUntil(`webhook Deployment at ${replicas} ready replicas`, timeoutMs, async () => {
        const pods = JSON.parse(
          await kubectlOk([
            'get',
            'pods',
            '-n',
            WEBHOOK_NAMESPACE,
            '-l',
            'app.kubernetes.io/name=vault-autounseal',
            '-o',
            'json',
          ]),
        ).items as any[];
        const live = pods.filter((p) => !p.metadata.deletionTimestamp);
        return pods.length === replicas && live.filter(ready).length === replicas;
      });
    },
  };
}

export { ROOT };
