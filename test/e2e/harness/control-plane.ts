// A real Kubernetes control plane on loopback for the end-to-end suite: etcd v3.6.4 and
// kube-apiserver v1.36.3 as built by scripts/e2e-tools.sh into the per-user cache, RBAC on,
// Pod Security and MutatingAdmissionWebhook on (the apiserver's defaults), a serving certificate
// from a test CA and a token kubeconfig for kubectl. There is no controller-manager, scheduler or
// kubelet: pods are admitted and stored, never run (test/e2e/harness/podman.ts runs one).
//
// stop() always ends both processes and deletes the directory (etcd's data, the token, the keys).
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMarker } from '../../harness/orphans.js';
import { freePorts, sleep } from '../../harness/ports.js';
import { createTestCa, type TestCa } from '../../harness/test-ca.js';
import { run, type RunResult } from './run.js';

export const ETCD_VERSION = 'v3.6.4';
export const KUBE_VERSION = 'v1.36.3';

/** Where scripts/e2e-tools.sh puts the binaries it builds (same rule as the script). */
export function cachedBinary(name: string, version: string): string {
  const base =
    process.env['VAULT_AUTOUNSEAL_CACHE'] ??
    join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'vault-autounseal');
  const path = join(base, `${name}-${version}`, name);
  if (!existsSync(path)) {
    throw new Error(
      `${path} is missing: run \`bash scripts/e2e-tools.sh\` (npm run test:e2e does)`,
    );
  }
  return path;
}

export interface ControlPlane {
  readonly server: string;
  readonly kubeconfig: string;
  /** The test CA: it signed the apiserver's serving certificate; tests issue the webhook's too. */
  readonly ca: TestCa;
  readonly dir: string;
  /** kubectl against this apiserver; never throws for a non-zero exit. */
  kubectl(args: readonly string[], input?: string): Promise<RunResult>;
  /** Like kubectl, but a non-zero exit throws with kubectl's own message. */
  kubectlOk(args: readonly string[], input?: string): Promise<string>;
  stop(): Promise<void>;
}

interface Proc {
  readonly child: ChildProcess;
  output: string;
}

function startProcess(file: string, args: readonly string[]): Proc {
  const child = spawn(file, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...runMarker() },
  });
  const proc: Proc = { child, output: '' };
  const keep = (chunk: Buffer): void => {
    // The last 64 kB only: enough to say why it failed.
    proc.output = (proc.output + chunk.toString()).slice(-65_536);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return proc;
}

async function stopProcess(proc: Proc | undefined): Promise<void> {
  if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.child.once('exit', () => resolve()));
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

async function waitReady(what: string, proc: Proc, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) {
      throw new Error(`${what} exited ${proc.child.exitCode}:\n${proc.output.slice(-4000)}`);
    }
    if (await probe()) return;
    await sleep(250);
  }
  throw new Error(`${what} not ready within 60 s:\n${proc.output.slice(-4000)}`);
}

export async function startControlPlane(): Promise<ControlPlane> {
  const etcdBin = cachedBinary('etcd', ETCD_VERSION);
  const apiserverBin = cachedBinary('kube-apiserver', KUBE_VERSION);
  const dir = await mkdtemp(join(tmpdir(), 'vau-e2e-cp-'));
  let etcd: Proc | undefined;
  let apiserver: Proc | undefined;
  const stop = async (): Promise<void> => {
    await stopProcess(apiserver);
    await stopProcess(etcd);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const [clientPort, peerPort, securePort] = (await freePorts(3)) as [number, number, number];
    etcd = startProcess(etcdBin, [
      '--name=e2e',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${clientPort}`,
      `--advertise-client-urls=http://127.0.0.1:${clientPort}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=e2e=http://127.0.0.1:${peerPort}`,
      '--log-level=warn',
    ]);
    await waitReady('etcd', etcd, async () => {
      try {
        return (await fetch(`http://127.0.0.1:${clientPort}/health`)).ok;
      } catch {
        return false;
      }
    });

    const ca = await createTestCa('vault-autounseal e2e CA');
    const serving = await ca.issue({
      commonName: 'kube-apiserver',
      dnsNames: ['localhost', 'kubernetes', 'kubernetes.default.svc'],
      ipAddresses: ['127.0.0.1'],
    });
    const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const token = randomBytes(24).toString('hex');
    await writeFile(join(dir, 'ca.crt'), ca.certPem);
    await writeFile(join(dir, 'apiserver.crt'), serving.certPem);
    await writeFile(join(dir, 'apiserver.key'), serving.keyPem, { mode: 0o600 });
    await writeFile(join(dir, 'sa.pub'), sa.publicKey.export({ type: 'spki', format: 'pem' }));
    await writeFile(join(dir, 'sa.key'), sa.privateKey.export({ type: 'pkcs8', format: 'pem' }), {
      mode: 0o600,
    });
    await writeFile(join(dir, 'tokens.csv'), `${token},admin,admin,system:masters\n`, {
      mode: 0o600,
    });
    apiserver = startProcess(apiserverBin, [
      `--etcd-servers=http://127.0.0.1:${clientPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${securePort}`,
      `--cert-dir=${join(dir, 'certs')}`,
      `--tls-cert-file=${join(dir, 'apiserver.crt')}`,
      `--tls-private-key-file=${join(dir, 'apiserver.key')}`,
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      '--authorization-mode=Node,RBAC',
      '--service-cluster-ip-range=10.96.0.0/16',
    ]);
    const server = `https://127.0.0.1:${securePort}`;
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '  - name: e2e',
        '    cluster:',
        `      server: ${server}`,
        `      certificate-authority: ${join(dir, 'ca.crt')}`,
        'users:',
        '  - name: admin',
        '    user:',
        `      token: ${token}`,
        'contexts:',
        '  - name: e2e',
        '    context: { cluster: e2e, user: admin }',
        'current-context: e2e',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const env = { KUBECONFIG: kubeconfig };
    const kubectl = (args: readonly string[], input?: string): Promise<RunResult> =>
      run('kubectl', args, { env, input });
    const kubectlOk = async (args: readonly string[], input?: string): Promise<string> => {
      const result = await kubectl(args, input);
      if (result.code !== 0) {
        throw new Error(`kubectl ${args.join(' ')} exited ${result.code}:\n${result.stderr}`);
      }
      return result.stdout;
    };
    const started = apiserver;
    await waitReady('kube-apiserver', started, async () => {
      const result = await kubectl(['get', '--raw', '/readyz']);
      return result.code === 0 && result.stdout.trim() === 'ok';
    });
    return { server, kubeconfig, ca, dir, kubectl, kubectlOk, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
