// Where the node's parts live: the per-user cache scripts/node-tools.sh and scripts/e2e-tools.sh
// fill, and the fixed names and addresses of the one cluster a machine runs at a time.
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The same rule as the scripts: $VAULT_AUTOUNSEAL_CACHE, else ~/.cache/vault-autounseal. */
export function cacheDir(): string {
  return (
    process.env['VAULT_AUTOUNSEAL_CACHE'] ??
    join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'vault-autounseal')
  );
}

export const KUBE_VERSION = 'v1.36.3';
export const ETCD_VERSION = 'v3.6.4';
export const COREDNS_VERSION = 'v1.15.0';

/** A binary built into the cache: $CACHE/<name>-<version>/<name>. */
export function cached(name: string, version: string): string {
  const path = join(cacheDir(), `${name}-${version}`, name);
  if (!existsSync(path)) {
    throw new Error(
      `${path} is missing: run \`bash scripts/e2e-tools.sh && bash scripts/node-tools.sh\` (npm run test:node does)`,
    );
  }
  return path;
}

/** Debian's containerd, unpacked (never installed) by scripts/node-tools.sh: its usr/bin. */
export function containerdBin(): string {
  const debian = join(cacheDir(), 'debian');
  const dir = existsSync(debian)
    ? readdirSync(debian).find((name) => name.startsWith('containerd-'))
    : undefined;
  const bin = dir ? join(debian, dir, 'root', 'usr', 'bin') : '';
  if (!dir || !existsSync(join(bin, 'containerd'))) {
    throw new Error(
      `Debian's containerd is missing from ${debian}: run bash scripts/node-tools.sh`,
    );
  }
  return bin;
}

/** The single cluster's fixed identity. Ports stay below the ephemeral range other suites draw from. */
export const NET = {
  nodeName: 'vau-node',
  bridge: 'vaunode0',
  /** The bridge's address: the pods' gateway, the node's IP, the kubelet's and CoreDNS's address. */
  gateway: '10.234.0.1',
  podSubnet: '10.234.0.0/24',
  /** What pods route through the bridge: the pod range and the Service range, nothing else. */
  podRoutes: ['10.234.0.0/16', '10.96.0.0/16'],
  serviceCidr: '10.96.0.0/16',
  /** The `kubernetes` Service's ClusterIP; DNATed to the apiserver (there is no kube-proxy). */
  kubernetesServiceIp: '10.96.0.1',
  natChain: 'VAU-NODE',
  etcdClientPort: 22379,
  etcdPeerPort: 22380,
  apiserverPort: 26443,
  kubeletPort: 20250,
  kubeletHealthzPort: 20248,
} as const;

/** The exclusive lock: one node per machine (fixed bridge, /var/lib/kubelet, /run/containerd). */
export const LOCK_FILE = '/tmp/vault-autounseal-node.lock';
