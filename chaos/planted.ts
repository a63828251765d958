// The planted defects the chaos invariants must catch, each made by wrapping one dependency the
// unsealer already takes (see chaos/planted-sidecar.ts, which runs the shipped program with one).
import type { UnsealerDeps } from '../sidecar/unsealer.js';

export const PLANTED_DEFECTS = [
  'ignores-pause',
  'logs-a-share',
  'resubmits-after-unseal',
  'never-backs-off',
] as const;
export type PlantedDefect = (typeof PLANTED_DEFECTS)[number];

export function plant(defect: PlantedDefect, deps: UnsealerDeps): UnsealerDeps {
  switch (defect) {
    case 'ignores-pause':
      // Reads the switch as "no downward-API volume", which means: not paused.
      return { ...deps, readPause: async () => ({ kind: 'no-volume' }) };
    case 'logs-a-share':
      return {
        ...deps,
        vault: {
          sealStatus: () => deps.vault.sealStatus(),
          resetRound: () => deps.vault.resetRound(),
          submitShare: (share, wasLast) => {
            process.stdout.write(
              `${JSON.stringify({ level: 30, time: Date.now(), msg: 'submitting', share })}\n`,
            );
            return deps.vault.submitShare(share, wasLast);
          },
        },
      };
    case 'resubmits-after-unseal':
      return {
        ...deps,
        vault: {
          sealStatus: () => deps.vault.sealStatus(),
          resetRound: () => deps.vault.resetRound(),
          submitShare: async (share, wasLast) => {
            const answer = await deps.vault.submitShare(share, wasLast);
            // "Make sure": the same share once more, after the round already completed.
            if (answer.kind === 'status' && !answer.status.sealed)
              await deps.vault.submitShare(share, wasLast);
            return answer;
          },
        },
      };
    case 'never-backs-off':
      return { ...deps, timing: { ...deps.timing, maxBackoffMs: 0 } };
  }
}
