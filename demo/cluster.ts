// The demo's "pods": per node, one OpenBao raft server and one real sidecar, all inside the demo's
// one temporary directory (workDir/node-N/{server.hcl,raft,home,unseal-keys,podinfo}), so that
// deleting that directory deletes every share, the root token and the raft data at once. Processes
// are spawned through the shutdown (shutdown.ts), which ends them on every exit path.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SIDECAR_MAIN } from '../test/harness/sidecar-process.js';
import { vaultRequest } from '../test/harness/vault-http.js';
import type { Shutdown } from './shutdown.js';
import { poll } from './wait.js';

export interface DemoNode {
  readonly index: number;
  readonly name: string;
  readonly dir: string;
  /** OpenBao's API address. */
  readonly addr: string;
  readonly configFile: string;
  readonly keysDir: string;
  readonly podinfoDir: string;
  /** The sidecar's /healthz, /readyz, /status, /metrics listener. */
  readonly sidecarAddr: string;
}

/** Writes each node's server configuration; ports come in triples (API, cluster, sidecar). */
export function layoutCluster(workDir: string, ports: readonly number[]): DemoNode[] {
  const size = Math.floor(ports.length / 3);
  const apiAddr = (i: number): string => `http://127.0.0.1:${ports[3 * i] ?? 0}`;
  const nodes: DemoNode[] = [];
  for (let i = 0; i < size; i++) {
    const dir = join(workDir, `node-${i}`);
    const configFile = join(dir, 'server.hcl');
    mkdirSync(join(dir, 'raft'), { recursive: true });
    mkdirSync(join(dir, 'home'), { recursive: true });
    const peers = Array.from({ length: size }, (_, j) => j)
      .filter((j) => j !== i)
      .map((j) => `  retry_join {\n    leader_api_addr = "${apiAddr(j)}"\n  }`);
    writeFileSync(
      configFile,
      // disable_mlock: Vault 1.20+ refuses to start on integrated storage unless it is set either
      // way, and `false` needs CAP_IPC_LOCK; OpenBao 2.x has no mlock and accepts only `true`.
      `ui = false
disable_mlock = true
api_addr = "${apiAddr(i)}"
cluster_addr = "https://127.0.0.1:${ports[3 * i + 1] ?? 0}"
listener "tcp" {
  address = "127.0.0.1:${ports[3 * i] ?? 0}"
  cluster_address = "127.0.0.1:${ports[3 * i + 1] ?? 0}"
  tls_disable = true
}
storage "raft" {
  path = "${join(dir, 'raft')}"
  node_id = "node-${i}"
  performance_multiplier = 1
${peers.join('\n')}
}
`,
    );
    nodes.push({
      index: i,
      name: `node-${i}`,
      dir,
      addr: apiAddr(i),
      configFile,
      keysDir: join(dir, 'unseal-keys'),
      podinfoDir: join(dir, 'podinfo'),
      sidecarAddr: `http://127.0.0.1:${ports[3 * i + 2] ?? 0}`,
    });
  }
  return nodes;
}

/** The demo's environment without the developer's Vault settings (the servers see only their own). */
function childEnv(extra: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(VAULT|BAO|UNSEAL)_|^LOG_LEVEL$|^NODE_OPTIONS$/.test(key)) env[key] = value;
  }
  return { ...env, ...extra };
}

/** Resolves when `child` exits, with how; used to fail a start that died. */
const exitOf = (child: ChildProcess): Promise<string> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null)
      resolve(child.signalCode ?? `exit code ${child.exitCode}`);
    else child.once('exit', (code, signal) => resolve(signal ?? `exit code ${code}`));
  });

/** Waits for `ready`, unless the child exits first; on any failure the child is killed. */
async function readyOrKilled(
  child: ChildProcess,
  what: string,
  ready: Promise<unknown>,
  output: () => string,
): Promise<ChildProcess> {
  const died = exitOf(child).then((how) => {
    throw new Error(`${what} exited during start (${how})`);
  });
  try {
    await Promise.race([ready, died]);
    return child;
  } catch (error) {
    child.kill('SIGKILL');
    const tail = output().trim().split('\n').slice(-5).join('\n    ');
    throw new Error(`${(error as Error).message}${tail ? `\n    ${tail}` : ''}`);
  } finally {
    died.catch(() => undefined);
    ready.catch(() => undefined);
  }
}

/** Keeps the last 16 KiB a child printed, for a failure message. */
function captureTail(child: ChildProcess, stream: 'stdout' | 'stderr'): () => string {
  let tail = '';
  child[stream]?.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-16_384);
  });
  return () => tail;
}

/** Starts node's OpenBao server; resolves once its API answers. */
export async function startServer(
  binary: string,
  node: DemoNode,
  shutdown: Shutdown,
): Promise<ChildProcess> {
  const child = shutdown.spawn(binary, ['server', `-config=${node.configFile}`], {
    env: childEnv({ HOME: join(node.dir, 'home') }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = captureTail(child, 'stdout');
  const err = captureTail(child, 'stderr');
  const answering = poll(
    `OpenBao on ${node.addr}`,
    async () =>
      (await vaultRequest(node.addr, 'GET', 'sys/seal-status', { timeoutMs: 2_000 })).status > 0
        ? true
        : undefined,
    { signal: shutdown.signal, timeoutMs: 60_000 },
  );
  return readyOrKilled(child, `${node.name}'s server`, answering, () => out() + err());
}

/** Starts node's sidecar (`node dist/sidecar/main.js`, as in a pod); resolves once /readyz is 200. */
export async function startSidecar(
  node: DemoNode,
  shutdown: Shutdown,
  onLogLine: (line: string) => void,
): Promise<ChildProcess> {
  const child = shutdown.spawn(process.execPath, [SIDECAR_MAIN], {
    env: childEnv({
      VAULT_ADDR: node.addr,
      UNSEAL_KEYS_DIR: node.keysDir,
      UNSEAL_PODINFO_DIR: node.podinfoDir,
      UNSEAL_HTTP_ADDR: node.sidecarAddr.replace('http://', ''),
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    lines.forEach(onLogLine);
  });
  const err = captureTail(child, 'stderr');
  const ready = poll(
    `${node.name}'s sidecar /readyz`,
    async () => {
      const response = await fetch(`${node.sidecarAddr}/readyz`, {
        signal: AbortSignal.timeout(2_000),
      });
      return response.status === 200 ? true : undefined;
    },
    { signal: shutdown.signal, timeoutMs: 20_000 },
  );
  return readyOrKilled(child, `${node.name}'s sidecar`, ready, err);
}

export interface InitAnswer {
  readonly keysBase64: readonly string[];
  readonly rootToken: string;
}

/**
 * `bao operator init -key-shares=5 -key-threshold=3 -format=json`, as an operator runs it. Its
 * stdout is the key material: it is parsed, never shown, not even in an error.
 */
export async function initWithCli(
  binary: string,
  node: DemoNode,
  shutdown: Shutdown,
): Promise<InitAnswer> {
  const child = shutdown.spawn(
    binary,
    ['operator', 'init', '-key-shares=5', '-key-threshold=3', '-format=json'],
    {
      env: childEnv({ HOME: join(node.dir, 'home'), BAO_ADDR: node.addr, VAULT_ADDR: node.addr }),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  const err = captureTail(child, 'stderr');
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const how = await exitOf(child);
  clearTimeout(timer);
  if (how !== 'exit code 0') throw new Error(`bao operator init failed (${how}): ${err().trim()}`);
  try {
    const body = JSON.parse(stdout) as { unseal_keys_b64: string[]; root_token: string };
    return { keysBase64: body.unseal_keys_b64, rootToken: body.root_token };
  } catch {
    throw new Error(
      'bao operator init printed something other than JSON (not shown: it may hold keys)',
    );
  }
}

export async function sealStatus(node: DemoNode): Promise<any> {
  const answer = await vaultRequest(node.addr, 'GET', 'sys/seal-status', { timeoutMs: 2_000 });
  if (answer.status !== 200) throw new Error(`seal-status answered ${answer.status}`);
  return answer.body;
}

export async function isActive(node: DemoNode): Promise<boolean> {
  const answer = await vaultRequest(node.addr, 'GET', 'sys/health', { timeoutMs: 2_000 }).catch(
    () => undefined,
  );
  return answer?.status === 200;
}
