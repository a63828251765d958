// Issue 22 in the check loop's record (sidecar/loop-state.ts): the state shown while paused, the
// pause left out of the unseal duration, `lastError` cleared once what it was about is over, and
// the restart window in which a refused connection is a warning.
import { describe, expect, it } from 'vitest';
import {
  afterConnectionLost,
  afterPauseRead,
  afterRateLimited,
  afterReachable,
  afterSealStatus,
  afterRoundEvent,
  afterUnreachable,
  initialLoopState,
  NO_EPISODE,
  pausedIn,
  settleError,
  stateFor,
  withError,
  type LoopState,
} from '../../../sidecar/loop-state.js';
import { RESTART_GRACE_MS } from '../../../sidecar/outage-level.js';
import { INITIAL_PAUSE_SWITCH, type PauseSwitch } from '../../../sidecar/pause.js';
import type { Action } from '../../../sidecar/seal-round.js';
import { NOW, sealed, TIMING } from './fixtures.js';

const start = (): LoopState => initialLoopState(NOW);
const switchSays = (paused: boolean): PauseSwitch => ({
  paused,
  unrecognisedValue: undefined,
  source: 'ok',
  problem: undefined,
  everRead: true,
  volumeSeen: true,
});
const withPause = (loop: LoopState, paused: boolean): LoopState => ({
  ...loop,
  pause: switchSays(paused),
});
const unsealed = sealed({ sealed: false });
const ERROR = { code: 'unreachable', message: 'cannot reach the server', at: 'then' };

describe('the state shown', () => {
  const actions: [Action, string][] = [
    [{ kind: 'idle', reason: 'unsealed' }, 'unsealed'],
    [{ kind: 'idle', reason: 'not-initialized' }, 'not-initialized'],
    [{ kind: 'blocked', reason: 'recovery-seal' }, 'recovery-seal'],
    [{ kind: 'blocked', reason: 'insufficient-keys' }, 'insufficient-keys'],
    [{ kind: 'blocked', reason: 'paused' }, 'paused'],
    [{ kind: 'await-unseal' }, 'awaiting-unseal'],
    [{ kind: 'reset' }, 'unsealing'],
  ];
  it.each(actions)('is paused while paused, whatever the action (%j)', (action) => {
    expect(stateFor(action, { paused: true, keySetRejected: false })).toBe('paused');
    expect(stateFor(action, { paused: true, keySetRejected: true })).toBe('paused');
  });
  it.each(actions)('not paused, for %j, is %s', (action, state) => {
    expect(stateFor(action, { paused: false, keySetRejected: false })).toBe(state);
  });
  it('shows a rejected key set while the server is unsealed by someone else', () => {
    const idle: Action = { kind: 'idle', reason: 'unsealed' };
    expect(stateFor(idle, { paused: false, keySetRejected: true })).toBe('wrong-keys');
    const uninit: Action = { kind: 'idle', reason: 'not-initialized' };
    expect(stateFor(uninit, { paused: false, keySetRejected: true })).toBe('not-initialized');
  });
});

describe('time paused in a sealed episode', () => {
  const sealedAt = (loop: LoopState, now: number) => afterSealStatus(loop, sealed(), now).loop;

  it('is left out of the unseal duration: sealed 0–10 s, paused 2–7 s, unsealed at 10 s → 5 s', () => {
    let loop = sealedAt(withPause(start(), false), NOW);
    loop = afterPauseRead(loop, NOW);
    expect(loop.episode.pausedSince).toBeUndefined();
    loop = afterPauseRead(withPause(loop, true), NOW + 2_000);
    expect(loop.episode.pausedSince).toBe(NOW + 2_000);
    // Read again while still paused: the count goes on from the first read.
    loop = afterPauseRead(loop, NOW + 4_000);
    expect(loop.episode.pausedSince).toBe(NOW + 2_000);
    expect(pausedIn(loop.episode, NOW + 5_000)).toBe(3_000);
    loop = afterPauseRead(withPause(loop, false), NOW + 7_000);
    expect(loop.episode).toMatchObject({ pausedMs: 5_000, pausedSince: undefined });
    loop = afterRoundEvent(loop, 'unsealed');
    const folded = afterSealStatus(loop, unsealed, NOW + 10_000);
    expect(folded.event).toEqual({ kind: 'unsealed', by: 'us', durationMs: 5_000 });
    expect(folded.loop.episode).toEqual(NO_EPISODE);
  });

  it('adds up two pauses, and one still on when the server is unsealed', () => {
    let loop = sealedAt(withPause(start(), false), NOW);
    loop = afterPauseRead(withPause(loop, true), NOW + 1_000);
    loop = afterPauseRead(withPause(loop, false), NOW + 2_000);
    loop = afterPauseRead(withPause(loop, true), NOW + 5_000);
    const folded = afterSealStatus(loop, unsealed, NOW + 9_000);
    // Unsealed by hand while paused: 9 s sealed, 1 + 4 s of it paused.
    expect(folded.event).toEqual({ kind: 'unsealed', by: 'someone-else', durationMs: 4_000 });
  });

  it('starts at the seal when the switch last read paused; not before the first read', () => {
    const paused = sealedAt(withPause(start(), true), NOW);
    expect(paused.episode.pausedSince).toBe(NOW);
    expect(sealedAt(start(), NOW).pause).toBe(INITIAL_PAUSE_SWITCH);
    expect(sealedAt(start(), NOW).episode.pausedSince).toBeUndefined();
    expect(afterSealStatus(paused, unsealed, NOW + 3_000).event).toMatchObject({ durationMs: 0 });
  });

  it('is not counted outside a sealed episode', () => {
    const loop = withPause(start(), true);
    expect(afterPauseRead(loop, NOW)).toBe(loop);
    const unpaused = withPause(sealedAt(loop, NOW), false);
    expect(afterPauseRead(unpaused, NOW + 1).episode.pausedMs).toBe(1);
    const still = sealedAt(withPause(start(), false), NOW);
    expect(afterPauseRead(still, NOW + 5)).toBe(still);
  });
});

describe('lastError is cleared once what it was about is over', () => {
  it('a failed check: by the next answered check, not by a 429', () => {
    const failed = withError(afterUnreachable(start(), NOW), ERROR, 'seal-status');
    expect(failed.lastError).toEqual(ERROR);
    const limited = afterRateLimited(failed, { now: NOW, wall: NOW, timing: TIMING });
    expect(limited.lastError).toEqual(ERROR);
    const answered = afterReachable(failed, NOW + 1);
    expect(answered.lastError).toBeNull();
    expect(answered.lastErrorSource).toBeUndefined();
  });

  it('a failed unseal request: by an answered one or the server unsealed, not by a check', () => {
    const failed = withError(start(), ERROR, 'unseal');
    expect(afterReachable(failed, NOW).lastError).toEqual(ERROR);
    expect(settleError(failed).lastError).toEqual(ERROR);
    expect(settleError(failed, 'unseal-answered').lastError).toBeNull();
    expect(settleError(failed, 'unsealed').lastError).toBeNull();
    const check = withError(start(), ERROR, 'seal-status');
    expect(settleError(check, 'unsealed').lastError).toBeNull();
    expect(settleError(check, 'unseal-answered').lastError).toEqual(ERROR);
  });

  it('a rejected key set: while it stands rejected, whatever else goes right', () => {
    const rejected = withError(start(), ERROR, 'key-set');
    const standing: LoopState = {
      ...rejected,
      memory: {
        ...rejected.memory,
        search: { ...rejected.memory.search, keySetRejected: true },
      },
    };
    for (const recovery of [undefined, 'status-answered', 'unseal-answered', 'unsealed'] as const) {
      expect(settleError(standing, recovery).lastError).toEqual(ERROR);
    }
    expect(settleError(rejected).lastError).toBeNull();
  });

  it('leaves a record with no error as it is', () => {
    const loop = start();
    expect(settleError(loop, 'unsealed')).toBe(loop);
  });
});

describe('the restart window and the count of failed checks', () => {
  it('opens at start and again when the connection is lost, never shortened', () => {
    expect(start().restartExpectedUntil).toBe(NOW + RESTART_GRACE_MS);
    const lost = afterConnectionLost(start(), NOW + 100_000).loop;
    expect(lost.restartExpectedUntil).toBe(NOW + 100_000 + RESTART_GRACE_MS);
    const later = { ...start(), restartExpectedUntil: NOW + 10 * RESTART_GRACE_MS };
    expect(afterConnectionLost(later, NOW).loop.restartExpectedUntil).toBe(
      NOW + 10 * RESTART_GRACE_MS,
    );
  });

  it('counts failed checks in a row; an answer, even a 429, ends the run', () => {
    const twice = afterUnreachable(afterUnreachable(start(), NOW), NOW);
    expect(twice.consecutiveFailures).toBe(2);
    expect(afterReachable(twice, NOW).consecutiveFailures).toBe(0);
    const limited = afterRateLimited(twice, { now: NOW, wall: NOW, timing: TIMING });
    expect(limited.consecutiveFailures).toBe(0);
  });
});
