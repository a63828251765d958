// The bounds the chaos invariants hold the sidecar to, with the sidecar settings every episode uses
// (cluster.ts SIDECAR_TIMING: checks every 1 s while unsealed and every 200 ms while sealed, each
// request at most 2 s, back-off at most 4 s). docs/chaos.md explains each number.
import type { Limits } from './checks.js';

/** Check interval + request deadline + longest back-off + a few rounds, on a loaded 2-core host. */
const AFTER_ANY_FAULT_MS = 1_000 + 2_000 + 4_000 + 5_000;

export const CHAOS_LIMITS: Limits = {
  unsealWithinMs: {
    'server-kill': AFTER_ANY_FAULT_MS,
    // The last share may have gone to the frozen server: the sidecar then waits up to 30 s for it
    // to finish (a raft follower joining looks the same), and the thawed server does finish it.
    'server-freeze': 30_000 + AFTER_ANY_FAULT_MS,
    'api-seal': AFTER_ANY_FAULT_MS,
    'stranger-right': AFTER_ANY_FAULT_MS,
    'stranger-wrong': AFTER_ANY_FAULT_MS,
    rekey: AFTER_ANY_FAULT_MS,
    'keys-corrupt': AFTER_ANY_FAULT_MS,
    'sidecar-kill': AFTER_ANY_FAULT_MS,
    'pause-flip': AFTER_ANY_FAULT_MS,
  },
  defaultUnsealWithinMs: AFTER_ANY_FAULT_MS,
  // The switch is read on every check and on every change the directory watch reports: one
  // submission already decided when it flips may still go out.
  switchGraceMs: 500,
  rateWindowMs: 10_000,
  // A key-set search tries at most 32 sets of t = 3 shares (96 submissions); after one fails, the
  // back-off doubles from 1 s, so at most 4 searches start in 10 s (at 0, 1, 3 and 7 s).
  maxSubmissionsPerWindow: 4 * 32 * 3 + 16,
  // Fast polling after a lost connection is every 20 ms for at most 30 s: 500 per 10 s.
  maxRequestsPerWindow: 1_000,
  maxLogLinesPerWindow: 100,
};
