// Found by the chaos runs (docs/chaos.md): on a raft cluster, a node that was down or sealed during
// a rekey still needs the shares of before it; it only learns of the rekey once unsealed. The
// operator keeps the old shares in a second key directory, and the search must reach them: sets
// within each directory come before sets that mix directories.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  afterSubmit,
  candidateCount,
  candidateSet,
  decide,
  groupSizes,
  INITIAL_MEMORY,
  MAX_CANDIDATE_SETS,
  reconcile,
  withKeySet,
  type Memory,
  type UnsealAnswer,
} from '../../../sidecar/seal-round.js';
import { sealed, share, TIMING } from './fixtures.js';

/** A server that unseals only with t shares all from `good`; returns how many rounds it took. */
function roundsToUnseal(
  shares: readonly { hex: string; group?: number }[],
  good: ReadonlySet<string>,
  t = 3,
): number | undefined {
  let status = sealed({ threshold: t });
  let memory: Memory = withKeySet(INITIAL_MEMORY, 'keys');
  let round: string[] = [];
  let rounds = 0;
  for (let tick = 0; tick < 1_000; tick++) {
    memory = reconcile(memory, status, 0).memory;
    const action = decide({ status, shares, paused: false, memory, now: 0 });
    if (action.kind !== 'submit') return status.sealed ? undefined : rounds;
    const progressBefore = status.progress;
    round.push(action.share.hex);
    let answer: UnsealAnswer;
    if (round.length < t) {
      status = sealed({ threshold: t, progress: round.length, nonce: `round-${rounds}` });
      answer = { kind: 'status', status };
    } else {
      rounds += 1;
      const ok = round.every((hex) => good.has(hex));
      round = [];
      status = sealed({ threshold: t, sealed: !ok });
      answer = ok ? { kind: 'status', status } : { kind: 'rejected' };
    }
    memory = afterSubmit(
      memory,
      { share: action.share, progressBefore, threshold: t, shares },
      answer,
      { now: 0, timing: TIMING },
    ).memory;
  }
  return undefined;
}

describe('candidate sets across key directories', () => {
  const fresh = [1, 2, 3, 4, 5].map((n) => share(n, 0));
  const previous = [11, 12, 13, 14, 15].map((n) => share(n, 1));
  const both = [...fresh, ...previous];

  it('a node that missed the rekey unseals with the previous directory, after the sets of the first', () => {
    const rounds = roundsToUnseal(both, new Set(previous.map((s) => s.hex)));
    // The 10 sets within the new directory are rejected, then the first set of the old one works.
    expect(rounds).toBe(11);
  });

  it('a node that saw the rekey unseals at once with the new directory', () => {
    expect(roundsToUnseal(both, new Set(fresh.map((s) => s.hex)))).toBe(1);
  });

  it('without directories, the old shares beside the new ones lie beyond the bound (the rule that was wrong)', () => {
    const flat = both.map(({ hex }) => ({ hex }));
    expect(roundsToUnseal(flat, new Set(previous.map((s) => s.hex)))).toBeUndefined();
  });

  it('orders the sets of each directory first, then the mixed ones, never one twice', () => {
    const groups = [5, 5];
    const sets = Array.from({ length: MAX_CANDIDATE_SETS }, (_, i) =>
      candidateSet(10, 3, i, groups),
    );
    expect(sets.slice(0, 10).every((set) => set!.every((i) => i < 5))).toBe(true);
    expect(sets.slice(10, 20).every((set) => set!.every((i) => i >= 5))).toBe(true);
    expect(sets.slice(20).every((set) => set!.some((i) => i < 5) && set!.some((i) => i >= 5))).toBe(
      true,
    );
    expect(new Set(sets.map((set) => set!.join(','))).size).toBe(MAX_CANDIDATE_SETS);
  });

  it('one directory gives plain colex order, as before', () => {
    for (let i = 0; i < candidateCount(6, 3); i++) {
      expect(candidateSet(6, 3, i, [6])).toEqual(candidateSet(6, 3, i));
    }
    expect(candidateSet(5, 3, 0)).toEqual([0, 1, 2]);
    expect(candidateSet(5, 3, 4)).toEqual([0, 1, 4]);
  });

  it('for any directory sizes: every candidate is a sorted t-set in range, each at most once', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 4 }),
        (groups, t) => {
          const n = groups.reduce((a, b) => a + b, 0);
          fc.pre(t <= n);
          const seen = new Set<string>();
          for (let i = 0; i < candidateCount(n, t); i++) {
            const set = candidateSet(n, t, i, groups);
            expect(set).toHaveLength(t);
            expect([...set!].sort((a, b) => a - b)).toEqual(set);
            expect(set!.every((x) => x >= 0 && x < n)).toBe(true);
            seen.add(set!.join(','));
          }
          expect(seen.size).toBe(candidateCount(n, t));
          expect(candidateSet(n, t, candidateCount(n, t), groups)).toBeUndefined();
        },
      ),
    );
  });

  it('reads the directory sizes from the shares, in order', () => {
    expect(groupSizes(both)).toEqual([5, 5]);
    expect(groupSizes([{ hex: 'a' }, { hex: 'b' }])).toEqual([2]);
    expect(groupSizes([])).toEqual([]);
    expect(groupSizes([share(1, 0), share(2, 2), share(3, 2)])).toEqual([1, 2]);
  });
});
