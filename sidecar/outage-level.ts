// At which level a failure to reach the server is logged. Pure: unsealer.ts passes what it knows.
//
// A pod restart of Vault is routine: the server closes our idle connection, refuses connections
// for a moment while it starts, and answers again. Logged at `error`, every rolling upgrade or
// evicted pod would page whoever alerts on error lines. So a refused or reset connection is a
// warning while a restart is expected, and an error once it has lasted past that:
//   - a restart is expected for RESTART_GRACE_MS after the sidecar started (in a pod, the server
//     starts next to us and refuses until it listens) and after the idle connection was lost (the
//     restart detector, loop-state.ts afterConnectionLost);
//   - the first ROUTINE_FAILURES consecutive refusals are routine even outside that window (a
//     restart seen by a check before the close of the idle connection was).
// Anything else (a timeout, TLS, an HTTP error, a host that does not resolve) is an error at once:
// a restart does not look like that.
import type { VaultFailure } from './vault-client.js';

/** How long a restart is expected after the sidecar starts or the connection is lost. */
export const RESTART_GRACE_MS = 30_000;
/** Consecutive refusals that are routine whatever the time: a restart caught between checks. */
export const ROUTINE_FAILURES = 3;

/** What a server that is restarting answers: nothing is listening yet, or it went away mid-way. */
const RESTART_ERRNOS: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE']);

/** Whether a failure looks like a server restarting (refused or reset), not like a fault. */
export function isRestartLike(failure: Pick<VaultFailure, 'code' | 'errno'>): boolean {
  return failure.code === 'unreachable' && RESTART_ERRNOS.has(String(failure.errno));
}

export interface OutageContext {
  /** Until when (monotonic ms) a restart is expected; see RESTART_GRACE_MS. */
  readonly restartExpectedUntil: number;
  /** Failed checks in a row, this one included. */
  readonly consecutiveFailures: number;
  readonly now: number;
}

/** `warn` for a refusal while a restart is expected or still short; `error` otherwise. */
export function outageLevel(
  failure: Pick<VaultFailure, 'code' | 'errno'>,
  context: OutageContext,
): 'warn' | 'error' {
  if (!isRestartLike(failure)) return 'error';
  if (context.now < context.restartExpectedUntil) return 'warn';
  return context.consecutiveFailures <= ROUTINE_FAILURES ? 'warn' : 'error';
}
