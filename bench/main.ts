#!/usr/bin/env node
// `npm run bench [-- --quick]`: time-to-unseal, raft cold start, the webhook under load and the
// sidecar's footprint, each against real processes on loopback, beside a scripted floor. Prints a
// table and writes bench/results/latest.json and latest.md. Numbers, not assertions: the machine
// is shared and noisy, so read the ratios of one run, and run it again before believing a change.
// `--compare [--baseline=FILE]` then compares the run with bench/baseline.json (bench/compare.ts)
// and exits 1 when a measure is more than 25% worse; `--save-baseline` makes the run the baseline.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { repoRoot } from '../test/harness/repo-root.js';
import {
  type LoadResult,
  raftColdStart,
  sidecarFootprint,
  singleNode,
  webhookLoad,
  type Settings,
} from './measures.js';
import { compare, MEASURES, renderComparison } from './compare.js';
import { plantedImport, runtimeFootprints, runtimes } from './footprint.js';
import {
  renderFootprint,
  renderMarkdown,
  type BenchResults,
  type WebhookRuntimeLoad,
} from './report.js';
import { summarise } from './stats.js';

const quick = process.argv.includes('--quick');
// `--only=footprint`: memory and idle CPU alone (a few minutes), compared on those measures only.
const onlyFootprint = process.argv.includes('--only=footprint');
// `--plant=eager-module`: the sidecar loads a large module at start, as a static import of something
// that should be lazy would; `--compare` must flag it (docs/footprint.md).
const planted = process.argv.includes('--plant=eager-module');
const sidecarNodeOptions =
  process.argv
    .find((arg) => arg.startsWith('--sidecar-node-options='))
    ?.slice('--sidecar-node-options='.length)
    .split(',')
    .filter(Boolean) ?? [];
const baselineFile =
  process.argv.find((arg) => arg.startsWith('--baseline='))?.slice('--baseline='.length) ??
  join(repoRoot(), 'bench', 'baseline.json');
const settings: Settings = {
  cycles: quick ? 4 : 20,
  idleSeconds: quick ? 20 : 60,
  checksSeconds: quick ? 10 : 30,
  webhookSeconds: quick ? 3 : 10,
  entry: process.argv.includes('--entry=tsc') ? 'tsc' : 'bundle',
  say: (line) => process.stderr.write(`${line}\n`),
};

async function main(): Promise<number> {
  // Read first, so a missing or unreadable baseline fails before minutes of measuring.
  const baseline = process.argv.includes('--compare')
    ? (JSON.parse(readFileSync(baselineFile, 'utf8')) as BenchResults)
    : undefined;
  const started = Date.now();
  settings.say(`bench: ${quick ? 'quick' : 'full'} run`);
  settings.say('5a. footprint: bare node, sidecar and webhook bundles, per runtime, idle together');
  const runtimesFootprint = await runtimeFootprints({
    idleSeconds: settings.idleSeconds,
    // `--sidecar-node-options=--a,--b`: Node options to try on the sidecar (docs/footprint.md).
    sidecarArgs: [...(planted ? plantedImport() : []), ...sidecarNodeOptions],
    entry: process.argv.includes('--entry=tsc') ? 'tsc' : 'bundle',
    say: settings.say,
  });
  if (onlyFootprint) {
    return finish(
      { machine: machine(started), footprint: runtimesFootprint } as BenchResults,
      baseline,
    );
  }
  settings.say('5b. sidecar footprint (tsc output, the test Node) and CPU per check');
  const footprint = await sidecarFootprint(settings);
  settings.say('1, 2. single node: SIGKILL restarts and API seals');
  const single = await singleNode(settings);
  settings.say('3. raft: 3 nodes cold-started together');
  const raft = await raftColdStart(settings);
  settings.say("4. webhook under load, per runtime (the image's Node options)");
  const byRuntime: Record<string, WebhookRuntimeLoad> = {};
  let webhook: Awaited<ReturnType<typeof webhookLoad>> | undefined;
  for (const rt of runtimes()) {
    const load = await webhookLoad(settings, rt);
    const run = (n: number): LoadResult => {
      const found = load.runs.find((r) => r.connections === n);
      if (!found) throw new Error(`no webhook run at concurrency ${n}`);
      return found;
    };
    byRuntime[rt.key] = {
      node: rt.version,
      c1: run(1),
      c16: run(16),
      c64: run(64),
      peak_rss_mb: round(load.peakRssMb),
    };
    if (rt.node === process.execPath) webhook = load;
  }
  if (!webhook) throw new Error("no webhook run on the bench's own Node");

  const ttu = summarise(single.ttu);
  const ttuFloor = summarise(single.ttuFloor);
  const c16 = webhook.runs.find((r) => r.connections === 16);
  const results: BenchResults = {
    machine: { ...machine(started), server: `OpenBao ${single.serverVersion}` },
    ttu: { ...ttu, floor_median_ms: ttuFloor.median_ms, floor_p95_ms: ttuFloor.p95_ms },
    api_seal: {
      ...summarise(single.apiSeal),
      floor_median_ms: summarise(single.apiSealFloor).median_ms,
    },
    raft_cold_start: {
      ...summarise(raft.ours),
      floor_median_ms: summarise(raft.floor).median_ms,
    },
    webhook: {
      ...Object.fromEntries(webhook.runs.map((r) => [`c${r.connections}`, r])),
      peak_rss_mb: round(webhook.peakRssMb),
    },
    webhook_by_runtime: byRuntime,
    sidecar: {
      idle_rss_mb: round(footprint.idleRssMb),
      idle_cpu_s_per_hour: round((footprint.idleCpuSeconds * 3600) / footprint.idleSeconds, 2),
      cpu_s_per_1000_checks: round((footprint.checksCpuSeconds * 1000) / footprint.checks, 3),
      checks_measured: footprint.checks,
    },
    footprint: runtimesFootprint,
  };
  if (!c16) throw new Error('no run at concurrency 16');
  return finish(results, baseline);
}

function machine(started: number): Record<string, string | number> {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memory_gib: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    date: new Date().toISOString(),
    profile: quick ? 'quick' : 'full',
    ...(onlyFootprint ? { only: 'footprint' } : {}),
    load_average_1m: Math.round(loadavg()[0]! * 10) / 10,
    wall_seconds: Math.round((Date.now() - started) / 1000),
    ...(planted ? { planted: 'eager-module' } : {}),
    ...(sidecarNodeOptions.length > 0
      ? { sidecar_node_options: sidecarNodeOptions.join(' ') }
      : {}),
    ...(process.argv.includes('--entry=tsc') ? { entry: 'tsc output and node_modules' } : {}),
  };
}

function finish(results: BenchResults, baseline: BenchResults | undefined): number {
  const dir = join(repoRoot(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  const markdown = onlyFootprint ? renderFootprint(results) : renderMarkdown(results);
  writeFileSync(join(dir, 'latest.md'), markdown);
  process.stdout.write(markdown);
  if (process.argv.includes('--save-baseline')) {
    writeFileSync(baselineFile, `${JSON.stringify(results, null, 2)}\n`);
    settings.say(`bench: saved as the baseline, ${baselineFile}`);
  }
  if (!baseline) return 0;
  const measures = onlyFootprint ? MEASURES.filter((m) => m.group === 'footprint') : MEASURES;
  const comparison = compare(baseline, results, undefined, measures);
  const label = relative(repoRoot(), baselineFile);
  process.stdout.write(`\n${renderComparison(comparison, baseline, label)}`);
  return comparison.ok ? 0 : 1;
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${(error as Error)?.message ?? String(error)}\n`);
    process.exit(1);
  },
);
