// The check loop's record and its pure transitions (sidecar/loop-state.ts): what a seal status,
// a failed check or a dropped connection changes, without timers or a server.
import { describe, expect, it } from 'vitest';
import {
  afterConnectionLost,
  afterRateLimited,
  afterReachable,
  afterSealStatus,
  afterRoundEvent,
  afterUnreachable,
  CLOSE_CHECK_GAP_MS,
  CLOSE_COUNT_WINDOW_MS,
  FAST_CLOSES,
  FAST_POLL_MS,
  FAST_POLL_WINDOW_MS,
  initialLoopState,
  insufficientReportKey,
  isLive,
  isShamirSealed,
  nextDelay,
  NO_EPISODE,
  type LoopState,
} from '../../../sidecar/loop-state.js';
import { withRound, sealed, NOW } from './fixtures.js';

const TIMINGS = { intervalMs: 5_000, retryIntervalMs: 500, requestTimeoutMs: 1_000 };
const unsealed = sealed({ sealed: false });
const start = (): LoopState => initialLoopState(NOW);

describe('the record at start', () => {
  it('knows nothing yet, has reported nothing, and counts its beat from now', () => {
    expect(start()).toMatchObject({
      status: undefined,
      reachable: false,
      rateLimited: false,
      keysRead: false,
      state: 'starting',
      lastUnseal: null,
      lastError: null,
      insufficientReportedFor: '',
      lastBeat: NOW,
      episode: { sealedSince: undefined, completed: false },
      closeCheckDue: undefined,
      closes: { since: NOW, count: 0 },
    });
  });

  it('logs "insufficient keys" once per key files and threshold', () => {
    const keys = { ...start().keys, fingerprint: 'abc' };
    expect(insufficientReportKey(keys, 3)).toBe('abc|3');
  });
});

describe('the sealed episode', () => {
  it('starts when a Shamir-sealed status is first seen, once', () => {
    const first = afterSealStatus(start(), sealed(), NOW);
    expect(first.event).toEqual({ kind: 'sealed' });
    expect(first.loop.episode.sealedSince).toBe(NOW);
    expect(first.loop.status).toEqual(sealed());
    const again = afterSealStatus(first.loop, sealed({ progress: 1 }), NOW + 5);
    expect(again.event).toBeUndefined();
    expect(again.loop.episode.sealedSince).toBe(NOW);
  });

  it.each([
    // An auto-unseal seal: nothing for us to do, so no episode.
    ['a recovery seal', sealed({ recoverySeal: true })],
    // Sealed with t = 0: the server is in the middle of its own init.
    ['threshold 0', sealed({ threshold: 0 })],
    ['not initialised', sealed({ initialized: false })],
  ])('does not start with %s', (_name, status) => {
    expect(isShamirSealed(status)).toBe(false);
    const folded = afterSealStatus(start(), status, NOW);
    expect(folded.event).toBeUndefined();
    expect(folded.loop.episode.sealedSince).toBeUndefined();
  });

  it('ends with credit to us when a round of ours completed', () => {
    const sealedLoop = afterRoundEvent(afterSealStatus(start(), sealed(), NOW).loop, 'unsealed');
    const folded = afterSealStatus(sealedLoop, unsealed, NOW + 250);
    expect(folded.event).toEqual({ kind: 'unsealed', by: 'us', durationMs: 250 });
    expect(folded.loop.episode).toEqual(NO_EPISODE);
  });

  it.each([
    // Our last share was taken and a follower is joining: the unseal that follows is ours.
    ['awaiting-unseal', false, 'us'],
    // The same, in a round that held someone else's shares: not ours (issue 21, item 3).
    ['awaiting-unseal', true, 'someone-else'],
    // Shares of ours went in, but the round was not ours to complete (issue 21, item 2).
    ['progress', false, 'someone-else'],
    ['unsealed-by-others', false, 'someone-else'],
    ['rejected-foreign-round', false, 'someone-else'],
    ['unsealed', false, 'us'],
  ] as const)('after %s (foreign round: %s) credits %s', (event, foreign, by) => {
    const sealedLoop = afterSealStatus(start(), sealed(), NOW).loop;
    const inRound = { ...sealedLoop, memory: withRound({ foreign }) };
    const folded = afterSealStatus(afterRoundEvent(inRound, event), unsealed, NOW + 1);
    expect(folded.event).toEqual({ kind: 'unsealed', by, durationMs: 1 });
  });

  it('ends with credit to someone else when none of ours went in', () => {
    const sealedLoop = afterSealStatus(start(), sealed(), NOW).loop;
    const folded = afterSealStatus(sealedLoop, unsealed, NOW + 7);
    expect(folded.event).toEqual({ kind: 'unsealed', by: 'someone-else', durationMs: 7 });
  });

  it('says so when the server is found unsealed without a sealed episode', () => {
    expect(afterSealStatus(start(), unsealed, NOW).event).toEqual({ kind: 'found-unsealed' });
  });
});

describe('a check', () => {
  it('that fails forgets the server’s round and says it is unreachable', () => {
    const loop = { ...afterReachable(start(), NOW), memory: withRound({ nonce: 'n', counted: 2 }) };
    expect(loop.reachable).toBe(true);
    const failed = afterUnreachable(loop, NOW + 1);
    expect(failed.reachable).toBe(false);
    expect(failed.checkedAt).toBe(NOW + 1);
    expect(failed.memory.round.nonce).toBe('');
    expect(failed.memory.round.counted).toBe(0);
  });
});

describe('the next check', () => {
  const reachableWith = (status = unsealed): LoopState => ({
    ...afterReachable(start(), NOW),
    status,
  });

  it('comes after UNSEAL_INTERVAL while unsealed and reachable', () => {
    expect(nextDelay(reachableWith(), NOW, TIMINGS)).toBe(5_000);
  });

  it('comes after UNSEAL_RETRY_INTERVAL while sealed', () => {
    expect(nextDelay(reachableWith(sealed()), NOW, TIMINGS)).toBe(500);
  });

  it('comes every FAST_POLL_MS while a dropped server does not answer, for a window', () => {
    const lost = afterUnreachable(afterConnectionLost(reachableWith(), NOW).loop, NOW);
    expect(nextDelay(lost, NOW, TIMINGS)).toBe(FAST_POLL_MS);
    expect(nextDelay(lost, NOW + FAST_POLL_WINDOW_MS - 1, TIMINGS)).toBe(FAST_POLL_MS);
    expect(nextDelay(lost, NOW + FAST_POLL_WINDOW_MS, TIMINGS)).toBe(500);
    // Never slower than the retry interval itself.
    expect(nextDelay(lost, NOW, { ...TIMINGS, retryIntervalMs: 5 })).toBe(5);
  });
});

describe('a closed connection (issue 21, item 7)', () => {
  const answering = (): LoopState => ({ ...afterReachable(start(), NOW), status: unsealed });

  it('asks for a check at once the first time', () => {
    const lost = afterConnectionLost(answering(), NOW);
    expect(lost.checkInMs).toBe(0);
    expect(lost.loop.closeCheckDue).toBeUndefined();
    expect(lost.loop.fastPollUntil).toBe(NOW + FAST_POLL_WINDOW_MS);
  });

  it('while the server answers, starts at most one check a second', () => {
    const first = afterConnectionLost(answering(), NOW).loop;
    const checked = afterReachable(first, NOW + 5);
    const second = afterConnectionLost(checked, NOW + 25);
    expect(second.checkInMs).toBe(CLOSE_CHECK_GAP_MS - 25);
    expect(second.loop.closeCheckDue).toBe(NOW + CLOSE_CHECK_GAP_MS);
    // A third close before that check: the same check, not another.
    const third = afterConnectionLost(second.loop, NOW + 40);
    expect(third.checkInMs).toBe(CLOSE_CHECK_GAP_MS - 40);
    // The held-back check comes before UNSEAL_INTERVAL would.
    expect(nextDelay(third.loop, NOW + 40, TIMINGS)).toBe(CLOSE_CHECK_GAP_MS - 40);
    expect(nextDelay(third.loop, NOW + 2 * CLOSE_CHECK_GAP_MS, TIMINGS)).toBe(0);
    // Any check answers it.
    expect(afterReachable(third.loop, NOW + 50).closeCheckDue).toBeUndefined();
    expect(afterUnreachable(third.loop, NOW + 50).closeCheckDue).toBeUndefined();
    // The held-back check ran at NOW + 1 s: a close a second after it is checked at once again.
    const ran = afterReachable(third.loop, NOW + CLOSE_CHECK_GAP_MS);
    expect(afterConnectionLost(ran, NOW + CLOSE_CHECK_GAP_MS + 1).checkInMs).toBe(
      CLOSE_CHECK_GAP_MS - 1,
    );
    expect(afterConnectionLost(ran, NOW + 2 * CLOSE_CHECK_GAP_MS).checkInMs).toBe(0);
  });

  it('checks at once when the last check failed: a restarting server is fast-polled', () => {
    const first = afterConnectionLost(answering(), NOW).loop;
    const failed = afterUnreachable(first, NOW + 5);
    const lost = afterConnectionLost(failed, NOW + 10);
    expect(lost.checkInMs).toBe(0);
    expect(nextDelay(lost.loop, NOW + 10, TIMINGS)).toBe(FAST_POLL_MS);
  });

  it('says when closes come unusually fast, counted over a window', () => {
    let loop = answering();
    let fast: number | undefined;
    for (let i = 0; i < FAST_CLOSES; i++) {
      const lost = afterConnectionLost(loop, NOW + i);
      loop = lost.loop;
      fast = lost.fastCloses;
    }
    expect(fast).toBeUndefined();
    const over = afterConnectionLost(loop, NOW + FAST_CLOSES);
    expect(over.fastCloses).toBe(FAST_CLOSES + 1);
    // A new window starts the count again.
    const next = afterConnectionLost(over.loop, NOW + CLOSE_COUNT_WINDOW_MS);
    expect(next.fastCloses).toBeUndefined();
    expect(next.loop.closes).toEqual({ since: NOW + CLOSE_COUNT_WINDOW_MS, count: 1 });
  });
});

describe('a 429 answer to the check (issue 21, item 14)', () => {
  const BACKOFF = { baseMs: 1_000, maxMs: 60_000 };
  const limited = (): LoopState => {
    const inRound = { ...start(), memory: withRound({ nonce: 'n', counted: 1 }) };
    return afterRateLimited(inRound, { now: NOW, wall: 42, timing: BACKOFF });
  };

  it('is an answer: reachable, the round kept, and a back-off', () => {
    const loop = limited();
    expect(loop).toMatchObject({ reachable: true, rateLimited: true, checkedAt: 42 });
    expect(loop.memory.round.nonce).toBe('n');
    expect(loop.memory.backoff).toMatchObject({ reason: 'errors', errors: 1, until: NOW + 1_000 });
    const again = afterRateLimited(loop, { now: NOW + 1_000, wall: 43, timing: BACKOFF });
    expect(again.memory.backoff.until).toBe(NOW + 3_000);
  });

  it('holds the next check until the back-off has passed, a closed connection too', () => {
    const loop = limited();
    expect(nextDelay(loop, NOW, TIMINGS)).toBe(1_000);
    expect(nextDelay(loop, NOW + 900, TIMINGS)).toBe(TIMINGS.retryIntervalMs);
    expect(afterConnectionLost(loop, NOW + 10).checkInMs).toBe(990);
    // An answer ends it.
    expect(afterReachable(loop, NOW).rateLimited).toBe(false);
    expect(afterUnreachable(loop, NOW).rateLimited).toBe(false);
  });
});

describe('liveness', () => {
  it('holds for three of the longest waits after the last beat, and no longer', () => {
    const loop = start();
    expect(isLive(loop, NOW + 15_000, TIMINGS)).toBe(true);
    expect(isLive(loop, NOW + 15_001, TIMINGS)).toBe(false);
    expect(isLive(loop, NOW + 15_001, { ...TIMINGS, requestTimeoutMs: 6_000 })).toBe(true);
  });

  it('counts from the next check when one is due later: a chosen wait is not a stall', () => {
    const loop = start();
    // A back-off of 60 s after 429 answers: the timer is due at NOW + 60 s.
    expect(isLive(loop, NOW + 59_000, TIMINGS, NOW + 60_000)).toBe(true);
    expect(isLive(loop, NOW + 75_000, TIMINGS, NOW + 60_000)).toBe(true);
    // The timer should have fired 15 s ago and no beat came: stalled.
    expect(isLive(loop, NOW + 75_001, TIMINGS, NOW + 60_000)).toBe(false);
    // A timer due before the last beat changes nothing.
    expect(isLive(loop, NOW + 15_001, TIMINGS, NOW - 1_000)).toBe(false);
  });
});
