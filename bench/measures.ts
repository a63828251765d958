// The measures of `npm run bench`, each against real processes on loopback: OpenBao servers from
// the test harness, the built sidecar and the built webhook. Each returns raw numbers; main.ts
// summarises and reports them.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { writeSecretVolume } from '../test/harness/key-volume.js';
import { startOpenBao, startRaftCluster, type OpenBaoServer } from '../test/harness/openbao.js';
import { freePorts, sleep, waitFor } from '../test/harness/ports.js';
import { repoRoot } from '../test/harness/repo-root.js';
import { startSidecar, type SidecarProcess } from '../test/harness/sidecar-process.js';
import { createTestCa } from '../test/harness/test-ca.js';
import { imageNodeOptions, type Runtime } from './footprint.js';
import { call, observe } from './probe.js';
import { cpuSecondsPrecise, rssMb } from './process-stats.js';

export interface Settings {
  /** Restart cycles per single-node measure (raft: half, at least 2). */
  readonly cycles: number;
  readonly idleSeconds: number;
  readonly checksSeconds: number;
  readonly webhookSeconds: number;
  /** `tsc`: the webhook's tsc output with node_modules instead of the bundle the image runs. */
  readonly entry?: 'bundle' | 'tsc';
  readonly say: (line: string) => void;
}

/** A pause at a random moment, so no cycle lines up with any timer of the sidecar. */
const randomPause = (): Promise<void> => sleep(500 + Math.random() * 2_500);

function keysVolume(initJson: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'vau-bench-keys-'));
  writeSecretVolume(dir, { 'init.json': initJson });
  return dir;
}

/** The sidecar at its default settings, as the webhook injects it (no pause switch here). */
function defaultSidecar(addr: string, keysDir: string, extra: Record<string, string> = {}) {
  return startSidecar({
    VAULT_ADDR: addr,
    UNSEAL_KEYS_DIR: keysDir,
    UNSEAL_PODINFO_DIR: join(keysDir, 'no-podinfo'),
    LOG_LEVEL: 'warn',
    ...extra,
  });
}

async function sidecarSees(sidecar: SidecarProcess, state: string): Promise<void> {
  await waitFor(`sidecar state ${state}`, async () =>
    (await sidecar.status()).state === state ? true : undefined,
  );
}

/** SIGKILL and start again on the same storage; the observer measures from the API's first answer. */
async function restartObserved(server: OpenBaoServer, shares?: readonly string[]): Promise<number> {
  await server.kill();
  const seen = observe(server.addr, shares ? { shares } : {});
  await server.start();
  const { firstAnswer, unsealed } = await seen;
  return unsealed - firstAnswer;
}

/** Seals through the API; measures from the seal's answer to `sealed: false`. */
async function sealObserved(
  server: OpenBaoServer,
  token: string,
  shares?: readonly string[],
): Promise<number> {
  await server.seal(token);
  const sealedAt = performance.now();
  const { unsealed } = await observe(server.addr, shares ? { shares } : {});
  return unsealed - sealedAt;
}

export interface SingleNodeResult {
  readonly ttu: number[];
  readonly ttuFloor: number[];
  readonly apiSeal: number[];
  readonly apiSealFloor: number[];
  readonly serverVersion: string;
}

/** Measures 1 and 2: a single node restarted (SIGKILL) or sealed through the API. */
export async function singleNode(settings: Settings): Promise<SingleNodeResult> {
  const server = await startOpenBao({ storage: 'persistent' });
  const result: SingleNodeResult = {
    ttu: [],
    ttuFloor: [],
    apiSeal: [],
    apiSealFloor: [],
    serverVersion: '',
  };
  let sidecar: SidecarProcess | undefined;
  let keysDir: string | undefined;
  try {
    const init = await server.init(5, 3);
    const shares = init.keysHex.slice(0, 3);
    await server.unsealWith(shares);
    Object.assign(result, { serverVersion: String((await server.sealStatus()).version) });
    for (let i = 0; i < settings.cycles; i++) {
      await randomPause();
      result.ttuFloor.push(await restartObserved(server, shares));
      await randomPause();
      result.apiSealFloor.push(await sealObserved(server, init.rootToken, shares));
    }
    settings.say(`  floor: ${settings.cycles} restarts and API seals done`);
    keysDir = keysVolume(init.rawJson);
    sidecar = await defaultSidecar(server.addr, keysDir);
    await sidecarSees(sidecar, 'unsealed');
    for (let i = 0; i < settings.cycles; i++) {
      await randomPause();
      result.ttu.push(await restartObserved(server));
      await sidecarSees(sidecar, 'unsealed');
      await randomPause();
      result.apiSeal.push(await sealObserved(server, init.rootToken));
      await sidecarSees(sidecar, 'unsealed');
    }
    settings.say(`  sidecar: ${settings.cycles} restarts and API seals done`);
    return result;
  } finally {
    await sidecar?.stop();
    await server.destroy();
    if (keysDir) rmSync(keysDir, { recursive: true, force: true });
  }
}

/** Polls every node's health until one is active (200); returns when. */
async function firstActive(nodes: readonly OpenBaoServer[]): Promise<number> {
  for (;;) {
    const answers = await Promise.all(nodes.map((n) => call(n.addr, 'GET', 'sys/health')));
    if (answers.some((a) => a?.status === 200)) return performance.now();
    await sleep(5);
  }
}

/** All nodes SIGKILLed and started together: until every node is unsealed and one is active. */
async function coldStart(nodes: readonly OpenBaoServer[], shares?: readonly string[]) {
  await Promise.all(nodes.map((n) => n.kill()));
  const t0 = performance.now();
  const seen = nodes.map((n) => observe(n.addr, shares ? { shares } : {}));
  await Promise.all(nodes.map((n) => n.start()));
  const unsealed = await Promise.all(seen);
  const active = await firstActive(nodes);
  return Math.max(active, ...unsealed.map((o) => o.unsealed)) - t0;
}

/** Measure 3: a 3-node raft cluster, one sidecar per node, cold-started together. */
export async function raftColdStart(
  settings: Settings,
): Promise<{ ours: number[]; floor: number[] }> {
  const cycles = Math.max(2, Math.ceil(settings.cycles / 2));
  const cluster = await startRaftCluster(3);
  const sidecars: SidecarProcess[] = [];
  const dirs: string[] = [];
  const result = { ours: [] as number[], floor: [] as number[] };
  try {
    const leader = cluster.nodes[0]!;
    const init = await leader.init(5, 3);
    const shares = init.keysHex.slice(0, 3);
    await Promise.all(cluster.nodes.map((n) => observe(n.addr, { shares })));
    for (let i = 0; i < cycles; i++) {
      await randomPause();
      result.floor.push(await coldStart(cluster.nodes, shares));
    }
    settings.say(`  floor: ${cycles} cold starts done`);
    for (const node of cluster.nodes) {
      const dir = keysVolume(init.rawJson);
      dirs.push(dir);
      sidecars.push(await defaultSidecar(node.addr, dir));
    }
    for (let i = 0; i < cycles; i++) {
      await Promise.all(sidecars.map((s) => sidecarSees(s, 'unsealed')));
      await randomPause();
      result.ours.push(await coldStart(cluster.nodes));
    }
    settings.say(`  sidecars: ${cycles} cold starts done`);
    return result;
  } finally {
    await Promise.all(sidecars.map((s) => s.stop()));
    await cluster.destroy();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

export interface FootprintResult {
  readonly idleRssMb: number;
  readonly idleCpuSeconds: number;
  readonly idleSeconds: number;
  readonly checks: number;
  readonly checksCpuSeconds: number;
}

const checksOk = async (sidecar: SidecarProcess): Promise<number> => {
  const match = /^vault_autounseal_checks_total\{result="ok"\} (\S+)$/m.exec(
    await sidecar.metrics(),
  );
  return Number(match?.[1] ?? Number.NaN);
};

/** Measure 5 (sidecar part): idle CPU and RSS at default settings, and CPU per check. */
export async function sidecarFootprint(settings: Settings): Promise<FootprintResult> {
  const server = await startOpenBao({ storage: 'persistent' });
  const sidecars: SidecarProcess[] = [];
  let keysDir: string | undefined;
  try {
    const init = await server.init(5, 3);
    keysDir = keysVolume(init.rawJson);
    const idle = await defaultSidecar(server.addr, keysDir);
    sidecars.push(idle);
    await sidecarSees(idle, 'unsealed');
    await sleep(10_000); // past start-up and the first compilations
    const pid = idle.child.pid ?? 0;
    const cpu0 = cpuSecondsPrecise(pid);
    await sleep(settings.idleSeconds * 1_000);
    const idleCpuSeconds = cpuSecondsPrecise(pid) - cpu0;
    const idleRssMb = rssMb(pid);
    await idle.stop();
    settings.say(`  idle: ${settings.idleSeconds} s done`);

    // The same sidecar checking as often as it may (UNSEAL_INTERVAL at its 100 ms minimum).
    const busy = await defaultSidecar(server.addr, keysDir, { UNSEAL_INTERVAL: '100ms' });
    sidecars.push(busy);
    await sidecarSees(busy, 'unsealed');
    await sleep(5_000);
    const busyPid = busy.child.pid ?? 0;
    const [c0, n0] = [cpuSecondsPrecise(busyPid), await checksOk(busy)];
    await sleep(settings.checksSeconds * 1_000);
    const [c1, n1] = [cpuSecondsPrecise(busyPid), await checksOk(busy)];
    settings.say(`  checks: ${n1 - n0} done`);
    return {
      idleRssMb,
      idleCpuSeconds,
      idleSeconds: settings.idleSeconds,
      checks: n1 - n0,
      checksCpuSeconds: c1 - c0,
    };
  } finally {
    for (const s of sidecars) await s.stop();
    await server.destroy();
    if (keysDir) rmSync(keysDir, { recursive: true, force: true });
  }
}

export interface LoadResult {
  readonly connections: number;
  readonly rps: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly errors: number;
  readonly requests: number;
}

/**
 * Measure 4 and the webhook part of 5: `POST /mutate` over HTTPS at several concurrencies, on one
 * runtime (the test Node, or the images' Node 24), peak RSS sampled every 200 ms throughout.
 */
export async function webhookLoad(
  settings: Settings,
  runtime: Pick<Runtime, 'key' | 'node'>,
): Promise<{ runs: LoadResult[]; peakRssMb: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'vau-bench-webhook-'));
  const ca = await createTestCa('bench CA');
  const leaf = await ca.issue({
    commonName: 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
  });
  writeFileSync(join(dir, 'tls.crt'), leaf.certPem);
  writeFileSync(join(dir, 'tls.key'), leaf.keyPem);
  const [port, opsPort] = await freePorts(2);
  // The bundle, as the image runs it (or the tsc output, to compare).
  const entry =
    settings.entry === 'tsc'
      ? join(repoRoot(), 'dist', 'webhook', 'main.js')
      : join(repoRoot(), 'dist', 'bundle', 'webhook.mjs');
  // With the image's Node options (Dockerfile.webhook).
  const child = spawn(runtime.node, [...imageNodeOptions('webhook'), entry], {
    env: {
      PATH: process.env['PATH'] ?? '',
      WEBHOOK_HOST: '127.0.0.1',
      WEBHOOK_PORT: String(port),
      WEBHOOK_METRICS_PORT: String(opsPort),
      WEBHOOK_TLS_CERT_FILE: join(dir, 'tls.crt'),
      WEBHOOK_TLS_KEY_FILE: join(dir, 'tls.key'),
      WEBHOOK_NAMESPACE: 'vault-autounseal-system',
      SIDECAR_IMAGE: 'vault-autounseal-sidecar:bench',
      LOG_LEVEL: 'warn',
    },
    stdio: 'ignore',
  });
  let peakRssMb = 0;
  const sampler = setInterval(() => {
    if (child.pid) peakRssMb = Math.max(peakRssMb, rssMb(child.pid));
  }, 200);
  try {
    await waitFor('webhook ready', async () => {
      const answer = await fetch(`http://127.0.0.1:${opsPort}/readyz`).catch(() => undefined);
      return answer?.status === 200 ? true : undefined;
    });
    const body = readFileSync(
      join(repoRoot(), 'test', 'fixtures', 'webhook', 'vault-0.review.json'),
    );
    const runs: LoadResult[] = [];
    for (const connections of [1, 16, 64]) {
      const result = await autocannon({
        url: `https://127.0.0.1:${port}/mutate`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        connections,
        duration: settings.webhookSeconds,
      });
      runs.push({
        connections,
        rps: Math.round(result.requests.average),
        p50_ms: result.latency.p50,
        p99_ms: result.latency.p99,
        errors: result.errors + result.timeouts + result.non2xx,
        requests: result.requests.total,
      });
      settings.say(
        `  ${runtime.key} c${connections}: ${Math.round(result.requests.average)} req/s, p99 ${result.latency.p99} ms`,
      );
    }
    return { runs, peakRssMb };
  } finally {
    clearInterval(sampler);
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}
