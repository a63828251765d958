// The chaos invariants must catch a broken sidecar, not only pass a good one. Each planted defect is
// a build of the shipped program with one dependency wrapped (chaos/planted.ts); each runs one
// episode whose faults give the defect a chance to show, against a real raft cluster, and the
// invariant that guards against it must fail. The same episode with the shipped sidecar passes.
import { describe, expect, it } from 'vitest';
import type { EpisodePlan, PlannedFault } from '../../chaos/plan.js';
import type { PlantedDefect } from '../../chaos/planted.js';
import { runChaos } from '../../chaos/run.js';

function plan(episode: number, ...faults: PlannedFault[]): EpisodePlan {
  return { seed: 0, episode, nodes: 3, faults };
}

const cases: { defect: PlantedDefect; invariant: string; plan: EpisodePlan }[] = [
  {
    defect: 'ignores-pause',
    invariant: 'noForbiddenSubmissions',
    plan: plan(0, { kind: 'pause-flip', atMs: 0, target: 1, holdMs: 3_000 }),
  },
  {
    defect: 'logs-a-share',
    invariant: 'noSecrets',
    plan: plan(1, { kind: 'server-kill', atMs: 0, target: 1, holdMs: 200 }),
  },
  {
    defect: 'resubmits-after-unseal',
    invariant: 'noSubmissionAfterCompletion',
    plan: plan(2, { kind: 'server-kill', atMs: 0, target: 1, holdMs: 200 }),
  },
  {
    defect: 'never-backs-off',
    invariant: 'boundedRates',
    plan: plan(3, {
      kind: 'keys-corrupt',
      atMs: 0,
      target: 1,
      holdMs: 8_000,
      damage: 'all-foreign',
    }),
  },
];

const quiet = (): void => undefined;

describe('planted defects are caught by the chaos invariants', () => {
  for (const { defect, invariant, plan: episode } of cases) {
    it(`${defect}: ${invariant} fails`, async () => {
      const summary = await runChaos({
        seed: 0,
        episodes: [],
        nodes: 3,
        planted: defect,
        plans: [episode],
        say: quiet,
      });
      const found = summary.results.flatMap((r) => r.violations.map((v) => v.invariant));
      expect(summary.failed).toBe(1);
      expect(found).toContain(invariant);
    });
  }

  it('the shipped sidecar passes every one of those episodes', async () => {
    const summary = await runChaos({
      seed: 0,
      episodes: [],
      nodes: 3,
      plans: cases.map((c) => c.plan),
      say: quiet,
    });
    const violations = summary.results.flatMap((r) => r.violations);
    expect(violations).toEqual([]);
    expect(summary.passed).toBe(cases.length);
  });
});
