// Vault pods as the charts write them, for the end-to-end suite, and reading what the apiserver
// stored.
import type { ControlPlane } from './control-plane.js';
import type { RunResult } from './run.js';

export const SIDECAR = 'vault-autounseal';

export interface Container {
  name: string;
  image: string;
  restartPolicy?: string;
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string }[];
  securityContext?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string }[];
  [field: string]: unknown;
}

export interface Pod {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [field: string]: unknown;
  };
  spec: {
    containers: Container[];
    initContainers?: Container[];
    volumes?: Record<string, unknown>[];
    securityContext?: Record<string, unknown>;
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

/** Pod Security "restricted" for a container: what a compliant chart sets. */
export const RESTRICTED_CONTAINER = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  runAsNonRoot: true,
  seccompProfile: { type: 'RuntimeDefault' },
};

/**
 * The pod template of the official HashiCorp Vault chart's StatefulSet (vault-helm 0.29, HA with
 * raft, TLS from the `vault-ha-tls` Secret as in HashiCorp's "integrated storage and TLS" guide):
 * the fields that matter to the webhook. `restricted` adds what Pod Security "restricted" needs
 * (the chart's own defaults leave seccomp and capabilities out).
 */
export function vaultChartTemplate(options: { restricted?: boolean } = {}): {
  metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
  spec: Pod['spec'];
} {
  return {
    metadata: {
      labels: {
        'app.kubernetes.io/name': 'vault',
        'app.kubernetes.io/instance': 'vault',
        component: 'server',
        'vault-autounseal.io/inject': 'true',
      },
    },
    spec: {
      serviceAccountName: 'default',
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: 10,
      securityContext: {
        runAsNonRoot: true,
        runAsGroup: 1000,
        runAsUser: 100,
        fsGroup: 1000,
        ...(options.restricted ? { seccompProfile: { type: 'RuntimeDefault' } } : {}),
      },
      volumes: [
        { name: 'config', configMap: { name: 'vault-config' } },
        {
          name: 'userconfig-vault-ha-tls',
          secret: { secretName: 'vault-ha-tls', defaultMode: 420 },
        },
        { name: 'home', emptyDir: {} },
      ],
      containers: [
        {
          name: 'vault',
          image: 'hashicorp/vault:1.18.1',
          command: ['/bin/sh', '-ec'],
          args: ['vault server -config=/tmp/storageconfig.hcl'],
          env: [
            { name: 'VAULT_ADDR', value: 'https://127.0.0.1:8200' },
            { name: 'VAULT_CACERT', value: '/vault/userconfig/vault-ha-tls/vault.ca' },
            { name: 'VAULT_TLSCERT', value: '/vault/userconfig/vault-ha-tls/vault.crt' },
            { name: 'VAULT_TLSKEY', value: '/vault/userconfig/vault-ha-tls/vault.key' },
            { name: 'HOME', value: '/home/vault' },
          ],
          ports: [
            { name: 'https', containerPort: 8200 },
            { name: 'https-internal', containerPort: 8201 },
          ],
          volumeMounts: [
            { name: 'config', mountPath: '/vault/config' },
            { name: 'userconfig-vault-ha-tls', mountPath: '/vault/userconfig/vault-ha-tls' },
            { name: 'home', mountPath: '/home/vault' },
          ],
          securityContext: options.restricted
            ? RESTRICTED_CONTAINER
            : { allowPrivilegeEscalation: false },
        },
      ],
    },
  };
}

/** A Vault pod made from the chart's template. */
export function vaultPod(
  name: string,
  options: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    optInLabel?: boolean;
    restricted?: boolean;
  } = {},
): Pod {
  const template = vaultChartTemplate({ restricted: options.restricted ?? false });
  const labels = { ...template.metadata.labels, ...options.labels };
  if (options.optInLabel === false) delete labels['vault-autounseal.io/inject'];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      labels,
      ...(options.annotations ? { annotations: options.annotations } : {}),
    },
    spec: template.spec,
  };
}

/** Every container of the stored pod named like the sidecar, init containers included. */
export function sidecars(pod: Pod): Container[] {
  return [...(pod.spec.initContainers ?? []), ...pod.spec.containers].filter(
    (c) => c.name === SIDECAR,
  );
}

/** A namespace with the given labels and its `default` ServiceAccount (no controller makes it). */
export async function createNamespace(
  cp: ControlPlane,
  name: string,
  labels: Record<string, string> = {},
): Promise<void> {
  await cp.kubectlOk(
    ['apply', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } }),
  );
  await cp.kubectlOk(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'default', namespace: name },
    }),
  );
}

/** Creates the pod with `kubectl create`; returns kubectl's result (stderr carries denials). */
export async function createPod(cp: ControlPlane, namespace: string, pod: Pod): Promise<RunResult> {
  return await cp.kubectl(
    ['create', '-n', namespace, '-f', '-', '-o', 'json'],
    JSON.stringify(pod),
  );
}

export async function getPod(cp: ControlPlane, namespace: string, name: string): Promise<Pod> {
  return JSON.parse(await cp.kubectlOk(['get', 'pod', '-n', namespace, name, '-o', 'json'])) as Pod;
}
