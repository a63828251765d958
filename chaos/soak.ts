// `npm run chaos -- --soak 10m`: one real sidecar keeping one real OpenBao server unsealed while
// the server flaps every few seconds (soak-flaps.ts). The sidecar's footprint is sampled once a
// second into chaos/results/soak-<time>.csv; at the end each series is judged for growth after
// warm-up (soak-growth.ts), and scripts/plot-soak.py draws the PNG beside the CSV. Exit status 1
// when a series grew, an unseal failed or was never seen, or the sidecar exited.
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { writeSecretVolume } from '../test/harness/key-volume.js';
import { startOpenBao, type OpenBaoServer } from '../test/harness/openbao.js';
import { sleep } from '../test/harness/ports.js';
import { repoRoot } from '../test/harness/repo-root.js';
import { startSidecar, type SidecarProcess } from '../test/harness/sidecar-process.js';
import { flap, newTally, unsealCount, type FlapTally } from './soak-flaps.js';
import {
  CSV_HEADER,
  analyseGrowth,
  csvRow,
  growthTable,
  type GrowthAnalysis,
  type SoakSample,
} from './soak-growth.js';
import {
  SIGUSR2,
  catchesSignal,
  collectGarbage,
  gcHookNodeOptions,
  sampleFootprint,
} from './soak-sample.js';

export interface SoakOptions {
  readonly durationMs: number;
  readonly say: (line: string) => void;
}

/**
 * The sidecar's settings for the soak: checks as often as a pod would during an incident, and a
 * back-off ceiling short enough that a flap every few seconds stays the rhythm.
 */
const SIDECAR_SETTINGS = {
  UNSEAL_INTERVAL: '1s',
  UNSEAL_RETRY_INTERVAL: '200ms',
  UNSEAL_MAX_BACKOFF: '5s',
  LOG_LEVEL: 'info',
} as const;
const UNSEAL_BOUND_MS = 30_000;
const PAUSE_MS: readonly [number, number] = [2_000, 5_000];
const SAMPLE_MS = 1_000;

interface Rig {
  readonly server: OpenBaoServer;
  readonly sidecar: SidecarProcess;
  readonly rootToken: string;
  readonly keysDir: string;
}

async function startRig(say: (line: string) => void): Promise<Rig> {
  const server = await startOpenBao({ storage: 'persistent' });
  const keysDir = mkdtempSync(join(tmpdir(), 'vau-soak-keys-'));
  try {
    const init = await server.init(5, 3);
    writeSecretVolume(keysDir, { 'init.json': init.rawJson });
    const sidecar = await startSidecar({
      VAULT_ADDR: server.addr,
      UNSEAL_KEYS_DIR: keysDir,
      UNSEAL_PODINFO_DIR: join(keysDir, 'no-podinfo'),
      ...SIDECAR_SETTINGS,
      NODE_OPTIONS: gcHookNodeOptions(),
    });
    say(`server ${server.addr} (raft, 5 shares, threshold 3); sidecar pid ${sidecar.child.pid}`);
    if (!catchesSignal(sidecar.child.pid ?? 0, SIGUSR2)) {
      await sidecar.stop();
      throw new Error('the sidecar has no SIGUSR2 handler: soak-gc-hook.js did not load');
    }
    return { server, sidecar, rootToken: init.rootToken, keysDir };
  } catch (error) {
    await server.destroy();
    rmSync(keysDir, { recursive: true, force: true });
    throw error;
  }
}

const hasExited = (sidecar: SidecarProcess): boolean =>
  sidecar.child.exitCode !== null || sidecar.child.signalCode !== null;

async function stopRig(rig: Rig): Promise<void> {
  await rig.sidecar.stop();
  await rig.server.destroy();
  rmSync(rig.keysDir, { recursive: true, force: true });
}

/** Samples once a second (on a fixed grid, so a slow sample does not shift the rest) until `done`. */
async function sampleUntil(
  rig: Rig,
  csvFile: string,
  done: () => boolean,
  unseals: () => number,
): Promise<SoakSample[]> {
  const pid = rig.sidecar.child.pid ?? 0;
  const samples: SoakSample[] = [];
  const t0 = performance.now();
  for (let tick = 0; !done(); tick++) {
    await sleep(Math.max(0, t0 + tick * SAMPLE_MS - performance.now()));
    if (hasExited(rig.sidecar)) break;
    // Fails only once the sidecar is gone (startRig checked the handler).
    if (!(await collectGarbage(pid).catch(() => false))) break;
    const footprint = await sampleFootprint(pid, rig.sidecar.httpAddr).catch(() => undefined);
    if (!footprint) continue;
    const sample = { elapsedS: (performance.now() - t0) / 1_000, ...footprint, unseals: unseals() };
    samples.push(sample);
    appendFileSync(csvFile, `${csvRow(sample)}\n`);
  }
  return samples;
}

const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};

function reportUnseals(tally: FlapTally, sidecarCount: number, say: (line: string) => void): void {
  for (const [kind, times] of Object.entries(tally.unsealMs)) {
    say(
      `  ${kind}: ${times.length} unsealed, median ${percentile(times, 50).toFixed(0)} ms, ` +
        `worst ${times.length ? Math.max(...times).toFixed(0) : '-'} ms`,
    );
  }
  say(
    `  first unseal: seen ${tally.firstUnsealMs?.toFixed(0) ?? '-'} ms after the sidecar was ready`,
  );
  say(`  failures (over ${UNSEAL_BOUND_MS} ms): ${tally.failures}`);
  say(`  the sidecar's own vault_autounseal_unseals_total{result="success"}: ${sidecarCount}`);
  for (const error of tally.driverErrors) say(`  driver error (not the sidecar's): ${error}`);
}

async function sidecarUnsealCounter(sidecar: SidecarProcess): Promise<number> {
  const text = await sidecar.metrics().catch(() => '');
  const match = /^vault_autounseal_unseals_total\{result="success"\} (\S+)$/m.exec(text);
  return Number(match?.[1] ?? NaN);
}

/** Draws the PNG with scripts/plot-soak.py; says why when it cannot. */
function drawPlot(
  csvFile: string,
  summaryFile: string,
  say: (line: string) => void,
): string | undefined {
  const png = csvFile.replace(/\.csv$/, '.png');
  try {
    const root = repoRoot();
    const python = execFileSync('bash', [join(root, 'scripts', 'plot-tools.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
    execFileSync(python, [join(root, 'scripts', 'plot-soak.py'), csvFile, png, summaryFile], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    return png;
  } catch (error) {
    say(`plot: not drawn (${(error as Error).message.split('\n')[0] ?? ''})`);
    return undefined;
  }
}

function verdictLines(analysis: GrowthAnalysis, tally: FlapTally, exited: boolean): string[] {
  const problems: string[] = [];
  for (const r of analysis.series) if (r.verdict === 'grew') problems.push(`${r.series} grew`);
  if (tally.failures > 0) problems.push(`${tally.failures} unseal(s) over ${UNSEAL_BOUND_MS} ms`);
  if (unsealCount(tally) === 0) problems.push('no unseal was seen');
  if (exited) problems.push('the sidecar exited');
  return problems;
}

export async function runSoak(options: SoakOptions): Promise<number> {
  const { durationMs, say } = options;
  // Milliseconds in the name, and 'wx': two soaks started in the same second once appended to one
  // CSV; now the second one stops instead.
  const stamp = new Date().toISOString().replace(/:/g, '-');
  const resultsDir = join(repoRoot(), 'chaos', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const csvFile = join(resultsDir, `soak-${stamp}.csv`);
  writeFileSync(csvFile, `${CSV_HEADER}\n`, { flag: 'wx' });
  say(`soak: ${durationMs / 1_000} s, one sample a second into ${csvFile}`);

  const rig = await startRig(say);
  const tally = newTally();
  let flapping = true;
  let samples: SoakSample[];
  let sidecarCount: number;
  let exited: boolean;
  try {
    const start = performance.now();
    const plan = {
      server: rig.server,
      rootToken: rig.rootToken,
      lastFaultAt: start + durationMs - UNSEAL_BOUND_MS / 6,
      unsealBoundMs: UNSEAL_BOUND_MS,
      pauseMs: PAUSE_MS,
      sidecarAlive: () => !hasExited(rig.sidecar),
      say,
    };
    const flaps = flap(plan, tally).finally(() => (flapping = false));
    const sampling = sampleUntil(
      rig,
      csvFile,
      () => !flapping && performance.now() - start >= durationMs,
      () => unsealCount(tally),
    );
    [, samples] = await Promise.all([flaps, sampling]);
    sidecarCount = await sidecarUnsealCounter(rig.sidecar);
    exited = hasExited(rig.sidecar);
  } finally {
    await stopRig(rig);
  }

  const lastS = samples[samples.length - 1]?.elapsedS ?? 0;
  const analysis = analyseGrowth(samples, lastS);
  const summaryFile = csvFile.replace(/\.csv$/, '.json');
  writeFileSync(
    summaryFile,
    `${JSON.stringify({ durationS: lastS, ...analysis, tally }, null, 2)}\n`,
  );
  say(
    `\n${samples.length} samples over ${lastS.toFixed(0)} s; warm-up: the first ${analysis.warmUpS.toFixed(0)} s`,
  );
  say(growthTable(analysis));
  say(`\nunseals: ${unsealCount(tally)} seen by the driver (the first, then one per flap)`);
  reportUnseals(tally, sidecarCount, say);
  const png = drawPlot(csvFile, summaryFile, say);
  say(`\ncsv: ${csvFile}${png ? `\nplot: ${png}` : ''}`);
  const problems = verdictLines(analysis, tally, exited);
  say(problems.length ? `soak: FAILED (${problems.join('; ')})` : 'soak: passed');
  return problems.length ? 1 : 0;
}
