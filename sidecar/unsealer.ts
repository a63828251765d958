// The check loop: reads the seal status, the key files and the pause switch, asks the pure round
// engine (seal-round.ts) what to do, does it, and records what happened in metrics, logs and the
// state behind `/status`. One tick at a time, on a self-rescheduling timer.
import type { Logger } from 'pino';
import type { KeySnapshot } from './key-files.js';
import type { SidecarMetrics } from './metrics.js';
import type { PauseState } from './pause.js';
import { createRepeatLimiter } from '../common/repeat-limiter.js';
import {
  afterSubmit,
  backoffDelay,
  decide,
  FRESH_ROUND,
  reconcileRound,
  type Action,
  type RoundMemory,
  type SealStatus,
} from './seal-round.js';
import type { VaultFailure, VaultPort } from './vault-client.js';

export type UnsealerState =
  | 'starting'
  | 'unreachable'
  | 'not-initialized'
  | 'recovery-seal'
  | 'unsealed'
  | 'paused'
  | 'insufficient-keys'
  | 'wrong-keys'
  | 'unsealing'
  | 'awaiting-unseal';

export interface UnsealerDeps {
  readonly vault: VaultPort;
  readonly readKeys: () => Promise<KeySnapshot>;
  readonly readPause: () => Promise<PauseState>;
  readonly logger: Logger;
  readonly metrics: SidecarMetrics;
  readonly clock: { now(): number };
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
  };
  readonly paused: boolean;
  readonly pauseAnnotationUnrecognised: string | null;
  readonly backoffUntil: string | null;
  readonly lastUnseal: { readonly at: string; readonly durationSeconds: number } | null;
  readonly lastError: {
    readonly code: string;
    readonly message: string;
    readonly at: string;
  } | null;
}

export interface Unsealer {
  start(): void;
  /** Stops scheduling and waits for a running tick to finish. */
  stop(): Promise<void>;
  /** Something changed on disk (keys, pause switch): check again now. */
  wake(): void;
  view(): StatusView;
  isLive(): boolean;
  isRunning(): boolean;
}

const EMPTY_KEYS: KeySnapshot = { shares: [], sources: [], invalid: [], fingerprint: '' };
const PROBLEM_STATES: ReadonlySet<UnsealerState> = new Set([
  'unreachable',
  'insufficient-keys',
  'wrong-keys',
]);

export function createUnsealer(deps: UnsealerDeps): Unsealer {
  const { vault, logger, metrics, clock, timing } = deps;
  const repeats = createRepeatLimiter();
  const iso = (ms: number): string => new Date(ms).toISOString();

  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  let wakeRequested = false;
  let lastBeat = clock.now();

  let status: SealStatus | undefined;
  let reachable = false;
  let checkedAt: number | undefined;
  let keys = EMPTY_KEYS;
  let keysRead = false;
  let pause: PauseState = { paused: false, unrecognisedValue: undefined };
  let round: RoundMemory = FRESH_ROUND;
  let rejections = 0;
  let backoffUntil = 0;
  let sealedSince: number | undefined;
  let submittedThisEpisode = false;
  let state: UnsealerState = 'starting';
  let lastUnseal: StatusView['lastUnseal'] = null;
  let lastError: StatusView['lastError'] = null;
  let insufficientReportedFor = '';
  let rejectionReportedFor = '';

  const beat = (): void => {
    lastBeat = clock.now();
  };

  function recordError(failure: VaultFailure, context: string): void {
    const now = clock.now();
    lastError = { code: failure.code, message: failure.message, at: iso(now) };
    const { log, suppressed } = repeats.shouldLog(`${context}:${failure.code}`, now);
    if (log) {
      logger.error(
        { code: failure.code, ...(suppressed > 0 ? { repeated: suppressed } : {}) },
        `${context}: ${failure.message}`,
      );
    }
  }

  function setState(next: UnsealerState, fields: Record<string, unknown> = {}): void {
    if (next === state) return;
    const previous = state;
    state = next;
    // Back in touch: the next failure of any kind is news again, and is logged at once.
    if (previous === 'unreachable') repeats.clear('seal-status:');
    // Reported elsewhere: unreachable through recordError (with its repeat limit), paused by refreshPause.
    if (next === 'unreachable' || next === 'paused') return;
    const level = PROBLEM_STATES.has(next) ? 'warn' : 'info';
    logger[level]({ state: next, previous, ...fields }, describeState(next));
  }

  async function refreshKeys(): Promise<void> {
    const next = await deps.readKeys();
    const changed =
      !keysRead ||
      next.fingerprint !== keys.fingerprint ||
      JSON.stringify(next.invalid) !== JSON.stringify(keys.invalid);
    const sharesChanged = keysRead && next.fingerprint !== keys.fingerprint;
    keys = next;
    keysRead = true;
    metrics.keysLoaded.set(next.shares.length);
    metrics.keyFilesInvalid.set(next.invalid.length);
    if (!changed) return;
    if (sharesChanged) {
      // A new key set (a rekey, a fixed Secret) deserves a clean try at once.
      rejections = 0;
      backoffUntil = 0;
      round = FRESH_ROUND;
    }
    const fields = {
      loaded: next.shares.length,
      sources: next.sources.map((s) => s.path),
      invalidFiles: next.invalid,
    };
    if (next.invalid.length > 0)
      logger.warn(fields, 'keys reloaded; some key files could not be used');
    else logger.info(fields, 'keys reloaded');
  }

  async function refreshPause(): Promise<void> {
    const next = await deps.readPause();
    if (next.paused !== pause.paused || next.unrecognisedValue !== pause.unrecognisedValue) {
      if (next.unrecognisedValue !== undefined) {
        logger.warn(
          { value: next.unrecognisedValue, accepted: '"true" or "false"' },
          'pause annotation vault-autounseal.io/paused has an unrecognised value; pausing to be safe',
        );
      }
      logger.info(
        { paused: next.paused },
        next.paused ? 'paused: no shares will be submitted' : 'resumed',
      );
    }
    pause = next;
    metrics.paused.set(pause.paused ? 1 : 0);
  }

  /** The sealed → unsealed transition: metrics and the one log line, with time-to-unseal. */
  function onUnsealed(now: number): void {
    if (sealedSince === undefined) {
      setState('unsealed');
      return;
    }
    const durationSeconds = (now - sealedSince) / 1000;
    sealedSince = undefined;
    if (submittedThisEpisode) {
      metrics.unseals.inc({ result: 'success' });
      metrics.unsealDuration.observe(durationSeconds);
      metrics.lastUnsealTimestamp.set(now / 1000);
      lastUnseal = { at: iso(now), durationSeconds };
      setState('unsealed', { durationSeconds });
    } else {
      setState('unsealed', { unsealedBy: 'someone else' });
    }
    submittedThisEpisode = false;
    rejections = 0;
    backoffUntil = 0;
  }

  function exportStatus(next: SealStatus, shamirSealed: boolean): void {
    metrics.vaultSealed.set(next.sealed ? 1 : 0);
    metrics.vaultInitialized.set(next.initialized ? 1 : 0);
    metrics.unsealThreshold.set(next.threshold);
    metrics.keysInsufficient.set(shamirSealed && keys.shares.length < next.threshold ? 1 : 0);
  }

  function observe(next: SealStatus): void {
    const now = clock.now();
    status = next;
    const sealed = next.initialized && next.sealed && !next.recoverySeal && next.threshold > 0;
    exportStatus(next, sealed);
    if (sealed && sealedSince === undefined) {
      sealedSince = now;
      logger.info({ threshold: next.threshold, progress: next.progress }, 'vault is sealed');
    }
    if (next.initialized && !next.sealed) onUnsealed(now);
  }

  function reportBlocked(action: Action): void {
    if (action.kind !== 'blocked' || !status) return;
    if (action.reason === 'insufficient-keys') {
      const key = `${keys.fingerprint}|${status.threshold}`;
      if (insufficientReportedFor !== key) {
        insufficientReportedFor = key;
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
    }
  }

  function stateFor(action: Action): UnsealerState {
    switch (action.kind) {
      case 'idle':
        return action.reason === 'unsealed' ? 'unsealed' : 'not-initialized';
      case 'blocked':
        // Every block reason is a state of the same name.
        return action.reason;
      case 'await-unseal':
        return 'awaiting-unseal';
      default:
        return 'unsealing';
    }
  }

  function onRejected(foreign: boolean): void {
    const now = clock.now();
    metrics.keySubmissions.inc({ result: 'rejected' });
    metrics.unseals.inc({ result: 'failure' });
    if (foreign) {
      logger.warn(
        'a partial unseal round left by someone else failed at the threshold; starting a clean round',
      );
      return;
    }
    rejections += 1;
    const delay = backoffDelay(
      rejections,
      Math.max(1_000, timing.retryIntervalMs),
      timing.maxBackoffMs,
    );
    backoffUntil = now + delay;
    lastError = {
      code: 'wrong-keys',
      message:
        'the server rejected the key set at the threshold (shares of another server, or an old key set)',
      at: iso(now),
    };
    if (rejectionReportedFor !== keys.fingerprint) {
      rejectionReportedFor = keys.fingerprint;
      logger.error(
        { sources: keys.sources.map((s) => s.path), retryInSeconds: delay / 1000 },
        'key set rejected: the server says these shares do not unseal it; backing off until the key files change',
      );
    }
  }

  /** One submission and what follows from its answer. Returns the status to continue with, if any. */
  async function submitOne(
    current: SealStatus,
    action: Extract<Action, { kind: 'submit' }>,
  ): Promise<SealStatus | undefined> {
    submittedThisEpisode = true;
    const wasLastShare = current.progress + 1 >= current.threshold;
    const answer = await vault.submitShare(action.share.hex, wasLastShare);
    beat();
    const folded = afterSubmit(
      round,
      { share: action.share, progressBefore: current.progress },
      answer,
      clock.now(),
    );
    round = folded.round;
    if (answer.kind === 'status') {
      metrics.keySubmissions.inc({ result: 'accepted' });
      observe(answer.status);
      // Go on with the round only while it is open; unsealed or awaiting a join ends this tick.
      const roundGoesOn = folded.event === 'progress' || folded.event === 'duplicate';
      return roundGoesOn ? answer.status : undefined;
    }
    if (answer.kind === 'rejected') {
      const foreign = folded.event === 'rejected-foreign-round';
      onRejected(foreign);
      return foreign ? await checkStatus() : undefined;
    }
    metrics.keySubmissions.inc({ result: 'error' });
    if (answer.failure) recordError(answer.failure, 'unseal');
    return undefined;
  }

  async function checkStatus(): Promise<SealStatus | undefined> {
    const result = await vault.sealStatus();
    beat();
    checkedAt = clock.now();
    if (!result.ok) {
      metrics.checks.inc({ result: 'error' });
      metrics.vaultUp.set(0);
      reachable = false;
      // The server went away (a restart, a crash): whatever round it had is gone with its memory,
      // and a node we were waiting on to finish joining will come back sealed, not joining.
      round = FRESH_ROUND;
      setState('unreachable');
      recordError(result.failure, 'seal-status');
      return undefined;
    }
    metrics.checks.inc({ result: 'ok' });
    metrics.vaultUp.set(1);
    reachable = true;
    observe(result.status);
    return result.status;
  }

  async function step(current: SealStatus): Promise<SealStatus | undefined> {
    const now = clock.now();
    const before = round;
    round = reconcileRound(round, current, now);
    if (before.awaitingSince !== undefined && round.awaitingSince === undefined && current.sealed) {
      metrics.unseals.inc({ result: 'failure' });
      logger.warn(
        'the server accepted the last share but stayed sealed for 30 s; starting a new round',
      );
    }
    await refreshPause();
    const action = decide({
      status: current,
      shares: keys.shares,
      paused: pause.paused,
      round,
      backoffUntil,
      now,
    });
    setState(stateFor(action), action.kind === 'blocked' ? { reason: action.reason } : {});
    reportBlocked(action);
    if (action.kind === 'submit') return submitOne(current, action);
    if (action.kind !== 'reset') return undefined;
    logger.info('clearing an unseal round that our shares cannot finish');
    const reset = await vault.resetRound();
    beat();
    round = FRESH_ROUND;
    if (!reset.ok && reset.failure) recordError(reset.failure, 'unseal reset');
    return reset.ok ? checkStatus() : undefined;
  }

  async function tick(): Promise<void> {
    beat();
    await refreshKeys();
    let current = await checkStatus();
    // Bounded: every step submits a distinct share, resets once, or stops.
    for (let steps = 0; current && steps < keys.shares.length * 2 + 4; steps++) {
      current = await step(current);
    }
  }

  function nextDelay(): number {
    return status && status.initialized && !status.sealed && reachable
      ? timing.intervalMs
      : timing.retryIntervalMs;
  }

  function schedule(delayMs: number): void {
    if (!running) return;
    clearTimeout(timer);
    timer = setTimeout(run, delayMs);
    timer.unref();
  }

  function run(): void {
    if (!running || inFlight) {
      wakeRequested = true;
      return;
    }
    wakeRequested = false;
    inFlight = tick()
      .catch((error: unknown) => {
        // A bug, not an expected outcome: say so without the error object (it may hold a request).
        logger.error(
          { err: { name: (error as Error)?.name, message: String((error as Error)?.message) } },
          'check failed unexpectedly',
        );
      })
      .finally(() => {
        inFlight = undefined;
        schedule(wakeRequested ? 0 : nextDelay());
      });
  }

  function vaultView(): StatusView['vault'] {
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

  function buildView(): StatusView {
    const now = clock.now();
    return {
      state,
      vault: vaultView(),
      keys: {
        loaded: keys.shares.length,
        insufficient:
          status !== undefined && status.initialized && keys.shares.length < status.threshold,
        sources: keys.sources.map((s) => ({ path: s.path, shares: s.shares })),
        invalidFiles: keys.invalid.map((i) => ({ path: i.path, reason: i.reason })),
      },
      paused: pause.paused,
      pauseAnnotationUnrecognised: pause.unrecognisedValue ?? null,
      backoffUntil: backoffUntil > now ? iso(backoffUntil) : null,
      lastUnseal,
      lastError,
    };
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
    wake() {
      if (!running) return;
      if (inFlight) wakeRequested = true;
      else schedule(0);
    },
    isRunning: () => running,
    isLive() {
      const longest = Math.max(timing.intervalMs, timing.retryIntervalMs, timing.requestTimeoutMs);
      return running && clock.now() - lastBeat <= 3 * longest;
    },
    view: () => buildView(),
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
    'wrong-keys': 'backing off after the key set was rejected',
    unsealing: 'unsealing',
    'awaiting-unseal': 'last share accepted; waiting for the node to finish unsealing (raft join)',
  };
  return text[state];
}
