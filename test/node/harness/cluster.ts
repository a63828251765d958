// A real single-node Kubernetes cluster on this machine, offline, from the binaries in the per-user
// cache: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kubelet v1.36.3, Debian's
// containerd 1.6 with the host's runc, the CNI bridge and host-local plugins, and CoreDNS as a host
// process. Needs root (a bridge, iptables, cgroups, mounts).
//
// - Network: the bridge vaunode0 (10.234.0.1/24) is the pods' gateway, the node's IP and the DNS
//   address. Pods get routes to the pod and Service ranges only (no default route, no masquerade),
//   and CoreDNS serves cluster.local and the reverse zones and forwards nothing. There is no
//   kube-proxy: one DNAT rule sends pods' 10.96.0.1:443 to the apiserver on loopback (Vault's
//   `service_registration "kubernetes"` hangs its whole API without it), and the apiserver calls
//   webhooks on their endpoints' pod IPs (--enable-aggregator-routing).
// - Everything lives in a scratch directory /tmp/vau-node-XXXXXX, except what kubelet 1.36 and
//   containerd 1.6 write at fixed paths (/var/lib/kubelet/device-plugins, /var/log/containers,
//   /var/log/pods, /run/containerd/s): down() removes those, unless they existed before up().
// - Processes are started detached, with pid files in the scratch directory: down() works from any
//   process, and a later run cleans what a killed run left (the lock file names its directory).
// - Kubelet settings that users meet stay at their defaults (sync period, Secret and ConfigMap
//   change detection, probes): the suite measures the Secret-volume and downward-API delays.
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run, runOk } from '../../e2e/harness/run.js';
import { sleep } from '../../harness/ports.js';
import { createTestCa } from '../../harness/test-ca.js';
import {
  hostDifferences,
  SCRATCH_PREFIX,
  snapshotHost,
  FIXED_PATHS,
  type HostState,
} from './host-state.js';
import { cachedArchives } from './images.js';
import { acquireLock, type NodeLock } from './lock.js';
import {
  cached,
  containerdBin,
  COREDNS_VERSION,
  ETCD_VERSION,
  KUBE_VERSION,
  NET,
} from './paths.js';

/** Components in start order; down() stops them in the reverse order, the kubelet first. */
const COMPONENTS = [
  'containerd',
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'coredns',
  'kubelet',
] as const;
type Component = (typeof COMPONENTS)[number];

/** iptables chains the kubelet makes even without kube-proxy (and re-makes each minute). */
const KUBELET_CHAINS: readonly (readonly [table: string, chain: string])[] = [
  ['filter', 'KUBE-FIREWALL'],
  ['filter', 'KUBE-KUBELET-CANARY'],
  ['nat', 'KUBE-KUBELET-CANARY'],
  ['mangle', 'KUBE-KUBELET-CANARY'],
  ['mangle', 'KUBE-IPTABLES-HINT'],
];

export interface Timings {
  [step: string]: number;
}

export interface Cluster {
  readonly dir: string;
  readonly kubeconfig: string;
  readonly server: string;
  /** The machine as it was before up(): what down() restores, and what the teardown test checks. */
  readonly before: HostState;
  /** Seconds from the start of up() at which each step was done. */
  readonly timings: Timings;
  readonly lock: NodeLock;
}

function log(line: string): void {
  process.stderr.write(`[node] ${line}\n`);
}

/** Wall-clock bounded: a slow probe never stretches the bound (each probe call is bounded too). */
export async function waitUntil<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | false | undefined | null>,
  explain?: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== false && value !== undefined && value !== null) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() >= deadline) {
      const why = last instanceof Error ? ` (last error: ${last.message.slice(0, 500)})` : '';
      throw new Error(
        `${what}: not within ${timeoutMs / 1000} s${why}${explain ? `\n${explain()}` : ''}`,
      );
    }
    await sleep(Math.min(250, Math.max(0, deadline - Date.now())));
  }
}

const pidFile = (dir: string, name: Component): string => join(dir, 'run', `${name}.pid`);
const logFile = (dir: string, name: Component): string => join(dir, 'logs', `${name}.log`);

function tail(path: string, bytes = 4000): string {
  try {
    return readFileSync(path, 'utf8').slice(-bytes);
  } catch {
    return '';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function recordedPid(dir: string, name: Component): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile(dir, name), 'utf8'));
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Detached, output to a log file: the component outlives a worker and is stopped by pid. */
function startComponent(
  dir: string,
  name: Component,
  file: string,
  args: readonly string[],
): number {
  const out = openSync(logFile(dir, name), 'a');
  const child = spawn(file, args, {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, PATH: `${containerdBin()}:${process.env['PATH'] ?? ''}` },
  });
  closeSync(out);
  child.unref();
  if (child.pid === undefined) throw new Error(`${name} did not start (${file})`);
  writeFileSync(pidFile(dir, name), String(child.pid));
  return child.pid;
}

async function waitComponent(
  dir: string,
  name: Component,
  timeoutMs: number,
  probe: () => Promise<boolean>,
): Promise<void> {
  const pid = recordedPid(dir, name);
  await waitUntil(
    `${name} ready`,
    timeoutMs,
    async () => {
      if (pid === undefined || !alive(pid)) throw new Error(`${name} exited`);
      return await probe();
    },
    () => `${name}'s log:\n${tail(logFile(dir, name))}`,
  );
}

async function stopPid(pid: number, graceMs: number): Promise<void> {
  if (!alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await sleep(100);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
  const hard = Date.now() + 5_000;
  while (alive(pid) && Date.now() < hard) await sleep(100);
}

async function httpOk(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2_000) })).ok;
  } catch {
    return false;
  }
}

function kubeconfigText(server: string, caPath: string, token: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '  - name: vau-node',
    '    cluster:',
    `      server: ${server}`,
    `      certificate-authority: ${caPath}`,
    'users:',
    '  - name: user',
    '    user:',
    `      token: ${token}`,
    'contexts:',
    '  - name: vau-node',
    '    context: { cluster: vau-node, user: user }',
    'current-context: vau-node',
    '',
  ].join('\n');
}

/** Certificates, tokens, kubeconfigs and every component's configuration, in the scratch directory. */
async function writeConfigs(dir: string): Promise<{ kubeconfig: string; server: string }> {
  for (const sub of [
    'pki',
    'run',
    'logs',
    'cni/net.d',
    'cni/ipam',
    'kubelet',
    'podlogs',
    'containerd',
  ]) {
    await mkdir(join(dir, sub), { recursive: true });
  }
  const pki = join(dir, 'pki');
  const ca = await createTestCa('vault-autounseal node CA');
  const serving = await ca.issue({
    commonName: 'kube-apiserver',
    dnsNames: [
      'localhost',
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local',
    ],
    ipAddresses: ['127.0.0.1', NET.kubernetesServiceIp],
  });
  // The apiserver's identity towards the kubelet (exec, logs, port-forward); RBAC binds it below.
  const kubeletClient = await ca.issue({
    commonName: 'kube-apiserver-kubelet-client',
    usage: 'client',
  });
  const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const files: Record<string, string> = {
    'ca.crt': ca.certPem,
    'apiserver.crt': serving.certPem,
    'apiserver.key': serving.keyPem,
    'kubelet-client.crt': kubeletClient.certPem,
    'kubelet-client.key': kubeletClient.keyPem,
    'sa.pub': sa.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    'sa.key': sa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
  for (const [name, text] of Object.entries(files)) {
    await writeFile(join(pki, name), text, { mode: 0o600 });
  }
  // One token per identity: the names and groups RBAC's bootstrap roles and the Node authorizer
  // expect. A token file keeps the PKI to one CA and two certificates.
  const identities: Record<string, string> = {
    admin: 'admin,admin,"system:masters"',
    'kube-controller-manager': 'system:kube-controller-manager,system:kube-controller-manager,',
    'kube-scheduler': 'system:kube-scheduler,system:kube-scheduler,',
    kubelet: `system:node:${NET.nodeName},system:node:${NET.nodeName},"system:nodes"`,
  };
  const server = `https://127.0.0.1:${NET.apiserverPort}`;
  const tokens: string[] = [];
  for (const [name, identity] of Object.entries(identities)) {
    const token = randomBytes(24).toString('hex');
    tokens.push(`${token},${identity}`);
    await writeFile(
      join(pki, `${name}.kubeconfig`),
      kubeconfigText(server, join(pki, 'ca.crt'), token),
      {
        mode: 0o600,
      },
    );
  }
  await writeFile(join(pki, 'tokens.csv'), tokens.join('\n') + '\n', { mode: 0o600 });

  // containerd 1.6, config v2. restrict_oom_score_adj: this VM lacks CAP_SYS_RESOURCE, and runc
  // fails every sandbox ("can't get final child's PID from pipe") when asked for -998.
  await writeFile(
    join(dir, 'containerd', 'config.toml'),
    `version = 2
root = "${dir}/containerd/root"
state = "${dir}/containerd/state"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "${dir}/run/containerd.sock"
[ttrpc]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/vault-autounseal-node/pause:1"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        SystemdCgroup = false
        Root = "${dir}/run/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${dir}/cni/net.d"
    max_conf_num = 1
`,
  );
  await writeFile(
    join(dir, 'cni', 'net.d', '10-vau-node.conflist'),
    JSON.stringify(
      {
        cniVersion: '0.4.0',
        name: 'vau-node',
        plugins: [
          {
            type: 'bridge',
            bridge: NET.bridge,
            isGateway: true,
            ipMasq: false,
            hairpinMode: true,
            ipam: {
              type: 'host-local',
              dataDir: join(dir, 'cni', 'ipam'),
              ranges: [[{ subnet: NET.podSubnet, gateway: NET.gateway }]],
              routes: NET.podRoutes.map((dst) => ({ dst })),
            },
          },
        ],
      },
      null,
      2,
    ),
  );
  // kubelet 1.36 on cgroup v1 needs failCgroupV1: false; containerd 1.6 lacks RuntimeConfig, so
  // the kubelet falls back to this cgroupDriver (PID 1 is not systemd). Everything users meet
  // (syncFrequency, configMapAndSecretChangeDetectionStrategy, probes) stays at its default.
  await writeFile(
    join(dir, 'kubelet', 'config.yaml'),
    `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://${dir}/run/containerd.sock
address: ${NET.gateway}
port: ${NET.kubeletPort}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: ${NET.kubeletHealthzPort}
podLogsDir: ${dir}/podlogs
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: ${pki}/ca.crt}
authorization: {mode: Webhook}
clusterDomain: cluster.local
clusterDNS: [${NET.gateway}]
resolvConf: ${dir}/kubelet/resolv.conf
failSwapOn: false
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
maxPods: 64
`,
  );
  // Pods get only cluster DNS; the host's resolvers never reach a pod.
  await writeFile(join(dir, 'kubelet', 'resolv.conf'), 'nameserver 127.0.0.1\n');
  await writeFile(
    join(dir, 'Corefile'),
    `.:53 {
    bind ${NET.gateway}
    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig ${pki}/admin.kubeconfig vau-node
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 5
}
`,
  );
  return { kubeconfig: join(pki, 'admin.kubeconfig'), server };
}

async function ip(args: readonly string[]): Promise<void> {
  await runOk('ip', args);
}

async function setUpNetwork(): Promise<void> {
  await ip(['link', 'add', NET.bridge, 'type', 'bridge']);
  await ip(['addr', 'add', `${NET.gateway}/24`, 'dev', NET.bridge]);
  await ip(['link', 'set', NET.bridge, 'up']);
  // The DNAT below sends bridge traffic to 127.0.0.1, which the kernel drops as martian unless
  // route_localnet is on (for this bridge only).
  await runOk('sysctl', ['-qw', `net.ipv4.conf.${NET.bridge}.route_localnet=1`]);
  await runOk('iptables', ['-t', 'nat', '-N', NET.natChain]);
  await runOk('iptables', [
    '-t',
    'nat',
    '-A',
    NET.natChain,
    '-i',
    NET.bridge,
    '-d',
    `${NET.kubernetesServiceIp}/32`,
    '-p',
    'tcp',
    '--dport',
    '443',
    '-j',
    'DNAT',
    '--to-destination',
    `127.0.0.1:${NET.apiserverPort}`,
  ]);
  await runOk('iptables', ['-t', 'nat', '-I', 'PREROUTING', '1', '-j', NET.natChain]);
}

export function ctr(
  dir: string,
  args: readonly string[],
): Promise<{ stdout: string; stderr: string; code: number }> {
  return run(
    join(containerdBin(), 'ctr'),
    ['--address', join(dir, 'run', 'containerd.sock'), '-n', 'k8s.io', ...args],
    {
      timeoutMs: 300_000,
    },
  );
}

async function importImages(dir: string, projectImages: readonly string[]): Promise<void> {
  const archives = [...cachedArchives()];
  for (const archive of archives) {
    if (!existsSync(archive))
      throw new Error(`${archive} is missing: run bash scripts/node-tools.sh`);
  }
  // The project's images change with every build: saved from podman each run.
  await mkdir(join(dir, 'images'), { recursive: true });
  for (const [index, image] of projectImages.entries()) {
    const archive = join(dir, 'images', `project-${index}.tar`);
    const saved = await run('podman', ['save', '--format', 'oci-archive', '-o', archive, image], {
      timeoutMs: 300_000,
    });
    if (saved.code !== 0) {
      throw new Error(`podman save ${image} failed (scripts/images.sh builds it): ${saved.stderr}`);
    }
    archives.push(archive);
  }
  for (const archive of archives) {
    const imported = await ctr(dir, ['images', 'import', archive]);
    if (imported.code !== 0) throw new Error(`ctr images import ${archive}: ${imported.stderr}`);
  }
  await rm(join(dir, 'images'), { recursive: true, force: true });
}

function kubectlEnv(kubeconfig: string): { env: Record<string, string> } {
  return { env: { KUBECONFIG: kubeconfig } };
}

async function startControlPlane(dir: string, kubeconfig: string): Promise<void> {
  const pki = join(dir, 'pki');
  startComponent(dir, 'etcd', cached('etcd', ETCD_VERSION), [
    '--name=vau-node',
    `--data-dir=${join(dir, 'etcd')}`,
    `--listen-client-urls=http://127.0.0.1:${NET.etcdClientPort}`,
    `--advertise-client-urls=http://127.0.0.1:${NET.etcdClientPort}`,
    `--listen-peer-urls=http://127.0.0.1:${NET.etcdPeerPort}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${NET.etcdPeerPort}`,
    `--initial-cluster=vau-node=http://127.0.0.1:${NET.etcdPeerPort}`,
    '--log-level=warn',
  ]);
  await waitComponent(dir, 'etcd', 60_000, () =>
    httpOk(`http://127.0.0.1:${NET.etcdClientPort}/health`),
  );
  startComponent(dir, 'kube-apiserver', cached('kube-apiserver', KUBE_VERSION), [
    `--etcd-servers=http://127.0.0.1:${NET.etcdClientPort}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${NET.apiserverPort}`,
    `--cert-dir=${join(dir, 'apiserver-certs')}`,
    `--tls-cert-file=${pki}/apiserver.crt`,
    `--tls-private-key-file=${pki}/apiserver.key`,
    `--client-ca-file=${pki}/ca.crt`,
    `--token-auth-file=${pki}/tokens.csv`,
    '--service-account-issuer=https://kubernetes.default.svc',
    `--service-account-key-file=${pki}/sa.pub`,
    `--service-account-signing-key-file=${pki}/sa.key`,
    '--authorization-mode=Node,RBAC',
    `--service-cluster-ip-range=${NET.serviceCidr}`,
    '--allow-privileged=true',
    `--kubelet-client-certificate=${pki}/kubelet-client.crt`,
    `--kubelet-client-key=${pki}/kubelet-client.key`,
    '--kubelet-preferred-address-types=InternalIP',
    // No kube-proxy: the apiserver (a host process) calls webhooks on their pod IPs.
    '--enable-aggregator-routing=true',
  ]);
  await waitComponent(dir, 'kube-apiserver', 120_000, async () => {
    const ready = await run('kubectl', ['get', '--raw', '/readyz'], {
      ...kubectlEnv(kubeconfig),
      timeoutMs: 10_000,
    });
    return ready.code === 0 && ready.stdout.trim() === 'ok';
  });
  // What kubeadm does too: the apiserver's kubelet-client identity may use the kubelet's API.
  await runOk(
    'kubectl',
    [
      'create',
      'clusterrolebinding',
      'vau-node:apiserver-kubelet-client',
      '--clusterrole=system:kubelet-api-admin',
      '--user=kube-apiserver-kubelet-client',
    ],
    kubectlEnv(kubeconfig),
  );
  startComponent(dir, 'kube-controller-manager', cached('kube-controller-manager', KUBE_VERSION), [
    `--kubeconfig=${pki}/kube-controller-manager.kubeconfig`,
    '--bind-address=127.0.0.1',
    '--secure-port=0',
    '--leader-elect=false',
    '--use-service-account-credentials=true',
    `--service-account-private-key-file=${pki}/sa.key`,
    `--root-ca-file=${pki}/ca.crt`,
    `--service-cluster-ip-range=${NET.serviceCidr}`,
    '--allocate-node-cidrs=false',
    '--controllers=*,-cloud-node-lifecycle',
  ]);
  startComponent(dir, 'kube-scheduler', cached('kube-scheduler', KUBE_VERSION), [
    `--kubeconfig=${pki}/kube-scheduler.kubeconfig`,
    '--bind-address=127.0.0.1',
    '--secure-port=0',
    '--leader-elect=false',
  ]);
}

async function kubectlOk(kubeconfig: string, args: readonly string[]): Promise<string> {
  return runOk('kubectl', args, { ...kubectlEnv(kubeconfig), timeoutMs: 30_000 });
}

/**
 * Starts the cluster. Takes the machine-wide lock first (waiting for another run at most
 * lockTimeoutMs), cleans what a killed run left, then snapshots the machine for down().
 */
export async function up(options: {
  projectImages: readonly string[];
  lockTimeoutMs?: number;
}): Promise<Cluster> {
  const started = Date.now();
  const timings: Timings = {};
  const mark = (step: string): void => {
    const at = (Date.now() - started) / 1000;
    timings[step] = at;
    log(`${step}: ${at.toFixed(1)} s`);
  };
  const lock = await acquireLock(options.lockTimeoutMs ?? 30 * 60_000);
  mark('lock');
  try {
    await cleanLeftovers(lock.previous);
    mark('leftovers cleaned');
    const before = await snapshotHost();
    const dir = await mkdtemp(join('/tmp', SCRATCH_PREFIX));
    lock.record(dir);
    await writeFile(join(dir, 'host-before.json'), JSON.stringify(before));
    try {
      const { kubeconfig, server } = await writeConfigs(dir);
      mark('configs');
      await setUpNetwork();
      mark('bridge and DNAT');
      startComponent(dir, 'containerd', join(containerdBin(), 'containerd'), [
        '--config',
        join(dir, 'containerd', 'config.toml'),
      ]);
      await waitComponent(
        dir,
        'containerd',
        60_000,
        async () => (await ctr(dir, ['version'])).code === 0,
      );
      mark('containerd');
      // The images go in while the control plane starts: both only have to be done before the kubelet.
      const imported = importImages(dir, options.projectImages).then(() => mark('images imported'));
      imported.catch(() => undefined);
      await startControlPlane(dir, kubeconfig);
      mark('control plane');
      await imported;
      startComponent(dir, 'coredns', cached('coredns', COREDNS_VERSION), [
        '-conf',
        join(dir, 'Corefile'),
      ]);
      await waitComponent(dir, 'coredns', 60_000, async () => {
        const listening = await run('ss', ['-Hlun', 'src', `${NET.gateway}:53`]);
        return listening.stdout.trim() !== '';
      });
      mark('coredns');
      startComponent(dir, 'kubelet', cached('kubelet', KUBE_VERSION), [
        `--config=${join(dir, 'kubelet', 'config.yaml')}`,
        `--kubeconfig=${join(dir, 'pki', 'kubelet.kubeconfig')}`,
        `--root-dir=${join(dir, 'kubelet', 'root')}`,
        `--cert-dir=${join(dir, 'kubelet', 'pki')}`,
        `--hostname-override=${NET.nodeName}`,
        `--node-ip=${NET.gateway}`,
        '--v=1',
      ]);
      await waitComponent(dir, 'kubelet', 120_000, () =>
        httpOk(`http://127.0.0.1:${NET.kubeletHealthzPort}/healthz`),
      );
      await waitComponent(dir, 'kubelet', 120_000, async () => {
        const status = await run(
          'kubectl',
          [
            'get',
            'node',
            NET.nodeName,
            '-o',
            'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
          ],
          kubectlEnv(kubeconfig),
        );
        return status.stdout.trim() === 'True';
      });
      mark('node Ready');
      // Pods are refused until the namespace's default ServiceAccount exists.
      await waitUntil('the default ServiceAccount', 120_000, async () => {
        await kubectlOk(kubeconfig, ['get', 'serviceaccount', 'default', '-n', 'default']);
        return true;
      });
      mark('cluster up');
      return { dir, kubeconfig, server, before, timings, lock };
    } catch (error) {
      log(`up failed, tearing down: ${error instanceof Error ? error.message : String(error)}`);
      await down(dir, before);
      throw error;
    }
  } catch (error) {
    await lock.release();
    throw error;
  }
}

/** A previous run's scratch directory (from the lock file), torn down with its own snapshot. */
async function cleanLeftovers(previous: string): Promise<void> {
  const dir = previous.split(' ')[0] ?? '';
  if (dir.startsWith(`/tmp/${SCRATCH_PREFIX}`) && existsSync(dir)) {
    log(`cleaning what a previous run left in ${dir}`);
    let before: HostState | undefined;
    try {
      before = JSON.parse(readFileSync(join(dir, 'host-before.json'), 'utf8')) as HostState;
    } catch {
      before = undefined;
    }
    await down(dir, before);
  }
}

async function drainPods(dir: string, kubeconfig: string): Promise<void> {
  const env = { ...kubectlEnv(kubeconfig), timeoutMs: 60_000 };
  // Controllers first, so nothing is recreated; then every pod, which the kubelet stops through
  // the CNI (releasing IPs and veths) and containerd.
  await run(
    'kubectl',
    [
      'delete',
      'mutatingwebhookconfigurations,validatingwebhookconfigurations',
      '--all',
      '--wait=false',
    ],
    env,
  );
  await run(
    'kubectl',
    [
      'delete',
      'statefulsets,deployments,replicasets,daemonsets,jobs',
      '--all',
      '-A',
      '--wait=false',
    ],
    env,
  );
  await run(
    'kubectl',
    ['delete', 'pods', '--all', '-A', '--grace-period=0', '--force', '--wait=false'],
    env,
  );
  try {
    await waitUntil('pods gone from containerd', 90_000, async () => {
      const tasks = await ctr(dir, ['tasks', 'ls', '-q']);
      return tasks.code === 0 && tasks.stdout.trim() === '';
    });
  } catch (error) {
    log(
      `${error instanceof Error ? error.message : String(error)}; stopping what is left by force`,
    );
  }
}

/** What the kubelet did not stop (it is gone by now): killed through containerd. */
async function killTasks(dir: string): Promise<void> {
  const tasks = (await ctr(dir, ['tasks', 'ls', '-q'])).stdout.split('\n').filter(Boolean);
  for (const task of tasks) await ctr(dir, ['tasks', 'kill', '-s', 'KILL', task]);
}

async function quietly(file: string, args: readonly string[]): Promise<void> {
  await run(file, args);
}

async function removeChains(before: HostState | undefined): Promise<void> {
  await quietly('iptables', ['-t', 'nat', '-D', 'PREROUTING', '-j', NET.natChain]);
  await quietly('iptables', ['-t', 'nat', '-F', NET.natChain]);
  await quietly('iptables', ['-t', 'nat', '-X', NET.natChain]);
  for (const [tool, lines] of [
    ['iptables', before?.iptables],
    ['ip6tables', before?.ip6tables],
  ] as const) {
    // The kubelet's chains, unless the machine had them before (another kubelet's).
    if (lines?.some((line) => line.includes('KUBE-'))) continue;
    await quietly(tool, ['-D', 'INPUT', '-j', 'KUBE-FIREWALL']);
    await quietly(tool, ['-D', 'OUTPUT', '-j', 'KUBE-FIREWALL']);
    for (const [table, chain] of KUBELET_CHAINS) {
      await quietly(tool, ['-t', table, '-F', chain]);
      await quietly(tool, ['-t', table, '-X', chain]);
    }
  }
}

function processesOf(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      const cgroup = readFileSync(`/proc/${entry}/cgroup`, 'utf8');
      // containerd's shims (named by their socket under dir) and what the pods ran (kubepods).
      if (cmdline.includes(dir) || cgroup.includes('/kubepods')) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

async function removeCgroups(): Promise<void> {
  for (const controller of existsSync('/sys/fs/cgroup') ? readdirSync('/sys/fs/cgroup') : []) {
    const root = join('/sys/fs/cgroup', controller, 'kubepods');
    if (!existsSync(root)) continue;
    // Depth first: a cgroup directory goes only once it has no children (rmdir, not rm -r).
    await quietly('find', [root, '-depth', '-type', 'd', '-exec', 'rmdir', '{}', ';']);
  }
}

/**
 * Stops everything up() started and removes what it made, in this order: the pods (through the
 * kubelet, so the CNI releases their addresses and veths), the kubelet, containerd's remaining
 * tasks, the control plane, containerd, leftover shims and container processes, mounts under the
 * scratch directory, the iptables chains, the veths and the bridge, the kubepods cgroups, the fixed
 * paths, and the scratch directory. Idempotent; never throws. Returns what it took, in seconds.
 */
export async function down(dir: string, before: HostState | undefined): Promise<number> {
  const started = Date.now();
  const kubeconfig = join(dir, 'pki', 'admin.kubeconfig');
  const running = (name: Component): boolean => {
    const pid = recordedPid(dir, name);
    return pid !== undefined && alive(pid);
  };
  try {
    if (running('kube-apiserver') && running('kubelet') && running('containerd')) {
      await drainPods(dir, kubeconfig);
    }
    for (const name of [...COMPONENTS].reverse()) {
      if (name === 'containerd' && running('containerd')) await killTasks(dir);
      const pid = recordedPid(dir, name);
      if (pid !== undefined) await stopPid(pid, 15_000);
    }
    for (const pid of processesOf(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await waitUntil(
      'leftover processes gone',
      15_000,
      async () => processesOf(dir).length === 0,
    ).catch((error: Error) => log(error.message));
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[1] ?? '')
      .filter((target) =>
        [dir, '/run/containerd', '/var/lib/kubelet'].some((root) => target.startsWith(`${root}/`)),
      )
      .sort()
      .reverse();
    for (const target of mounts) {
      if ((await run('umount', [target])).code !== 0) await quietly('umount', ['-l', target]);
    }
    await removeChains(before);
    const links = await run('ip', ['-o', 'link', 'show', 'master', NET.bridge]);
    for (const line of links.stdout.split('\n')) {
      const name = /^\d+: ([^:@]+)/.exec(line)?.[1];
      if (name) await quietly('ip', ['link', 'del', name]);
    }
    await quietly('ip', ['link', 'del', NET.bridge]);
    if (!before?.cgroups.length) await removeCgroups();
    for (const path of FIXED_PATHS) {
      if (!before?.paths.includes(path)) rmSync(path, { recursive: true, force: true });
    }
    rmSync(dir, { recursive: true, force: true });
  } catch (error) {
    log(`down: ${error instanceof Error ? error.stack : String(error)}`);
  }
  const seconds = (Date.now() - started) / 1000;
  log(`down: ${seconds.toFixed(1)} s`);
  return seconds;
}

/** Resident memory of each component and in total, in MiB (for the log: what the node costs). */
export function componentMemory(dir: string): Record<string, number> {
  const rss: Record<string, number> = {};
  let total = 0;
  for (const name of COMPONENTS) {
    const pid = recordedPid(dir, name);
    let kb = 0;
    try {
      kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // not running
    }
    rss[name] = Math.round(kb / 1024);
    total += kb;
  }
  rss['total'] = Math.round(total / 1024);
  return rss;
}

/** After down(): how the machine differs from before up() (empty when teardown was complete). */
export async function leftBehind(before: HostState): Promise<string[]> {
  return hostDifferences(before, await snapshotHost());
}
