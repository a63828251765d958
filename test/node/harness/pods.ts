// Small pods for the harness's own tests: an OpenBao server of the official chart's shape (the
// chart-shaped image, uid 100, the data directory on an emptyDir), opted in as a test asks.
import { IMAGES } from './images.js';

/** The restricted Pod Security profile's container settings (what the examples set). */
export const RESTRICTED_CONTAINER = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  runAsNonRoot: true,
  seccompProfile: { type: 'RuntimeDefault' },
} as const;

// A one-node raft config written the way the chart's command does (sh -ec), then `vault server`.
const SERVER_SCRIPT = [
  'cat > /tmp/config.hcl <<EOF',
  'storage "raft" {',
  '  path = "/vault/data"',
  '}',
  'listener "tcp" {',
  '  address = "[::]:8200"',
  '  cluster_address = "[::]:8201"',
  '  tls_disable = true',
  '}',
  'disable_mlock = true',
  'api_addr = "http://127.0.0.1:8200"',
  'cluster_addr = "http://127.0.0.1:8201"',
  'EOF',
  'exec vault server -config=/tmp/config.hcl',
].join('\n');

export interface ServerPodOptions {
  readonly name: string;
  readonly namespace: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly image?: string;
}

export function serverPod(options: ServerPodOptions): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: options.name,
      namespace: options.namespace,
      labels: { 'app.kubernetes.io/name': 'vault', ...options.labels },
      annotations: options.annotations ?? {},
    },
    spec: {
      terminationGracePeriodSeconds: 5,
      // The official chart's pod security context.
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 100,
        runAsGroup: 1000,
        fsGroup: 1000,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      volumes: [{ name: 'data', emptyDir: {} }],
      containers: [
        {
          name: 'vault',
          image: options.image ?? IMAGES.openbao,
          imagePullPolicy: 'Never',
          command: ['/bin/sh', '-ec'],
          args: [SERVER_SCRIPT],
          env: [{ name: 'VAULT_ADDR', value: 'http://127.0.0.1:8200' }],
          ports: [{ containerPort: 8200, name: 'http' }],
          volumeMounts: [{ name: 'data', mountPath: '/vault/data' }],
          securityContext: RESTRICTED_CONTAINER,
        },
      ],
    },
  };
}

/** The injected sidecar, wherever the webhook put it (initContainers in native mode), or undefined. */
export function injectedSidecar(pod: {
  spec?: { initContainers?: any[]; containers?: any[] };
}): any {
  const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  return all.find((c: any) => c.name === 'vault-autounseal');
}

/** A StatefulSet of `serverPod`s (what a chart makes), for tests that need a controller. */
export function serverStatefulSet(
  options: ServerPodOptions & { replicas?: number },
): Record<string, unknown> {
  const pod = serverPod(options) as { metadata: any; spec: any };
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: options.name, namespace: options.namespace },
    spec: {
      serviceName: options.name,
      replicas: options.replicas ?? 1,
      podManagementPolicy: 'Parallel',
      selector: {
        matchLabels: {
          'app.kubernetes.io/name': 'vault',
          'app.kubernetes.io/instance': options.name,
        },
      },
      template: {
        metadata: {
          labels: { ...pod.metadata.labels, 'app.kubernetes.io/instance': options.name },
          annotations: pod.metadata.annotations,
        },
        spec: pod.spec,
      },
    },
  };
}
