// Measure 5, memory and idle CPU, as the images run them: the bundles (dist/bundle/*.mjs) on the
// test Node and on the images' Node 24, each beside a bare `node` started with it, so every figure
// is also a ratio to what Node itself costs on this machine at this moment. Also
// `node dist/bench/footprint.js --imports`: resident memory after importing each dependency alone
// (docs/footprint.md).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeSecretVolume } from '../test/harness/key-volume.js';
import { startOpenBao } from '../test/harness/openbao.js';
import { freePort, sleep, waitFor } from '../test/harness/ports.js';
import { repoRoot } from '../test/harness/repo-root.js';
import { cpuSecondsPrecise, rssMb } from './process-stats.js';

export interface Runtime {
  /** `node20`, `node24`: the key in the results. */
  readonly key: string;
  readonly node: string;
  readonly version: string;
}

/** The Node running the bench, and the images' Node 24 (scripts/node24.sh fetches it if missing). */
export function runtimes(): Runtime[] {
  const node24 = execFileSync('bash', [join(repoRoot(), 'scripts', 'node24.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }).trim();
  const version = (node: string): string =>
    execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  const own = { key: `node${process.versions.node.split('.')[0]}`, node: process.execPath };
  const list = [{ ...own, version: process.version }];
  if (own.key !== 'node24') list.push({ key: 'node24', node: node24, version: version(node24) });
  return list;
}

/**
 * The Node options of an image's entrypoint: the arguments between `node` and the bundle in
 * Dockerfile.<program>'s ENTRYPOINT, so the bench runs each bundle as its image does (the images
 * check, scripts/images/check.mjs, holds the built image to the same shape). `--no-image-options`
 * on the bench leaves them out, to measure what they change.
 */
export function imageNodeOptions(program: 'sidecar' | 'webhook'): string[] {
  if (process.argv.includes('--no-image-options')) return [];
  const text = readFileSync(join(repoRoot(), `Dockerfile.${program}`), 'utf8');
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(text)?.[1];
  if (!entrypoint) throw new Error(`Dockerfile.${program} has no exec-form ENTRYPOINT`);
  return (JSON.parse(entrypoint) as string[]).slice(1, -1);
}

/**
 * A module to load eagerly into the sidecar (`--plant=eager-module`): what a static import of
 * something that should be lazy does to the footprint. `--compare` must flag it (docs/footprint.md).
 */
export function plantedImport(): string[] {
  return [
    '--import',
    pathToFileURL(join(repoRoot(), 'node_modules', 'typescript', 'lib', 'typescript.js')).href,
  ];
}

export interface RuntimeFootprint {
  readonly node: string;
  readonly bare_rss_mb: number;
  readonly sidecar_idle_rss_mb: number;
  readonly sidecar_idle_rss_ratio: number;
  readonly sidecar_idle_cpu_s_per_hour: number;
  readonly webhook_idle_rss_mb: number;
  readonly webhook_idle_rss_ratio: number;
}

const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;

function spawnIdle(
  node: string,
  args: readonly string[],
  env: Record<string, string>,
): ChildProcess {
  return spawn(node, args, {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: 'ignore',
  });
}

/** RSS of each process, sampled every second over `seconds`; the median of each. */
async function medianRss(pids: readonly number[], seconds: number): Promise<number[]> {
  const samples: number[][] = pids.map(() => []);
  for (let i = 0; i < seconds; i++) {
    await sleep(1_000);
    pids.forEach((pid, j) => samples[j]!.push(rssMb(pid)));
  }
  return samples.map((s) => [...s].sort((a, b) => a - b)[Math.floor(s.length / 2)] ?? Number.NaN);
}

/**
 * For each runtime, at once: a bare `node` (an empty timer), the sidecar bundle beside a real
 * unsealed OpenBao, and the webhook bundle with no traffic. After a settling pause, idle CPU over
 * `idleSeconds` (scheduler nanoseconds) and RSS sampled every second over the last part of it.
 */
export async function runtimeFootprints(options: {
  readonly idleSeconds: number;
  readonly sidecarArgs?: readonly string[];
  /** `tsc`: dist/<program>/main.js with node_modules (the images before the bundle), for a before/after. */
  readonly entry?: 'bundle' | 'tsc';
  readonly say: (line: string) => void;
}): Promise<Record<string, RuntimeFootprint>> {
  const server = await startOpenBao({ storage: 'persistent' });
  const keysDir = mkdtempSync(join(tmpdir(), 'vau-bench-footprint-'));
  // A directory of their own, as a mounted Secret is: the webhook watches the directory its TLS
  // files are in, and in /tmp itself every other process's temporary files woke it (its idle CPU
  // read 60 s/hour and its RSS grew from 72 to 87 MiB in 30 s; alone in a directory, neither).
  const tlsDir = mkdtempSync(join(tmpdir(), 'vau-bench-footprint-tls-'));
  const children: ChildProcess[] = [];
  const out: Record<string, RuntimeFootprint> = {};
  try {
    const init = await server.init(5, 3);
    writeSecretVolume(keysDir, { 'init.json': init.rawJson });
    const tls = await webhookTls(tlsDir);
    const entry = (program: string): string =>
      options.entry === 'tsc'
        ? join(repoRoot(), 'dist', program, 'main.js')
        : join(repoRoot(), 'dist', 'bundle', `${program}.mjs`);
    for (const rt of runtimes()) {
      const bare = spawnIdle(rt.node, ['-e', 'setInterval(() => {}, 1 << 30)'], {});
      const port = await freePort();
      const sidecarArgs = [
        ...imageNodeOptions('sidecar'),
        ...(options.sidecarArgs ?? []),
        entry('sidecar'),
      ];
      const sidecar = spawnIdle(rt.node, sidecarArgs, {
        VAULT_ADDR: server.addr,
        UNSEAL_KEYS_DIR: keysDir,
        UNSEAL_PODINFO_DIR: join(keysDir, 'no-podinfo'),
        UNSEAL_HTTP_ADDR: `127.0.0.1:${port}`,
        LOG_LEVEL: 'error',
      });
      const [hook, hookOps] = await Promise.all([freePort(), freePort()]);
      const webhook = spawnIdle(rt.node, [...imageNodeOptions('webhook'), entry('webhook')], {
        WEBHOOK_HOST: '127.0.0.1',
        WEBHOOK_PORT: String(hook),
        WEBHOOK_METRICS_PORT: String(hookOps),
        WEBHOOK_TLS_CERT_FILE: tls.cert,
        WEBHOOK_TLS_KEY_FILE: tls.key,
        WEBHOOK_NAMESPACE: 'vault-autounseal-system',
        SIDECAR_IMAGE: 'vault-autounseal-sidecar:bench',
        LOG_LEVEL: 'error',
      });
      children.push(bare, sidecar, webhook);
      await waitFor(
        `${rt.key} sidecar unsealed`,
        async () => {
          const answer = await fetch(`http://127.0.0.1:${port}/status`).catch(() => undefined);
          const body = answer?.ok ? ((await answer.json()) as { state?: string }) : undefined;
          return body?.state === 'unsealed' ? true : undefined;
        },
        { timeoutMs: 60_000 },
      );
      await sleep(10_000); // past start-up and the first compilations
      const pids = [bare.pid ?? 0, sidecar.pid ?? 0, webhook.pid ?? 0];
      const cpu0 = cpuSecondsPrecise(sidecar.pid ?? 0);
      const settle = Math.max(0, options.idleSeconds - 10);
      await sleep(settle * 1_000);
      const [bareRss, sidecarRss, webhookRss] = await medianRss(pids, 10);
      const idleCpu = cpuSecondsPrecise(sidecar.pid ?? 0) - cpu0;
      const seconds = settle + 10;
      out[rt.key] = {
        node: rt.version,
        bare_rss_mb: round(bareRss!),
        sidecar_idle_rss_mb: round(sidecarRss!),
        sidecar_idle_rss_ratio: round(sidecarRss! / bareRss!, 2),
        sidecar_idle_cpu_s_per_hour: round((idleCpu * 3600) / seconds, 2),
        webhook_idle_rss_mb: round(webhookRss!),
        webhook_idle_rss_ratio: round(webhookRss! / bareRss!, 2),
      };
      options.say(
        `  ${rt.key}: bare ${round(bareRss!)} MiB, sidecar ${round(sidecarRss!)} MiB, webhook ${round(webhookRss!)} MiB`,
      );
      for (const child of [bare, sidecar, webhook]) child.kill('SIGTERM');
      await sleep(500);
    }
    return out;
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await server.destroy();
    rmSync(keysDir, { recursive: true, force: true });
    rmSync(tlsDir, { recursive: true, force: true });
  }
}

async function webhookTls(dir: string): Promise<{ cert: string; key: string }> {
  const { createTestCa } = await import('../test/harness/test-ca.js');
  const { writeFileSync } = await import('node:fs');
  const ca = await createTestCa('bench CA');
  const leaf = await ca.issue({
    commonName: 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
  });
  const cert = join(dir, 'tls.crt');
  const key = join(dir, 'tls.key');
  writeFileSync(cert, leaf.certPem);
  writeFileSync(key, leaf.keyPem);
  return { cert, key };
}

/** `--imports`: RSS and heap of a `node` that imports one dependency, per runtime. */
async function importsTable(): Promise<void> {
  const modules = ['', 'node-vault', 'fastify', 'prom-client', 'pino', 'chokidar'];
  const script = (m: string): string =>
    `${m ? `await import(${JSON.stringify(m)});` : ''} setTimeout(() => { const u = process.memoryUsage(); ` +
    `console.log(JSON.stringify({ rss: u.rss, heap: u.heapUsed })); }, 3000);`;
  console.log('| import | runtime | RSS MiB | ratio to bare | heap used MiB |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const rt of runtimes()) {
    let bare = Number.NaN;
    for (const m of modules) {
      const text = execFileSync(rt.node, ['--input-type=module', '-e', script(m)], {
        cwd: repoRoot(),
        encoding: 'utf8',
      });
      const { rss, heap } = JSON.parse(text) as { rss: number; heap: number };
      if (!m) bare = rss;
      console.log(
        `| ${m || '(bare node)'} | ${rt.version} | ${round(rss / 2 ** 20)} | ${round(rss / bare, 2)} | ${round(heap / 2 ** 20)} |`,
      );
    }
  }
}

if (process.argv[1]?.endsWith('footprint.js') && process.argv.includes('--imports')) {
  await importsTable();
}
