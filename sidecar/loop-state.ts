// The check loop's memory, in one record, and the pure transitions that fold each observation into
// it: the last seal status, the key files, the pause switch, the round engine's memory
// (seal-round.ts), the sealed episode, what was reported, and the wake-up schedule. unsealer.ts
// does the I/O and the logging; every "what did this observation change" is decided here.
import { EMPTY_KEY_SNAPSHOT, type KeySnapshot } from './key-snapshot.js';
import { INITIAL_PAUSE_SWITCH, type PauseSwitch } from './pause.js';
import { FRESH_ROUND, INITIAL_MEMORY, type Memory, type SealStatus } from './seal-round.js';

export type UnsealerState =
  | 'starting'
  | 'unreachable'
  | 'not-initialized'
  | 'recovery-seal'
  | 'unsealed'
  | 'paused'
  | 'insufficient-keys'
  | 'wrong-keys'
  | 'backing-off'
  | 'unsealing'
  | 'awaiting-unseal';

/** A failure, as shown in `/status` (`at`: wall-clock ISO time). */
export interface ShownError {
  readonly code: string;
  readonly message: string;
  readonly at: string;
}

/** One stretch of time between seeing the server sealed and seeing it unsealed. */
export interface Episode {
  /** When the server was first seen sealed in this episode; undefined while not sealed. */
  readonly sealedSince: number | undefined;
  /** Our shares went in during this episode. */
  readonly submitted: boolean;
}

export const NO_EPISODE: Episode = Object.freeze({ sealedSince: undefined, submitted: false });

export interface LoopState {
  /** The last seal status the server gave (a check or an unseal answer). */
  readonly status: SealStatus | undefined;
  /** Whether the last seal-status check got an answer. */
  readonly reachable: boolean;
  /** When the last seal-status check answered or failed. */
  readonly checkedAt: number | undefined;
  readonly keys: KeySnapshot;
  /** The key files were read at least once (the first read is always reported). */
  readonly keysRead: boolean;
  readonly pause: PauseSwitch;
  /** The round, the search for a working share set, and the back-off (seal-round.ts). */
  readonly memory: Memory;
  readonly episode: Episode;
  readonly state: UnsealerState;
  readonly lastUnseal: { readonly at: string; readonly durationSeconds: number } | null;
  readonly lastError: ShownError | null;
  /** The key files and threshold an "insufficient keys" error was logged for ('' when none). */
  readonly insufficientReportedFor: string;
  /** When the loop last showed it is alive (a tick began, or a request to the server returned). */
  readonly lastBeat: number;
  /** Until this time, an unreachable server is polled every FAST_POLL_MS. */
  readonly fastPollUntil: number;
}

export function initialLoopState(now: number): LoopState {
  return {
    status: undefined,
    reachable: false,
    checkedAt: undefined,
    keys: EMPTY_KEY_SNAPSHOT,
    keysRead: false,
    pause: INITIAL_PAUSE_SWITCH,
    memory: INITIAL_MEMORY,
    episode: NO_EPISODE,
    state: 'starting',
    lastUnseal: null,
    lastError: null,
    insufficientReportedFor: '',
    lastBeat: now,
    fastPollUntil: 0,
  };
}

/**
 * While a server that just dropped our connection is not answering yet, look this often. A refused
 * connection on loopback costs well under a millisecond; a restarted server is then seen within
 * this much of its API's first answer, instead of up to UNSEAL_RETRY_INTERVAL (or, before the
 * watch, UNSEAL_INTERVAL) later. See docs/adr/0004-restart-detection.md.
 */
export const FAST_POLL_MS = 20;
/** Fast polling stops this long after the connection was lost, if the server has not come back. */
export const FAST_POLL_WINDOW_MS = 30_000;

/** What seeing a seal status meant for the episode. */
export type SealEvent =
  | { readonly kind: 'sealed' }
  | { readonly kind: 'unsealed'; readonly by: 'us' | 'someone-else'; readonly durationMs: number }
  /** Unsealed, and no sealed episode was seen before (the sidecar started on an unsealed server). */
  | { readonly kind: 'found-unsealed' };

/** Whether a seal status is one this sidecar unseals: initialised, Shamir-sealed, threshold known. */
export function isShamirSealed(status: SealStatus): boolean {
  return status.initialized && status.sealed && !status.recoverySeal && status.threshold > 0;
}

/** Folds a seal status (from a check or an unseal answer) into the record. */
export function afterSealStatus(
  loop: LoopState,
  status: SealStatus,
  now: number,
): { loop: LoopState; event?: SealEvent } {
  const seen = { ...loop, status };
  const { episode } = loop;
  if (isShamirSealed(status) && episode.sealedSince === undefined) {
    return {
      loop: { ...seen, episode: { ...episode, sealedSince: now } },
      event: { kind: 'sealed' },
    };
  }
  if (!status.initialized || status.sealed) return { loop: seen };
  if (episode.sealedSince === undefined) {
    return { loop: { ...seen, episode: NO_EPISODE }, event: { kind: 'found-unsealed' } };
  }
  const durationMs = now - episode.sealedSince;
  const by = episode.submitted ? 'us' : 'someone-else';
  return { loop: { ...seen, episode: NO_EPISODE }, event: { kind: 'unsealed', by, durationMs } };
}

/** The seal-status check failed: the server went away, and whatever round it had with it. */
export function afterUnreachable(loop: LoopState, now: number): LoopState {
  return {
    ...loop,
    reachable: false,
    checkedAt: now,
    // A restart or a crash: the server's round is gone with its memory, and a node we were
    // waiting on to finish joining will come back sealed, not joining.
    memory: { ...loop.memory, round: FRESH_ROUND },
  };
}

/** The seal-status check answered. */
export function afterReachable(loop: LoopState, now: number): LoopState {
  return { ...loop, reachable: true, checkedAt: now };
}

/** One of our shares is about to go in. */
export function afterSubmitting(loop: LoopState): LoopState {
  return { ...loop, episode: { ...loop.episode, submitted: true } };
}

export interface LoopTiming {
  readonly intervalMs: number;
  readonly retryIntervalMs: number;
  readonly requestTimeoutMs: number;
}

/** How long to wait before the next check, when nothing asked for one sooner. */
export function nextDelay(loop: LoopState, now: number, timing: LoopTiming): number {
  const { status, reachable } = loop;
  if (status && status.initialized && !status.sealed && reachable) return timing.intervalMs;
  if (!reachable && now < loop.fastPollUntil) return Math.min(FAST_POLL_MS, timing.retryIntervalMs);
  return timing.retryIntervalMs;
}

/** The idle connection closed: the server may be restarting; poll fast while it does not answer. */
export function afterConnectionLost(loop: LoopState, now: number): LoopState {
  return { ...loop, fastPollUntil: now + FAST_POLL_WINDOW_MS };
}

/** Alive: running, and a beat within three of the longest waits the loop may make. */
export function isLive(loop: LoopState, now: number, timing: LoopTiming): boolean {
  const longest = Math.max(timing.intervalMs, timing.retryIntervalMs, timing.requestTimeoutMs);
  return now - loop.lastBeat <= 3 * longest;
}

/** The key in which an "insufficient keys" error is logged once: these files, this threshold. */
export function insufficientReportKey(keys: KeySnapshot, threshold: number): string {
  return `${keys.fingerprint}|${threshold}`;
}
