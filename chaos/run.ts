// A chaos run: one cluster, many episodes. Prints the seed first, one line per episode, writes a
// trace for each failed episode with the command that replays it, and ends with the worst unseal
// time per fault kind and `chaos: N passed, N failed`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../test/harness/repo-root.js';
import { summarise } from './checks.js';
import { ChaosCluster, describeRescue, type Rescue } from './cluster.js';
import { runEpisode, type EpisodeResult } from './episode.js';
import { CHAOS_LIMITS } from './limits.js';
import { describePlan, planEpisode, type EpisodePlan } from './plan.js';
import { unsealTimes, worstByFault, type UnsealTime } from './report.js';

export interface ChaosOptions {
  readonly seed: number;
  /** Episode numbers to run (a replay runs one). */
  readonly episodes: readonly number[];
  readonly nodes: number;
  /** A planted-defect build of the sidecar (chaos/planted.ts) instead of the shipped one. */
  readonly planted?: string;
  /** Plans to run instead of the seed's (the planted-defect tests pick their faults). */
  readonly plans?: readonly EpisodePlan[];
  readonly say: (line: string) => void;
}

export interface ChaosSummary {
  readonly seed: number;
  readonly passed: number;
  readonly failed: number;
  readonly wallSeconds: number;
  readonly results: readonly EpisodeResult[];
  readonly worst: ReturnType<typeof worstByFault>;
}

export const RESULTS_DIR = join(repoRoot(), 'chaos', 'results');

export async function runChaos(options: ChaosOptions): Promise<ChaosSummary> {
  const started = Date.now();
  const { say } = options;
  say(
    `chaos: seed ${options.seed}, ${options.plans?.length ?? options.episodes.length} episode(s), ${options.nodes} nodes${options.planted ? `, planted defect ${options.planted}` : ''}`,
  );
  const cluster = await ChaosCluster.start({
    nodes: options.nodes,
    say,
    ...(options.planted
      ? {
          sidecarEntry: join(repoRoot(), 'dist', 'chaos', 'planted-sidecar.js'),
          sidecarEnv: { CHAOS_PLANTED_DEFECT: options.planted },
        }
      : {}),
  });
  const results: EpisodeResult[] = [];
  const times: UnsealTime[] = [];
  let passed = 0;
  let failed = 0;
  try {
    const plans =
      options.plans ?? options.episodes.map((k) => planEpisode(options.seed, k, options.nodes));
    for (const plan of plans) {
      let rescues: Rescue[];
      try {
        rescues = await cluster.restoreBaseline();
      } catch (error) {
        failed += 1;
        say(
          `episode ${plan.episode}: FAILED before it began: the cluster did not come back to every node unsealed (${(error as Error).message})`,
        );
        break;
      }
      failed += reportRescues(rescues, cluster.generations.length - 1, plan.episode, say);
      const result = await runEpisode(cluster, plan, CHAOS_LIMITS);
      results.push(result);
      times.push(...unsealTimes(result.trace));
      const seconds = (result.wallMs / 1000).toFixed(1);
      if (result.violations.length === 0) {
        passed += 1;
        say(`episode ${plan.episode}: ok in ${seconds} s: ${describePlan(plan)}`);
      } else {
        failed += 1;
        say(`episode ${plan.episode}: FAILED in ${seconds} s: ${describePlan(plan)}`);
        say(indent(summarise(result.violations)));
        const file = writeTrace(options, result);
        say(`  trace: ${file}`);
        say(
          `  replay: npm run chaos -- --seed ${options.seed} --only ${plan.episode} --nodes ${options.nodes}${options.planted ? ` --planted ${options.planted}` : ''}`,
        );
      }
    }
  } finally {
    await cluster.destroy();
  }
  const worst = worstByFault(times);
  const wallSeconds = Math.round((Date.now() - started) / 1000);
  say(`chaos: seed ${options.seed}, wall time ${wallSeconds} s`);
  say('worst unseal time per fault kind (from the moment the sidecar could act):');
  for (const row of worst) {
    say(
      `  ${row.fault.padEnd(16)} ${String(row.count).padStart(4)} unseals, median ${row.medianMs} ms, worst ${row.worstMs} ms`,
    );
  }
  return { seed: options.seed, passed, failed, wallSeconds, results, worst };
}

/**
 * Says how each stuck node was unsealed by hand before an episode; returns how many count as
 * failures: those whose working shares were in their files (the sidecar should have done it).
 */
function reportRescues(
  rescues: readonly Rescue[],
  newest: number,
  episode: number,
  say: (line: string) => void,
): number {
  let failures = 0;
  for (const rescue of rescues) {
    say(`  before episode ${episode}: ${describeRescue(rescue, newest)}`);
    if (rescue.inFiles || rescue.generation === undefined) {
      failures += 1;
      say(
        `episode ${Math.max(0, episode - 1)}: FAILED afterwards: a node had to be unsealed by hand`,
      );
    }
  }
  return failures;
}

function writeTrace(options: ChaosOptions, result: EpisodeResult): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const name = `seed-${options.seed}-episode-${result.plan.episode}${options.planted ? `-${options.planted}` : ''}.json`;
  const file = join(RESULTS_DIR, name);
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        seed: options.seed,
        episode: result.plan.episode,
        nodes: options.nodes,
        planted: options.planted ?? null,
        plan: result.plan,
        violations: result.violations,
        sidecarOutput: result.sidecarOutput,
        events: result.trace.events,
      },
      null,
      1,
    )}\n`,
  );
  return file;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}
