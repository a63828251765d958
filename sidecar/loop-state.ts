// The check loop's memory, in one record, and the pure transitions that fold each observation into
// it: the last seal status, the key files, the pause switch, the round engine's memory
// (seal-round.ts), the sealed episode, what was reported, and the wake-up schedule. unsealer.ts
// does the I/O and the logging; every "what did this observation change" is decided here.
// Times: every deadline and duration is on the monotonic clock (UnsealerDeps.clock.monotonic);
// only `checkedAt` and the ISO strings, which are shown, come from the wall clock.
import { EMPTY_KEY_SNAPSHOT, type KeySnapshot } from './key-snapshot.js';
import { RESTART_GRACE_MS } from './outage-level.js';
import { INITIAL_PAUSE_SWITCH, type PauseSwitch } from './pause.js';
import {
  afterFailedRequest,
  FRESH_ROUND,
  INITIAL_MEMORY,
  type Action,
  type BackoffTiming,
  type Memory,
  type RoundEvent,
  type SealStatus,
} from './seal-round.js';

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

/**
 * What a `lastError` was about; it is shown until that is over: `seal-status` until a check is
 * answered, `unseal` until a request of a round is answered or the server is seen unsealed,
 * `key-set` while the key set stands rejected.
 */
export type ErrorSource = 'seal-status' | 'unseal' | 'key-set';

/** Something that went right: the errors it proves over are cleared (`settleError`). */
export type Recovery = 'status-answered' | 'unseal-answered' | 'unsealed';

const CLEARED_BY: Record<Recovery, readonly ErrorSource[]> = {
  'status-answered': ['seal-status'],
  'unseal-answered': ['unseal'],
  unsealed: ['seal-status', 'unseal'],
};

/** One stretch of time between seeing the server sealed and seeing it unsealed. */
export interface Episode {
  /** When the server was first seen sealed in this episode; undefined while not sealed. */
  readonly sealedSince: number | undefined;
  /**
   * A round of ours completed in this episode: t of our shares went in and the server took them
   * (unsealed, or a follower joining). Only then is the unseal ours: a round that held someone
   * else's shares, or an unseal by hand, earns no credit, however many of our shares went in.
   */
  readonly completed: boolean;
  /**
   * Time paused in this episode, not counting a pause still on (`pausedSince`). An operator's
   * pause is not time the sidecar took to unseal: the duration histogram leaves it out.
   */
  readonly pausedMs: number;
  /** When the pause still on in this episode began; undefined while not paused. */
  readonly pausedSince: number | undefined;
}

export const NO_EPISODE: Episode = Object.freeze({
  sealedSince: undefined,
  completed: false,
  pausedMs: 0,
  pausedSince: undefined,
});

export interface LoopState {
  /** The last seal status the server gave (a check or an unseal answer). */
  readonly status: SealStatus | undefined;
  /** Whether the last seal-status check got an answer. */
  readonly reachable: boolean;
  /** The last seal-status check was answered 429: wait out the back-off before the next one. */
  readonly rateLimited: boolean;
  /** When the last seal-status check answered or failed (wall clock: shown in /status). */
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
  /** What `lastError` was about; undefined when there is none. */
  readonly lastErrorSource: ErrorSource | undefined;
  /** Seal-status checks failed in a row (0 after one answered). */
  readonly consecutiveFailures: number;
  /**
   * Until this time a refused connection is a restart, logged as a warning (outage-level.ts): set
   * at start and whenever the idle connection is lost.
   */
  readonly restartExpectedUntil: number;
  /** The key files and threshold an "insufficient keys" error was logged for ('' when none). */
  readonly insufficientReportedFor: string;
  /** When the loop last showed it is alive (a tick began, or a request to the server returned). */
  readonly lastBeat: number;
  /** Until this time, an unreachable server is polled every FAST_POLL_MS. */
  readonly fastPollUntil: number;
  /** When the last check a closed connection asked for ran, or is due to run. */
  readonly lastCloseCheckAt: number;
  /** A check a closed connection asked for, held back by the rate limit: due at this time. */
  readonly closeCheckDue: number | undefined;
  /** Closed connections counted since `since` (a window of CLOSE_COUNT_WINDOW_MS). */
  readonly closes: { readonly since: number; readonly count: number };
}

export function initialLoopState(now: number): LoopState {
  return {
    status: undefined,
    reachable: false,
    rateLimited: false,
    checkedAt: undefined,
    keys: EMPTY_KEY_SNAPSHOT,
    keysRead: false,
    pause: INITIAL_PAUSE_SWITCH,
    memory: INITIAL_MEMORY,
    episode: NO_EPISODE,
    state: 'starting',
    lastUnseal: null,
    lastError: null,
    lastErrorSource: undefined,
    consecutiveFailures: 0,
    restartExpectedUntil: now + RESTART_GRACE_MS,
    insufficientReportedFor: '',
    lastBeat: now,
    fastPollUntil: 0,
    lastCloseCheckAt: Number.NEGATIVE_INFINITY,
    closeCheckDue: undefined,
    closes: { since: now, count: 0 },
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
/**
 * While the server answers, closed connections start at most one check per this long. A server
 * that closes every idle connection at once (OpenBao with `http_idle_timeout = "20ms"`, a proxy)
 * would otherwise draw a check per close: dozens a second, for nothing. A restart is still seen at
 * once: its close comes after quiet, or the rate-limited check fails and fast polling takes over.
 */
export const CLOSE_CHECK_GAP_MS = 1_000;
/** Closes are counted over this window; more than FAST_CLOSES in it is worth a warning. */
export const CLOSE_COUNT_WINDOW_MS = 10_000;
export const FAST_CLOSES = 5;

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
    // Paused as last read: counted from here until the switch is read released. Before the first
    // read nothing is known (the read that follows at once starts the count if paused).
    const pausedSince = loop.pause !== INITIAL_PAUSE_SWITCH && loop.pause.paused ? now : undefined;
    return {
      loop: { ...seen, episode: { ...NO_EPISODE, ...episode, sealedSince: now, pausedSince } },
      event: { kind: 'sealed' },
    };
  }
  if (!status.initialized || status.sealed) return { loop: seen };
  if (episode.sealedSince === undefined) {
    return { loop: { ...seen, episode: NO_EPISODE }, event: { kind: 'found-unsealed' } };
  }
  const durationMs = Math.max(0, now - episode.sealedSince - pausedIn(episode, now));
  const by = episode.completed ? 'us' : 'someone-else';
  return { loop: { ...seen, episode: NO_EPISODE }, event: { kind: 'unsealed', by, durationMs } };
}

/** Time paused in an episode up to `now`, a pause still on included. */
export function pausedIn(episode: Episode, now: number): number {
  const ongoing = episode.pausedSince === undefined ? 0 : now - episode.pausedSince;
  return episode.pausedMs + ongoing;
}

/**
 * The pause switch was read (`loop.pause` is what it said): in a sealed episode, a pause starts
 * or ends being counted. Outside one there is nothing to count.
 */
export function afterPauseRead(loop: LoopState, now: number): LoopState {
  const { episode } = loop;
  if (episode.sealedSince === undefined) return loop;
  const paused = loop.pause.paused;
  if (paused && episode.pausedSince === undefined) {
    return { ...loop, episode: { ...episode, pausedSince: now } };
  }
  if (!paused && episode.pausedSince !== undefined) {
    const pausedMs = episode.pausedMs + (now - episode.pausedSince);
    return { ...loop, episode: { ...episode, pausedMs, pausedSince: undefined } };
  }
  return loop;
}

/** A failure to show in `/status` until what it was about is over (`settleError`). */
export function withError(loop: LoopState, error: ShownError, source: ErrorSource): LoopState {
  return { ...loop, lastError: error, lastErrorSource: source };
}

/**
 * Clears `lastError` once it no longer holds: after `recovery` (when given) for the errors it
 * proves over, and a key-set rejection as soon as the key set no longer stands rejected (new key
 * files, or our own unseal).
 */
export function settleError(loop: LoopState, recovery?: Recovery): LoopState {
  const source = loop.lastErrorSource;
  if (source === undefined) return loop;
  const over =
    source === 'key-set'
      ? !loop.memory.search.keySetRejected
      : recovery !== undefined && CLEARED_BY[recovery].includes(source);
  return over ? { ...loop, lastError: null, lastErrorSource: undefined } : loop;
}

/**
 * The state an action shows. Paused shows whatever the server's state (unsealed, not initialised,
 * a recovery seal): an operator who paused every sidecar checks that they all say so. A rejected
 * key set shows even while someone else's unseal holds.
 */
export function stateFor(
  action: Action,
  flags: { readonly paused: boolean; readonly keySetRejected: boolean },
): UnsealerState {
  if (flags.paused) return 'paused';
  switch (action.kind) {
    case 'idle':
      if (action.reason !== 'unsealed') return 'not-initialized';
      return flags.keySetRejected ? 'wrong-keys' : 'unsealed';
    case 'blocked':
      // Every block reason is a state of the same name.
      return action.reason;
    case 'await-unseal':
      return 'awaiting-unseal';
    default:
      return 'unsealing';
  }
}

/** The seal-status check failed: the server went away, and whatever round it had with it. */
export function afterUnreachable(loop: LoopState, now: number): LoopState {
  return {
    ...loop,
    consecutiveFailures: loop.consecutiveFailures + 1,
    reachable: false,
    rateLimited: false,
    checkedAt: now,
    closeCheckDue: undefined,
    // A restart or a crash: the server's round is gone with its memory, and a node we were
    // waiting on to finish joining will come back sealed, not joining.
    memory: { ...loop.memory, round: FRESH_ROUND },
  };
}

/** The seal-status check answered. */
export function afterReachable(loop: LoopState, now: number): LoopState {
  const answered: LoopState = {
    ...loop,
    reachable: true,
    rateLimited: false,
    checkedAt: now,
    closeCheckDue: undefined,
    consecutiveFailures: 0,
  };
  return settleError(answered, 'status-answered');
}

/**
 * The seal-status check was answered 429: the server is up (reachable) but limits us. Back off as
 * after any failed request, and check no sooner than that (`nextDelay`): hammering a rate limit
 * only keeps it shut. The round is kept: the server did not go away.
 */
export function afterRateLimited(
  loop: LoopState,
  at: { readonly now: number; readonly wall: number; readonly timing: BackoffTiming },
): LoopState {
  const failed = afterFailedRequest(loop.memory, { now: at.now, timing: at.timing });
  return {
    ...loop,
    reachable: true,
    rateLimited: true,
    consecutiveFailures: 0,
    checkedAt: at.wall,
    closeCheckDue: undefined,
    memory: { ...failed, round: loop.memory.round },
  };
}

/** What the round engine made of an answer (its memory already folded into the record). */
export function afterRoundEvent(loop: LoopState, event: RoundEvent): LoopState {
  const ours = event === 'unsealed' || (event === 'awaiting-unseal' && !loop.memory.round.foreign);
  return ours ? { ...loop, episode: { ...loop.episode, completed: true } } : loop;
}

export interface LoopTiming {
  readonly intervalMs: number;
  readonly retryIntervalMs: number;
  readonly requestTimeoutMs: number;
}

/** How long to wait before the next check, when nothing asked for one sooner. */
export function nextDelay(loop: LoopState, now: number, timing: LoopTiming): number {
  const base = baseDelay(loop, now, timing);
  if (loop.closeCheckDue === undefined) return base;
  return Math.min(base, Math.max(0, loop.closeCheckDue - now));
}

function baseDelay(loop: LoopState, now: number, timing: LoopTiming): number {
  const { status, reachable } = loop;
  if (loop.rateLimited) return Math.max(timing.retryIntervalMs, loop.memory.backoff.until - now);
  if (status && status.initialized && !status.sealed && reachable) return timing.intervalMs;
  if (!reachable && now < loop.fastPollUntil) return Math.min(FAST_POLL_MS, timing.retryIntervalMs);
  return timing.retryIntervalMs;
}

/** When a check for a close at `now` may run: the one already held back, or after the gap. */
function closeCheckTime(loop: LoopState, now: number): number {
  // A server that answered 429 is not asked again before its back-off, close or no close.
  const backoff = loop.rateLimited ? loop.memory.backoff.until : now;
  return loop.closeCheckDue ?? Math.max(now, backoff, loop.lastCloseCheckAt + CLOSE_CHECK_GAP_MS);
}

/**
 * The idle connection closed: the server may be restarting. Poll fast while it does not answer,
 * and check: at once if the last check failed or none ran for CLOSE_CHECK_GAP_MS, otherwise once
 * the gap has passed (`checkInMs`). `fastCloses` is set while closes come unusually fast: the
 * number seen in the current window.
 */
export function afterConnectionLost(
  loop: LoopState,
  now: number,
): { loop: LoopState; checkInMs: number; fastCloses?: number } {
  const fresh = now - loop.closes.since >= CLOSE_COUNT_WINDOW_MS;
  const closes = fresh
    ? { since: now, count: 1 }
    : { ...loop.closes, count: loop.closes.count + 1 };
  const due = loop.reachable ? closeCheckTime(loop, now) : now;
  const next: LoopState = {
    ...loop,
    fastPollUntil: now + FAST_POLL_WINDOW_MS,
    restartExpectedUntil: Math.max(loop.restartExpectedUntil, now + RESTART_GRACE_MS),
    lastCloseCheckAt: due,
    closeCheckDue: due > now ? due : undefined,
    closes,
  };
  const checkInMs = due - now;
  return closes.count > FAST_CLOSES
    ? { loop: next, checkInMs, fastCloses: closes.count }
    : { loop: next, checkInMs };
}

/**
 * Alive: a beat within three of the longest waits the loop may make, counted from the later of the
 * last beat and the time the next check is due (`timerDue`, when one is scheduled). A wait the loop
 * chose (a back-off after 429 answers grows to UNSEAL_MAX_BACKOFF, past three of those waits) is
 * not a stall; a timer that should have fired long ago is.
 */
export function isLive(
  loop: LoopState,
  now: number,
  timing: LoopTiming,
  timerDue?: number,
): boolean {
  const longest = Math.max(timing.intervalMs, timing.retryIntervalMs, timing.requestTimeoutMs);
  const since = Math.max(loop.lastBeat, timerDue ?? Number.NEGATIVE_INFINITY);
  return now - since <= 3 * longest;
}

/** The key in which an "insufficient keys" error is logged once: these files, this threshold. */
export function insufficientReportKey(keys: KeySnapshot, threshold: number): string {
  return `${keys.fingerprint}|${threshold}`;
}
