// Edges of the round engine that the main specification (seal-round.test.ts) does not walk: a
// server in the middle of its own init, guards of the candidate search, and the back-off reason
// once request errors stop.
import { describe, expect, it } from 'vitest';
import {
  afterSubmit,
  candidateSet,
  combinations,
  decide,
  FRESH_ROUND,
  INITIAL_MEMORY,
  reconcile,
  type Memory,
} from '../../../sidecar/seal-round.js';
import { sealed, share, TIMING } from './fixtures.js';

const SHARES = [share(1), share(2), share(3)];

describe('combinations', () => {
  it.each([
    // [n, k]: no way to pick more shares than there are, or a negative number of them.
    [3, 4],
    [3, -1],
    [0, 1],
  ])('C(%d, %d) is 0', (n, k) => {
    expect(combinations(n, k)).toBe(0);
  });
});

describe('candidateSet', () => {
  it.each([
    // [shares, threshold, index]
    [3, 0, 0], // t = 0: the server is not initialised, there is no set to try
    [3, 4, 0], // fewer shares than the threshold
    [5, 3, -1], // no candidate before the first
    [5, 3, 10], // C(5, 3) = 10 candidates: indices 0–9
  ])('has no set for %d shares, t = %d, index %d', (shares, threshold, index) => {
    expect(candidateSet(shares, threshold, index)).toBeUndefined();
  });
});

describe('when the server is sealed with a threshold of 0 (its own init is under way)', () => {
  it('waits as for an uninitialised server and submits nothing', () => {
    const action = decide({
      status: sealed({ threshold: 0, shares: 0 }),
      shares: SHARES,
      paused: false,
      memory: INITIAL_MEMORY,
      now: 0,
    });
    expect(action).toEqual({ kind: 'idle', reason: 'not-initialized' });
  });
});

describe('when the server says it is not initialised', () => {
  it('forgets the round we were in (its nonce means nothing any more), keeping the search', () => {
    const memory: Memory = {
      ...INITIAL_MEMORY,
      round: { ...FRESH_ROUND, nonce: 'n-1', submitted: [SHARES[0]!.hex], counted: 1 },
      search: { ...INITIAL_MEMORY.search, keySet: 'k', candidate: 2 },
    };
    const { memory: next, event } = reconcile(memory, sealed({ initialized: false }), 0);
    expect(next.round).toEqual(FRESH_ROUND);
    expect(next.search).toBe(memory.search);
    expect(event).toBeUndefined();
  });
});

describe('a good answer after failed requests', () => {
  const erring = (rejections: number): Memory => ({
    ...INITIAL_MEMORY,
    backoff: { reason: 'errors', rejections, errors: 3, until: 50_000 },
  });
  const sent = { share: SHARES[0]!, progressBefore: 0, threshold: 3, shares: SHARES };
  const answer = { kind: 'status', status: sealed({ progress: 1, nonce: 'n-1' }) } as const;

  it('clears the error count and the reason when no key set was rejected', () => {
    const { memory, event } = afterSubmit(erring(0), sent, answer, { now: 10_000, timing: TIMING });
    expect(event).toBe('progress');
    expect(memory.backoff).toEqual({ reason: undefined, rejections: 0, errors: 0, until: 50_000 });
  });

  it('goes back to "wrong keys" when the key set had been rejected before the errors', () => {
    const { memory } = afterSubmit(erring(2), sent, answer, { now: 10_000, timing: TIMING });
    expect(memory.backoff).toEqual({
      reason: 'wrong-keys',
      rejections: 2,
      errors: 0,
      until: 50_000,
    });
  });
});
