#!/usr/bin/env node
// `node dist/bench/limits.js [cycles]` (root, cgroup v1): the sidecar bundle on the images' Node 24
// inside a cgroup with the injected container's limits (deploy/helm values: 200m CPU, 128Mi), beside
// a real OpenBao outside it. Prints time-to-unseal after SIGKILL restarts of the server, the
// sidecar's RSS after idling and the cgroup's peak memory. Numbers, not assertions
// (docs/footprint.md).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSecretVolume } from '../test/harness/key-volume.js';
import { startOpenBao } from '../test/harness/openbao.js';
import { freePort, sleep, waitFor } from '../test/harness/ports.js';
import { repoRoot } from '../test/harness/repo-root.js';
import { imageNodeOptions, runtimes } from './footprint.js';
import { observe } from './probe.js';
import { cpuSecondsPrecise, rssMb } from './process-stats.js';
import { summarise } from './stats.js';

const CPU_MILLI = 200;
const MEMORY_BYTES = 128 * 2 ** 20;
const cycles = Number(process.argv.find((arg) => /^\d+$/.test(arg)) ?? 6);
// `--entry=tsc`: the tsc output with node_modules, as the images ran it before the bundle.
// The image's Node options (Dockerfile.sidecar; `--no-image-options` leaves them out), then
// `--node-options=--a,--b`: more options to try.
const nodeOptions = [
  ...imageNodeOptions('sidecar'),
  ...(process.argv
    .find((arg) => arg.startsWith('--node-options='))
    ?.slice('--node-options='.length)
    .split(',')
    .filter(Boolean) ?? []),
];
// `--idle=SECONDS`: how long it idles after the restarts; idle CPU is counted over that window from
// the scheduler's nanoseconds (process-stats.ts), so 60 s resolves far below 0.5 s/hour.
const idleSeconds = Number(
  process.argv.find((arg) => arg.startsWith('--idle='))?.slice('--idle='.length) ?? 20,
);
const entry = process.argv.includes('--entry=tsc')
  ? join(repoRoot(), 'dist', 'sidecar', 'main.js')
  : join(repoRoot(), 'dist', 'bundle', 'sidecar.mjs');
const name = `vau-bench-limits-${process.pid}`;
const memDir = `/sys/fs/cgroup/memory/${name}`;
const cpuDir = `/sys/fs/cgroup/cpu/${name}`;

mkdirSync(memDir);
mkdirSync(cpuDir);
writeFileSync(join(memDir, 'memory.limit_in_bytes'), String(MEMORY_BYTES));
writeFileSync(join(cpuDir, 'cpu.cfs_period_us'), '100000');
writeFileSync(join(cpuDir, 'cpu.cfs_quota_us'), String(CPU_MILLI * 100));
const node24 = runtimes().find((r) => r.key === 'node24')!;
const server = await startOpenBao({ storage: 'persistent' });
const keysDir = mkdtempSync(join(tmpdir(), 'vau-bench-limits-'));
try {
  const init = await server.init(5, 3);
  writeSecretVolume(keysDir, { 'init.json': init.rawJson });
  const port = await freePort();
  // The shell puts itself in both cgroups, then becomes node: the sidecar starts limited.
  const sidecar = spawn(
    'sh',
    [
      '-c',
      `echo $$ > ${memDir}/cgroup.procs && echo $$ > ${cpuDir}/cgroup.procs && exec "$0" "$@"`,
      node24.node,
      ...nodeOptions,
      entry,
    ],
    {
      env: {
        PATH: process.env['PATH'] ?? '',
        VAULT_ADDR: server.addr,
        UNSEAL_KEYS_DIR: keysDir,
        UNSEAL_PODINFO_DIR: join(keysDir, 'no-podinfo'),
        UNSEAL_HTTP_ADDR: `127.0.0.1:${port}`,
        LOG_LEVEL: 'error',
      },
      stdio: 'ignore',
    },
  );
  const unsealed = async (): Promise<unknown> =>
    waitFor(
      'sidecar unsealed',
      async () => {
        const answer = await fetch(`http://127.0.0.1:${port}/status`).catch(() => undefined);
        const body = answer?.ok ? ((await answer.json()) as { state?: string }) : undefined;
        return body?.state === 'unsealed' ? true : undefined;
      },
      { timeoutMs: 60_000 },
    );
  await unsealed();
  const ttu: number[] = [];
  for (let i = 0; i < cycles; i++) {
    await sleep(500 + Math.random() * 2_500);
    await server.kill();
    const seen = observe(server.addr);
    await server.start();
    const { firstAnswer, unsealed: at } = await seen;
    ttu.push(at - firstAnswer);
    await unsealed();
  }
  const cpu0 = cpuSecondsPrecise(sidecar.pid ?? 0);
  // RSS every 5 s over the idle window: its highest, for a long idle (a soak) as well as the end.
  let rssMax = 0;
  for (let waited = 0; waited < idleSeconds; waited += 5) {
    await sleep(Math.min(5, idleSeconds - waited) * 1_000);
    rssMax = Math.max(rssMax, rssMb(sidecar.pid ?? 0));
  }
  const idleCpu = ((cpuSecondsPrecise(sidecar.pid ?? 0) - cpu0) * 3600) / idleSeconds;
  const rss = rssMb(sidecar.pid ?? 0);
  const peak = Number(readFileSync(join(memDir, 'memory.max_usage_in_bytes'), 'utf8')) / 2 ** 20;
  const throttled = /nr_throttled (\d+)/.exec(readFileSync(join(cpuDir, 'cpu.stat'), 'utf8'))?.[1];
  const t = summarise(ttu);
  console.log(
    `sidecar ${[...nodeOptions, entry.replace(`${repoRoot()}/`, '')].join(' ')} on ${node24.version} in a cgroup (cpu ${CPU_MILLI}m, memory 128Mi): ` +
      `time-to-unseal median ${t.median_ms} ms, max ${t.max_ms} ms (n=${t.n}); RSS after ${idleSeconds} s idle ` +
      `${Math.round(rss * 10) / 10} MiB (highest ${Math.round(rssMax * 10) / 10}, sampled every 5 s); idle CPU ${Math.round(idleCpu * 10) / 10} s/hour; cgroup peak ${Math.round(peak * 10) / 10} MiB ` +
      `(page cache included); throttled periods ${throttled}`,
  );
  // Wait for the exit: a cgroup with a process still in it cannot be removed.
  const exited = new Promise((resolve) => sidecar.once('exit', resolve));
  sidecar.kill('SIGTERM');
  await exited;
} finally {
  await server.destroy();
  rmSync(keysDir, { recursive: true, force: true });
  for (const dir of [memDir, cpuDir]) {
    try {
      rmdirSync(dir);
    } catch {
      // A process still in it: left for the reader to see.
    }
  }
}
