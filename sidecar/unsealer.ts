// The check loop: reads the seal status, the key files and the pause switch, asks the pure round
// engine (seal-round.ts) what to do, does it, and records what happened in metrics, logs and the
// state behind `/status`. One tick at a time, on a self-rescheduling timer.
import type { Logger } from 'pino';
import type { KeySnapshot } from './key-snapshot.js';
import {
  afterConnectionLost,
  afterPauseRead,
  afterRateLimited,
  afterReachable,
  afterRoundEvent,
  afterSealStatus,
  afterUnreachable,
  CLOSE_COUNT_WINDOW_MS,
  initialLoopState,
  insufficientReportKey,
  isLive,
  isShamirSealed,
  nextDelay,
  settleError,
  stateFor,
  withError,
  type ErrorSource,
  type LoopState,
  type ShownError,
  type UnsealerState,
} from './loop-state.js';
import type { SidecarMetrics } from './metrics.js';
import { outageLevel } from './outage-level.js';
import { createRepeatLimiter } from '../common/repeat-limiter.js';
import {
  INITIAL_PAUSE_SWITCH,
  nextPauseSwitch,
  type PauseRead,
  type PauseSwitch,
} from './pause.js';
import {
  afterFailedRequest,
  afterSubmit,
  candidateCount,
  decide,
  FRESH_ROUND,
  reconcile,
  withKeySet,
  type Action,
  type RoundEvent,
  type SealStatus,
} from './seal-round.js';
import type { Share } from './key-parsing.js';
import { scrubSecrets } from './scrub.js';
import type { SubmitResult, VaultFailure, VaultPort } from './vault-client.js';

export type { UnsealerState } from './loop-state.js';
export { FAST_POLL_MS, FAST_POLL_WINDOW_MS } from './loop-state.js';

export interface UnsealerDeps {
  readonly vault: VaultPort;
  readonly readKeys: () => Promise<KeySnapshot>;
  readonly readPause: () => Promise<PauseRead>;
  readonly logger: Logger;
  readonly metrics: SidecarMetrics;
  /**
   * `now`: the wall clock, for what is shown (ISO times in /status, unix times in metrics).
   * `monotonic`: milliseconds that never step (performance.now()), for every deadline: back-off,
   * the await window, fast polling, liveness, durations. A wall-clock step (NTP, a VM resumed)
   * must never hold unsealing back.
   */
  readonly clock: { now(): number; monotonic(): number };
  readonly timing: {
    readonly intervalMs: number;
    readonly retryIntervalMs: number;
    readonly maxBackoffMs: number;
    readonly requestTimeoutMs: number;
  };
}

export interface StatusView {
  readonly state: UnsealerState;
  readonly vault: {
    readonly reachable: boolean;
    readonly initialized: boolean | null;
    readonly sealed: boolean | null;
    readonly threshold: number | null;
    readonly shares: number | null;
    readonly progress: number | null;
    readonly version: string | null;
    readonly sealType: string | null;
    readonly recoverySeal: boolean | null;
    readonly checkedAt: string | null;
  };
  readonly keys: {
    readonly loaded: number;
    readonly insufficient: boolean;
    readonly sources: readonly { path: string; shares: number }[];
    readonly invalidFiles: readonly { path: string; reason: string }[];
    /** Key files whose share a working set showed to be bad (a stale file after a rekey). */
    readonly suspectFiles: readonly string[];
    /** The server rejected this key set, and our shares have not unsealed it since. */
    readonly rejected: boolean;
    /** Key files that hold a Vault token (root_token): named, never shown. */
    readonly rootTokenFiles: readonly string[];
  };
  readonly paused: boolean;
  readonly pauseAnnotationUnrecognised: string | null;
  /** Whether the pause switch could be read; when not, the last known state is kept. */
  readonly pauseSwitch: { readonly source: PauseSwitch['source']; readonly problem: string | null };
  readonly backoffUntil: string | null;
  readonly backoffReason: 'wrong-keys' | 'errors' | null;
  readonly lastUnseal: LoopState['lastUnseal'];
  readonly lastError: ShownError | null;
}

export interface Unsealer {
  start(): void;
  /** Stops scheduling and waits for a running tick to finish. */
  stop(): Promise<void>;
  /** Something changed on disk (keys, pause switch): check again now. */
  wake(): void;
  /**
   * The idle connection to the server closed: it may be restarting. Check now (while the server
   * answers, at most once per CLOSE_CHECK_GAP_MS), and until it answers again, every FAST_POLL_MS
   * instead of every UNSEAL_RETRY_INTERVAL, for at most FAST_POLL_WINDOW_MS. A check, never a
   * submission: what to do still comes from the seal status.
   */
  connectionLost(): void;
  view(): StatusView;
  isLive(): boolean;
  isRunning(): boolean;
}

/** Answers after which this round goes no further in this tick, though the share was taken. */
const ROUND_ENDS: ReadonlySet<RoundEvent> = new Set([
  'unsealed',
  'unsealed-by-others',
  'awaiting-unseal',
]);
const PROBLEM_STATES: ReadonlySet<UnsealerState> = new Set([
  'unreachable',
  'insufficient-keys',
  'wrong-keys',
  'backing-off',
]);

export function createUnsealer(deps: UnsealerDeps): Unsealer {
  const { vault, logger, metrics, clock, timing } = deps;
  const repeats = createRepeatLimiter();
  // Every failure backs off from at least 1 s, doubling up to UNSEAL_MAX_BACKOFF.
  const backoffTiming = {
    baseMs: Math.max(1_000, timing.retryIntervalMs),
    maxMs: timing.maxBackoffMs,
  };

  // The shell's own: the timer and the tick in flight. Everything else is in `loop` (loop-state.ts).
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  /** When `timer` fires (monotonic). */
  let timerDue: number | undefined;
  let inFlight: Promise<void> | undefined;
  let wakeRequested = false;
  let loop: LoopState = initialLoopState(clock.monotonic());
  const mono = (): number => clock.monotonic();

  const beat = (): void => {
    loop = { ...loop, lastBeat: mono() };
  };

  function recordError(failure: VaultFailure, context: string, source: ErrorSource): void {
    const lastError = { code: failure.code, message: failure.message, at: iso(clock.now()) };
    loop = withError(loop, lastError, source);
    // A refused connection while the server restarts is a warning, not a page (outage-level.ts).
    const level = outageLevel(failure, {
      restartExpectedUntil: loop.restartExpectedUntil,
      consecutiveFailures: loop.consecutiveFailures,
      now: mono(),
    });
    // Per level: an outage that outlasts the restart window is logged as an error at once.
    const { log, suppressed } = repeats.shouldLog(`${context}:${failure.code}:${level}`, mono());
    if (log) {
      logger[level](
        { code: failure.code, ...(suppressed > 0 ? { repeated: suppressed } : {}) },
        `${context}: ${failure.message}`,
      );
    }
  }

  /** A warning that may repeat many times: first sight, then at most once a minute with a count. */
  function warnLimited(key: string, fields: Record<string, unknown>, message: string): void {
    const { log, suppressed } = repeats.shouldLog(key, mono());
    if (log)
      logger.warn({ ...fields, ...(suppressed > 0 ? { repeated: suppressed } : {}) }, message);
  }

  function setState(next: UnsealerState, fields: Record<string, unknown> = {}): void {
    const previous = loop.state;
    if (next === previous) return;
    loop = { ...loop, state: next };
    // Back in touch: the next failure of any kind is news again, and is logged at once.
    if (previous === 'unreachable') repeats.clear('seal-status:');
    // Reported elsewhere: unreachable through recordError (with its repeat limit), paused by refreshPause.
    if (next === 'unreachable' || next === 'paused') return;
    const level = PROBLEM_STATES.has(next) ? 'warn' : 'info';
    logger[level]({ state: next, previous, ...fields }, describeState(next));
  }

  async function refreshKeys(): Promise<void> {
    const next = await deps.readKeys();
    const { keys, keysRead } = loop;
    const changed =
      !keysRead ||
      next.fingerprint !== keys.fingerprint ||
      JSON.stringify(next.invalid) !== JSON.stringify(keys.invalid);
    // The search for a working set is about this exact list of shares, in this order.
    const memory = withKeySet(loop.memory, next.shares.map((share) => share.hex).join(','));
    loop = settleError({ ...loop, keys: next, keysRead: true, memory });
    // So are its suspects: a key change clears them, in /status and in the gauge alike.
    metrics.keyFilesSuspect.set(suspectFiles().length);
    metrics.keySetRejected.set(memory.search.keySetRejected ? 1 : 0);
    metrics.keysLoaded.set(next.shares.length);
    // The list is bounded (first names, then a count); the metric counts every unusable file.
    metrics.keyFilesInvalid.set(next.counts?.invalidFiles ?? next.invalid.length);
    if (changed) reportKeys(next);
    reportRootTokens(keysRead ? keys : undefined, next);
  }

  /** The gauge, and one warning per change of the files that hold a token: names, never content. */
  function reportRootTokens(previous: KeySnapshot | undefined, next: KeySnapshot): void {
    const files = next.rootTokenFiles ?? [];
    metrics.keyFilesRootToken.set(next.counts?.rootTokenFiles ?? files.length);
    const before = JSON.stringify(previous?.rootTokenFiles ?? null);
    if (files.length === 0 || before === JSON.stringify(files)) return;
    logger.warn(
      { rootTokenFiles: files },
      'key files hold a Vault token (the root token of operator init?): their shares are used, but a token does not belong next to the server; keep only the unseal keys in the key Secret and the root token elsewhere (or revoke it)',
    );
  }

  /** One line per change of the key files: what loaded, and what could not be used. */
  function reportKeys(next: KeySnapshot): void {
    const fields = {
      loaded: next.shares.length,
      sources: next.sources.map((s) => s.path),
      invalidFiles: next.invalid,
    };
    const unusableDirs = (next.dirs ?? []).filter((d) => d.state !== 'ok').map((d) => d.path);
    if (next.shares.length === 0 && unusableDirs.length > 0) {
      logger.warn(
        { ...fields, unusableDirectories: unusableDirs },
        'no keys loaded: a key directory is missing or unreadable',
      );
    } else if (next.shares.length === 0) {
      logger.warn(fields, 'no keys loaded: no key file could be used');
    } else if (next.invalid.length > 0) {
      logger.warn(fields, 'keys reloaded; some key files could not be used');
    } else {
      logger.info(fields, 'keys reloaded');
    }
  }

  async function refreshPause(): Promise<void> {
    const previous = loop.pause;
    const next = nextPauseSwitch(previous, await deps.readPause());
    // Time paused in a sealed episode is left out of its unseal duration.
    loop = afterPauseRead({ ...loop, pause: next }, mono());
    metrics.paused.set(next.paused ? 1 : 0);
    metrics.pauseSwitchUnreadable.set(next.source === 'unreadable' ? 1 : 0);
    reportPauseSwitch(previous, next);
  }

  /** One line when the switch becomes unreadable or readable again, when it flips, or on a typo. */
  function reportPauseSwitch(previous: PauseSwitch, next: PauseSwitch): void {
    reportReadability(previous, next);
    const typo = next.unrecognisedValue;
    if (typo !== undefined && typo !== previous.unrecognisedValue) {
      logger.warn(
        { value: typo, accepted: '"true" or "false"' },
        'pause annotation vault-autounseal.io/paused has an unrecognised value; pausing to be safe',
      );
    }
    // The first read reports only a pause: "resumed" from the fail-closed start would be noise.
    const first = previous === INITIAL_PAUSE_SWITCH;
    const flipped = first ? next.paused : next.paused !== previous.paused;
    if (flipped) {
      logger.info(
        { paused: next.paused },
        next.paused ? 'paused: no shares will be submitted' : 'resumed',
      );
    }
  }

  function reportReadability(previous: PauseSwitch, next: PauseSwitch): void {
    const first = previous === INITIAL_PAUSE_SWITCH;
    if (next.source === 'unreadable' && (first || previous.problem !== next.problem)) {
      logger.error(
        { problem: next.problem, paused: next.paused },
        next.everRead
          ? 'the pause switch cannot be read; keeping its last known state'
          : 'the pause switch cannot be read and was never read; paused to be safe',
      );
    } else if (next.source !== 'unreadable' && previous.source === 'unreadable' && !first) {
      logger.info({ paused: next.paused }, 'the pause switch can be read again');
    }
  }

  function exportStatus(next: SealStatus): void {
    metrics.vaultSealed.set(next.sealed ? 1 : 0);
    metrics.vaultInitialized.set(next.initialized ? 1 : 0);
    metrics.unsealThreshold.set(next.threshold);
    const short = isShamirSealed(next) && loop.keys.shares.length < next.threshold;
    metrics.keysInsufficient.set(short ? 1 : 0);
  }

  /** A seal status seen: metrics, and the one log line of each sealed → unsealed transition. */
  function observe(next: SealStatus): void {
    const folded = afterSealStatus(loop, next, mono());
    loop = folded.loop;
    exportStatus(next);
    const event = folded.event;
    if (!next.sealed && next.initialized) loop = settleError(loop, 'unsealed');
    // Unsealed as at the last check (`found-unsealed`): no state is set here. The step that
    // follows every answered check sets it, once: setting it here too made a server with a
    // recovery seal log "unsealed" and "recovery-seal" in turn on every check.
    if (event?.kind === 'sealed') {
      logger.info({ threshold: next.threshold, progress: next.progress }, 'vault is sealed');
    } else if (event?.kind === 'unsealed') {
      if (event.by === 'us') onOwnUnseal(event.durationMs);
      else onUnsealedByOthers();
    }
  }

  /** Our round unsealed it: the success, its duration, and the one "server is unsealed" line. */
  function onOwnUnseal(durationMs: number): void {
    const now = clock.now();
    const durationSeconds = durationMs / 1000;
    metrics.unseals.inc({ result: 'success' });
    metrics.unsealDuration.observe(durationSeconds);
    metrics.lastUnsealTimestamp.set(now / 1000);
    loop = { ...loop, lastUnseal: { at: iso(now), durationSeconds } };
    setState('unsealed', { durationSeconds });
  }

  /**
   * Someone else unsealed the server (by hand, another submitter): no success, and a key set that
   * was rejected stays rejected, so the next restart would stay sealed. Say so.
   */
  function onUnsealedByOthers(): void {
    if (!loop.memory.search.keySetRejected) {
      setState('unsealed', { unsealedBy: 'someone else' });
      return;
    }
    setState('wrong-keys', { unsealedBy: 'someone else' });
    logger.warn(
      { unsealedBy: 'someone else', sources: loop.keys.sources.map((s) => s.path) },
      'the server was unsealed by someone else; the key set here was rejected and still is: the next restart of this server stays sealed until the key files are fixed',
    );
  }

  function reportBlocked(action: Action): void {
    const { status, keys } = loop;
    if (action.kind !== 'blocked' || !status) return;
    if (action.reason !== 'insufficient-keys') return;
    const key = insufficientReportKey(keys, status.threshold);
    if (loop.insufficientReportedFor === key) return;
    loop = { ...loop, insufficientReportedFor: key };
    logger.error(
      {
        loaded: keys.shares.length,
        threshold: status.threshold,
        sources: keys.sources.map((s) => s.path),
        invalidFiles: keys.invalid,
      },
      `insufficient keys: ${keys.shares.length} distinct share(s) loaded, the server needs ${status.threshold}; submitting nothing`,
    );
  }

  function suspectFiles(): string[] {
    const suspects = new Set(loop.memory.search.suspects);
    return loop.keys.shares.filter((share) => suspects.has(share.hex)).map((s) => s.origin);
  }

  /** Our own round failed at the threshold; either another candidate set is tried, or we back off. */
  function onOwnRejection(
    event: 'candidate-rejected' | 'key-set-rejected',
    threshold: number,
  ): void {
    const { keys, memory } = loop;
    metrics.keySubmissions.inc({ result: 'rejected' });
    metrics.unseals.inc({ result: 'failure' });
    const tried = memory.search.rejected.length;
    const sets = candidateCount(keys.shares.length, threshold);
    if (event === 'candidate-rejected') {
      warnLimited(
        'candidate-rejected',
        { tried, sets, loaded: keys.shares.length, threshold },
        `the server rejected a set of ${threshold} shares: at least one of them is wrong; trying another combination`,
      );
      return;
    }
    const retryInSeconds = Math.max(0, memory.backoff.until - mono()) / 1000;
    const lastError = {
      code: 'wrong-keys',
      message: `the server rejected every combination tried (${tried} of ${threshold} out of ${keys.shares.length} shares): shares of another server, or an old key set`,
      at: iso(clock.now()),
    };
    loop = withError(loop, lastError, 'key-set');
    if (memory.search.reported) return;
    loop = { ...loop, memory: { ...memory, search: { ...memory.search, reported: true } } };
    logger.error(
      { sources: keys.sources.map((s) => s.path), tried, retryInSeconds },
      'key set rejected: the server says these shares do not unseal it; backing off until the key files change',
    );
  }

  function onForeignRejection(): void {
    metrics.keySubmissions.inc({ result: 'foreign-rejected' });
    warnLimited(
      'foreign-rejected',
      {},
      'an unseal round that held someone else’s shares failed at the threshold; not counted against our key set; starting a clean round',
    );
  }

  function onSuspects(before: readonly string[]): void {
    if (loop.memory.search.suspects.join() === before.join()) return;
    const files = suspectFiles();
    metrics.keyFilesSuspect.set(files.length);
    if (files.length > 0) {
      logger.warn(
        { suspectFiles: files },
        'unsealed with another combination of shares: these key files hold a share this server rejects (left over after a rekey?)',
      );
    }
  }

  /** Counts and logs one submission's outcome. Returns whether the round goes on in this tick. */
  function record(event: RoundEvent, answer: SubmitResult, threshold: number): boolean {
    if (ROUND_ENDS.has(event)) {
      metrics.keySubmissions.inc({ result: answer.kind === 'status' ? 'accepted' : 'error' });
      return false;
    }
    switch (event) {
      case 'progress':
      case 'duplicate':
        metrics.keySubmissions.inc({ result: 'accepted' });
        return true;
      case 'candidate-rejected':
      case 'key-set-rejected':
        onOwnRejection(event, threshold);
        // Another candidate set, or a clean round after someone else's: go again at once.
        wakeRequested = event === 'candidate-rejected';
        return false;
      case 'rejected-foreign-round':
        onForeignRejection();
        wakeRequested = true;
        return false;
      default:
        metrics.keySubmissions.inc({ result: 'error' });
        if (answer.failure) recordError(answer.failure, 'unseal', 'unseal');
        return false;
    }
  }

  /** The status the loop goes on with came with an unseal answer, not from a seal-status read. */
  let statusFromAnswer = false;

  /** One submission and what follows from its answer. Returns the status to continue with, if any. */
  async function submitOne(current: SealStatus, share: Share): Promise<SealStatus | undefined> {
    const wasLastShare = current.progress + 1 >= current.threshold;
    const answer = await vault.submitShare(share.hex, wasLastShare);
    beat();
    const suspectsBefore = loop.memory.search.suspects;
    const folded = afterSubmit(
      loop.memory,
      {
        share,
        progressBefore: current.progress,
        threshold: current.threshold,
        shares: loop.keys.shares,
      },
      answer.kind === 'error'
        ? { ...answer, timedOut: answer.failure?.code === 'timeout' }
        : answer,
      { now: mono(), timing: backoffTiming },
    );
    loop = afterRoundEvent({ ...loop, memory: folded.memory }, folded.event);
    if (answer.kind === 'status') loop = settleError(loop, 'unseal-answered');
    metrics.keySetRejected.set(loop.memory.search.keySetRejected ? 1 : 0);
    const goesOn = record(folded.event, answer, current.threshold);
    onSuspects(suspectsBefore);
    if (answer.kind === 'status') observe(answer.status);
    if (!goesOn || answer.kind !== 'status') return undefined;
    statusFromAnswer = true;
    return answer.status;
  }

  async function checkStatus(): Promise<SealStatus | undefined> {
    statusFromAnswer = false;
    const result = await vault.sealStatus();
    beat();
    if (!result.ok && result.failure.code === 'rate-limited') {
      metrics.checks.inc({ result: 'error' });
      // It answered: up, but limiting us. Not "unreachable", and no round is lost.
      metrics.vaultUp.set(1);
      const at = { now: mono(), wall: clock.now(), timing: backoffTiming };
      loop = afterRateLimited(loop, at);
      setState('backing-off', { reason: 'rate-limited' });
      recordError(result.failure, 'seal-status', 'seal-status');
      return undefined;
    }
    if (!result.ok) {
      metrics.checks.inc({ result: 'error' });
      metrics.vaultUp.set(0);
      loop = afterUnreachable(loop, clock.now());
      setState('unreachable');
      recordError(result.failure, 'seal-status', 'seal-status');
      return undefined;
    }
    metrics.checks.inc({ result: 'ok' });
    metrics.vaultUp.set(1);
    loop = afterReachable(loop, clock.now());
    observe(result.status);
    return result.status;
  }

  async function resetRound(): Promise<SealStatus | undefined> {
    logger.info('clearing an unseal round that our shares cannot finish');
    const reset = await vault.resetRound();
    beat();
    if (reset.ok) {
      loop = settleError(
        { ...loop, memory: { ...loop.memory, round: FRESH_ROUND } },
        'unseal-answered',
      );
      return checkStatus();
    }
    const memory = afterFailedRequest(loop.memory, { now: mono(), timing: backoffTiming });
    loop = { ...loop, memory };
    if (reset.failure) recordError(reset.failure, 'unseal reset', 'unseal');
    return undefined;
  }

  async function step(current: SealStatus): Promise<SealStatus | undefined> {
    const now = mono();
    const reconciled = reconcile(loop.memory, current, now);
    loop = settleError({ ...loop, memory: reconciled.memory });
    metrics.keySetRejected.set(loop.memory.search.keySetRejected ? 1 : 0);
    if (reconciled.event === 'await-expired') {
      metrics.unseals.inc({ result: 'failure' });
      logger.warn(
        'the node stayed sealed for 30 s after our last share was accepted (a raft join that did not finish); starting a new round',
      );
    }
    // Read before every submission: the brake must hold even in the middle of a round.
    await refreshPause();
    const action = decide({
      status: current,
      shares: loop.keys.shares,
      paused: loop.pause.paused,
      memory: loop.memory,
      now,
    });
    const next = stateFor(action, {
      paused: loop.pause.paused,
      keySetRejected: loop.memory.search.keySetRejected,
    });
    setState(next, action.kind === 'blocked' ? { reason: action.reason } : {});
    reportBlocked(action);
    if (action.kind === 'submit') {
      // The last share decides the round, and a rejection does not say whose round it was. Between
      // the answer to our previous share and this one, another submitter may have spoilt our round
      // and opened a new one at the same progress: read the round's nonce again first.
      if (statusFromAnswer && current.progress + 1 >= current.threshold) {
        return checkStatus();
      }
      return submitOne(current, action.share);
    }
    return action.kind === 'reset' ? resetRound() : undefined;
  }

  async function tick(): Promise<void> {
    beat();
    await refreshKeys();
    let current = await checkStatus();
    // Bounded: every step submits a distinct share, resets once, or stops.
    for (let steps = 0; current && steps < loop.keys.shares.length * 2 + 4; steps++) {
      current = await step(current);
    }
  }

  function schedule(delayMs: number): void {
    if (!running) return;
    clearTimeout(timer);
    timerDue = mono() + delayMs;
    timer = setTimeout(run, delayMs);
    timer.unref();
  }

  function run(): void {
    if (!running || inFlight) {
      wakeRequested = true;
      return;
    }
    wakeRequested = false;
    timerDue = undefined;
    inFlight = tick()
      .catch((error: unknown) => {
        // A bug, not an expected outcome: say so without the error object (it may hold a request),
        // and scrub the message like everything else that crosses an edge.
        logger.error(
          {
            err: {
              name: scrubSecrets(String((error as Error)?.name)),
              message: scrubSecrets(String((error as Error)?.message)),
            },
          },
          'check failed unexpectedly',
        );
      })
      .finally(() => {
        inFlight = undefined;
        schedule(wakeRequested ? 0 : nextDelay(loop, mono(), timing));
      });
  }

  function wake(): void {
    if (!running) return;
    if (inFlight) wakeRequested = true;
    else schedule(0);
  }

  /** A check within `delayMs`: sooner than the timer, if it is due later. */
  function wakeWithin(delayMs: number): void {
    // While a tick runs, its end schedules by nextDelay, which includes the check now due.
    if (!running || inFlight) return;
    if (timerDue === undefined || timerDue > mono() + delayMs) schedule(delayMs);
  }

  return {
    start() {
      running = true;
      beat();
      run();
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      await inFlight;
    },
    wake,
    connectionLost() {
      const lost = afterConnectionLost(loop, mono());
      loop = lost.loop;
      if (lost.fastCloses !== undefined) {
        warnLimited(
          'fast-closes',
          { closes: lost.fastCloses, withinSeconds: CLOSE_COUNT_WINDOW_MS / 1000 },
          'the server closes our idle connection unusually often (an idle timeout far below the check interval, such as http_idle_timeout, or a proxy); checks caused by a closed connection are limited to one a second',
        );
      }
      if (lost.checkInMs === 0) wake();
      else wakeWithin(lost.checkInMs);
    },
    isRunning: () => running,
    isLive: () => running && isLive(loop, mono(), timing, timerDue),
    view: () => buildView(loop, suspectFiles(), { wall: clock.now(), monotonic: mono() }),
  };
}

const iso = (ms: number): string => new Date(ms).toISOString();

function vaultView(loop: LoopState): StatusView['vault'] {
  const { status, reachable, checkedAt } = loop;
  const base = { reachable, checkedAt: checkedAt === undefined ? null : iso(checkedAt) };
  if (!status) {
    return {
      ...base,
      initialized: null,
      sealed: null,
      threshold: null,
      shares: null,
      progress: null,
      version: null,
      sealType: null,
      recoverySeal: null,
    };
  }
  return {
    ...base,
    initialized: status.initialized,
    sealed: status.sealed,
    threshold: status.threshold,
    shares: status.shares,
    progress: status.progress,
    version: status.version,
    sealType: status.type,
    recoverySeal: status.recoverySeal,
  };
}

/** What `/status` shows: the record, with times as ISO strings. */
function buildView(
  loop: LoopState,
  suspectFiles: string[],
  now: { readonly wall: number; readonly monotonic: number },
): StatusView {
  const { keys, status, pause, memory } = loop;
  const waiting = memory.backoff.until > now.monotonic;
  // Deadlines are monotonic; shown, they are wall-clock times as of now.
  const shownUntil = now.wall + (memory.backoff.until - now.monotonic);
  return {
    state: loop.state,
    vault: vaultView(loop),
    keys: {
      loaded: keys.shares.length,
      insufficient:
        status !== undefined && status.initialized && keys.shares.length < status.threshold,
      sources: keys.sources.map((s) => ({ path: s.path, shares: s.shares })),
      invalidFiles: keys.invalid.map((i) => ({ path: i.path, reason: i.reason })),
      suspectFiles,
      rejected: memory.search.keySetRejected,
      rootTokenFiles: keys.rootTokenFiles ?? [],
    },
    paused: pause.paused,
    pauseAnnotationUnrecognised: pause.unrecognisedValue ?? null,
    pauseSwitch: { source: pause.source, problem: pause.problem ?? null },
    backoffUntil: waiting ? iso(shownUntil) : null,
    backoffReason: waiting ? (memory.backoff.reason ?? null) : null,
    lastUnseal: loop.lastUnseal,
    lastError: loop.lastError,
  };
}

function describeState(state: UnsealerState): string {
  const text: Record<UnsealerState, string> = {
    starting: 'starting',
    unreachable: 'server unreachable',
    'not-initialized':
      'server is not initialised (or a raft follower has not joined yet); waiting, submitting nothing',
    'recovery-seal': 'server uses an auto-unseal seal (recovery keys); nothing to do',
    unsealed: 'server is unsealed',
    paused: 'paused by vault-autounseal.io/paused; submitting nothing',
    'insufficient-keys': 'insufficient keys; submitting nothing',
    'wrong-keys':
      'the key set was rejected: these shares do not unseal this server (backing off while it is sealed)',
    'backing-off': 'backing off after the server failed our unseal requests',
    unsealing: 'unsealing',
    'awaiting-unseal': 'last share accepted; waiting for the node to finish unsealing (raft join)',
  };
  return text[state];
}
