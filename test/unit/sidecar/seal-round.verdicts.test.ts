// Which verdicts a round may give (issue 21, items 2, 3 and 12): a round that reaches the threshold
// while fewer than t of our shares counted in it holds someone else's, however stale the progress
// we last saw; such a round gives no rejection verdict, no success and no suspects. A rejected key
// set stays rejected until the key files change or our own shares unseal the server. And a round
// position holds one share: progress without a nonce never makes us send the same share again.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  afterSubmit,
  decide,
  FRESH_ROUND,
  INITIAL_MEMORY,
  reconcile,
  withKeySet,
  type Memory,
  type SealStatus,
  type Sent,
  type UnsealAnswer,
} from '../../../sidecar/seal-round.js';
import { NOW, sealed, share, SHARES, TIMING, withRound } from './fixtures.js';

const KEYS = SHARES.slice(0, 3);
const fold = (memory: Memory, sent: Partial<Sent>, answer: UnsealAnswer) =>
  afterSubmit(
    memory,
    { share: KEYS[1]!, progressBefore: 1, threshold: 3, shares: KEYS, ...sent },
    answer,
    { now: NOW, timing: TIMING },
  );

/** One of our shares counted in round `n`, as our own previous answer said (progress 1). */
const oneOfOurs = (): Memory => withRound({ nonce: 'n', submitted: [KEYS[0]!.hex], counted: 1 });

describe('a second submitter’s share between two of our answers (issue 21, item 3)', () => {
  it('makes a failure at the threshold someone else’s: no verdict, no back-off', () => {
    // Ours: s0 (progress 1). Theirs, a wrong share: progress 2. Ours: s1, the server is at t and
    // fails. Our last answer said 1, so only the count of our shares tells.
    const { memory, event } = fold(oneOfOurs(), { progressBefore: 1 }, { kind: 'rejected' });
    expect(event).toBe('rejected-foreign-round');
    expect(memory.backoff.until).toBe(0);
    expect(memory.search.rejected).toEqual([]);
    expect(memory.search.keySetRejected).toBe(false);
  });

  it('makes an unsealed answer someone else’s: no success, no suspects', () => {
    const suspecting: Memory = {
      ...oneOfOurs(),
      search: { ...oneOfOurs().search, rejected: [[0, 1, 2]], suspects: [] },
    };
    const { memory, event } = fold(
      suspecting,
      { progressBefore: 1 },
      { kind: 'status', status: sealed({ sealed: false }) },
    );
    expect(event).toBe('unsealed-by-others');
    expect(memory.search.suspects).toEqual([]);
    expect(memory.search.rejected).toEqual([[0, 1, 2]]);
    expect(memory.round).toEqual(FRESH_ROUND);
  });

  it('still lets t shares of ours give a verdict, and an unseal', () => {
    const two = withRound({ nonce: 'n', submitted: [KEYS[0]!.hex, KEYS[1]!.hex], counted: 2 });
    const sent = { share: KEYS[2]!, progressBefore: 2 };
    expect(fold(two, sent, { kind: 'rejected' }).event).toBe('key-set-rejected');
    expect(fold(two, sent, { kind: 'status', status: sealed({ sealed: false }) }).event).toBe(
      'unsealed',
    );
  });

  it('counts only our share in a round that began under us (another nonce)', () => {
    // Our previous answer was round n at progress 2 (both ours); someone finished or reset it, and
    // our share went into round m, which holds another share already.
    const two = withRound({ nonce: 'n', submitted: [KEYS[0]!.hex, KEYS[1]!.hex], counted: 2 });
    const { memory, event } = fold(
      two,
      { share: KEYS[2]!, progressBefore: 2 },
      { kind: 'status', status: sealed({ progress: 2, nonce: 'm' }) },
    );
    expect(event).toBe('progress');
    expect(memory.round).toMatchObject({
      nonce: 'm',
      submitted: [KEYS[2]!.hex],
      counted: 1,
      foreign: true,
    });
    // Whatever round m then does, it is not ours to judge.
    const last = fold(
      memory,
      { share: share(9), progressBefore: 2 },
      { kind: 'status', status: sealed({ sealed: false }) },
    );
    expect(last.event).toBe('unsealed-by-others');
  });

  it('counts our share alone in a new round that only it opened', () => {
    const two = withRound({ nonce: 'n', submitted: [KEYS[0]!.hex], counted: 1 });
    const { memory } = fold(
      two,
      { share: KEYS[1]!, progressBefore: 1 },
      { kind: 'status', status: sealed({ progress: 1, nonce: 'm' }) },
    );
    expect(memory.round).toMatchObject({ nonce: 'm', counted: 1, foreign: false });
  });

  it('a follower joining after a round that held someone else’s share is not our unseal', () => {
    const { memory, event } = fold(
      oneOfOurs(),
      { progressBefore: 2 },
      { kind: 'status', status: sealed() },
    );
    expect(event).toBe('awaiting-unseal');
    expect(memory.round.foreign).toBe(true);
  });
});

describe('a rejected key set (issue 21, item 2)', () => {
  const rejected = (): Memory => {
    let memory = withKeySet(INITIAL_MEMORY, KEYS.map((s) => s.hex).join(','));
    memory = withRound({ nonce: 'n', submitted: [KEYS[0]!.hex, KEYS[1]!.hex], counted: 2 });
    memory = { ...memory, search: { ...memory.search, keySet: 'k' } };
    return fold(memory, { share: KEYS[2]!, progressBefore: 2 }, { kind: 'rejected' }).memory;
  };

  it('is the verdict when every candidate set failed', () => {
    expect(rejected().search.keySetRejected).toBe(true);
    expect(rejected().backoff.reason).toBe('wrong-keys');
  });

  it('outlasts its back-off: trying again does not clear it', () => {
    const later = reconcile(rejected(), sealed(), rejected().backoff.until);
    expect(later.memory.search.exhausted).toBe(false);
    expect(later.memory.search.keySetRejected).toBe(true);
  });

  it('outlasts an unseal by someone else, back-off and all', () => {
    const memory = rejected();
    const seen = reconcile(memory, sealed({ sealed: false }), NOW + 1).memory;
    expect(seen.search.keySetRejected).toBe(true);
    expect(seen.backoff).toEqual(memory.backoff);
    const answered = fold(
      { ...memory, round: { ...FRESH_ROUND } },
      { share: KEYS[0]!, progressBefore: 0 },
      { kind: 'status', status: sealed({ sealed: false }) },
    );
    expect(answered.event).toBe('unsealed-by-others');
    expect(answered.memory.search.keySetRejected).toBe(true);
    expect(answered.memory.backoff).toEqual(memory.backoff);
  });

  it('is cleared by our own unseal', () => {
    const memory = {
      ...rejected(),
      round: { ...FRESH_ROUND, nonce: 'n', submitted: [KEYS[0]!.hex, KEYS[1]!.hex], counted: 2 },
    };
    const answered = fold(
      memory,
      { share: KEYS[2]!, progressBefore: 2 },
      { kind: 'status', status: sealed({ sealed: false }) },
    );
    expect(answered.event).toBe('unsealed');
    expect(answered.memory.search.keySetRejected).toBe(false);
    expect(answered.memory.backoff.until).toBe(0);
  });

  it('is cleared by new key files', () => {
    expect(withKeySet(rejected(), 'new').search.keySetRejected).toBe(false);
  });
});

describe('progress without a nonce (issue 21, item 12)', () => {
  /** A server that answers every share with progress 1 and no nonce, for ever. */
  const hostile = (progress: number): SealStatus => sealed({ progress, nonce: '' });

  it('keeps our round, so the next share is another one', () => {
    const mine = withRound({ submitted: [KEYS[0]!.hex], counted: 1 });
    expect(reconcile(mine, hostile(1), NOW).memory.round).toEqual(mine.round);
    const situation = { status: hostile(1), shares: KEYS, paused: false, memory: mine, now: NOW };
    expect(decide(situation)).toEqual({ kind: 'submit', share: KEYS[1] });
  });

  it('never gets the same share twice before the round is cleared, whatever progress it shows', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 2 }), { minLength: 1, maxLength: 20 }),
        (ps) => {
          let memory = withKeySet(INITIAL_MEMORY, SHARES.map((s) => s.hex).join(','));
          let status = hostile(ps[0]!);
          const sent: string[] = [];
          for (const progress of ps) {
            memory = reconcile(memory, status, NOW).memory;
            const action = decide({ status, shares: SHARES, paused: false, memory, now: NOW });
            if (action.kind !== 'submit') break;
            sent.push(action.share.hex);
            const answer = { kind: 'status' as const, status: hostile(progress) };
            memory = afterSubmit(
              memory,
              {
                share: action.share,
                progressBefore: status.progress,
                threshold: 5,
                shares: SHARES,
              },
              answer,
              { now: NOW, timing: TIMING },
            ).memory;
            status = answer.status;
          }
          expect(new Set(sent).size).toBe(sent.length);
        },
      ),
    );
  });
});
