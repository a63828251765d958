// The check loop's record and its pure transitions (sidecar/loop-state.ts): what a seal status,
// a failed check or a dropped connection changes, without timers or a server.
import { describe, expect, it } from 'vitest';
import {
  afterConnectionLost,
  afterReachable,
  afterSealStatus,
  afterSubmitting,
  afterUnreachable,
  FAST_POLL_MS,
  FAST_POLL_WINDOW_MS,
  initialLoopState,
  isLive,
  isShamirSealed,
  nextDelay,
  type LoopState,
} from '../../../sidecar/loop-state.js';
import { withRound, sealed, NOW } from './fixtures.js';

const TIMINGS = { intervalMs: 5_000, retryIntervalMs: 500, requestTimeoutMs: 1_000 };
const unsealed = sealed({ sealed: false });
const start = (): LoopState => initialLoopState(NOW);

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

  it('ends with credit to us when our shares went in', () => {
    const sealedLoop = afterSubmitting(afterSealStatus(start(), sealed(), NOW).loop);
    const folded = afterSealStatus(sealedLoop, unsealed, NOW + 250);
    expect(folded.event).toEqual({ kind: 'unsealed', by: 'us', durationMs: 250 });
    expect(folded.loop.episode).toEqual({ sealedSince: undefined, submitted: false });
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
    const lost = afterUnreachable(afterConnectionLost(reachableWith(), NOW), NOW);
    expect(nextDelay(lost, NOW, TIMINGS)).toBe(FAST_POLL_MS);
    expect(nextDelay(lost, NOW + FAST_POLL_WINDOW_MS - 1, TIMINGS)).toBe(FAST_POLL_MS);
    expect(nextDelay(lost, NOW + FAST_POLL_WINDOW_MS, TIMINGS)).toBe(500);
    // Never slower than the retry interval itself.
    expect(nextDelay(lost, NOW, { ...TIMINGS, retryIntervalMs: 5 })).toBe(5);
  });
});

describe('liveness', () => {
  it('holds for three of the longest waits after the last beat, and no longer', () => {
    const loop = start();
    expect(isLive(loop, NOW + 15_000, TIMINGS)).toBe(true);
    expect(isLive(loop, NOW + 15_001, TIMINGS)).toBe(false);
    expect(isLive(loop, NOW + 15_001, { ...TIMINGS, requestTimeoutMs: 6_000 })).toBe(true);
  });
});
