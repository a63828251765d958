import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  afterFailedRequest,
  afterSubmit,
  AWAIT_UNSEAL_MS,
  backoffDelay,
  candidateCount,
  candidateSet,
  combinations,
  decide,
  FRESH_ROUND,
  INITIAL_MEMORY,
  isKeySetRejection,
  MAX_CANDIDATE_SETS,
  reconcile,
  withKeySet,
  type Memory,
  type RoundEvent,
  type SealStatus,
  type UnsealAnswer,
} from '../../../sidecar/seal-round.js';
import { sealed, share, SHARES, situation, TIMING, withRound } from './fixtures.js';

/**
 * A pure model of one node's unseal protocol (vault-api.md): progress and nonce shared by every
 * client, duplicates silent, nothing checked before the threshold, the round discarded at it.
 */
class ModelServer {
  status: SealStatus;
  private round: string[] = [];
  submissions = 0;
  constructor(
    private readonly good: ReadonlySet<string>,
    threshold = 3,
  ) {
    this.status = sealed({ threshold });
  }
  submit(hex: string): UnsealAnswer {
    this.submissions += 1;
    if (!this.round.includes(hex)) this.round.push(hex);
    const t = this.status.threshold;
    if (this.round.length < t) {
      this.status = sealed({ threshold: t, progress: this.round.length, nonce: 'round-1' });
      return { kind: 'status', status: this.status };
    }
    const ok = this.round.every((h) => this.good.has(h));
    this.round = [];
    this.status = sealed({ threshold: t, sealed: !ok });
    return ok ? { kind: 'status', status: this.status } : { kind: 'rejected' };
  }
}

/** Drives the engine against the model for at most `ticks` decisions; returns what happened. */
function drive(
  server: ModelServer,
  shares: readonly { hex: string }[],
  ticks = 200,
  start: Memory = INITIAL_MEMORY,
): { memory: Memory; events: RoundEvent[]; blockedAt: number | undefined } {
  let memory = withKeySet(start, shares.map((s) => s.hex).join(','));
  const events: RoundEvent[] = [];
  const now = 1_000_000;
  for (let i = 0; i < ticks; i++) {
    memory = reconcile(memory, server.status, now).memory;
    const action = decide({ status: server.status, shares, paused: false, memory, now });
    if (action.kind !== 'submit') return { memory, events, blockedAt: i };
    const progressBefore = server.status.progress;
    const answer = server.submit(action.share.hex);
    const folded = afterSubmit(
      memory,
      { share: action.share, progressBefore, threshold: server.status.threshold, shares },
      answer,
      { now: now, timing: TIMING },
    );
    memory = folded.memory;
    events.push(folded.event);
  }
  return { memory, events, blockedAt: undefined };
}

describe('decide', () => {
  it.each([
    // Not initialised (or a raft follower that has not joined): wait, never initialise.
    [
      'not initialised',
      situation({ status: sealed({ initialized: false, threshold: 0 }) }),
      { kind: 'idle', reason: 'not-initialized' },
    ],
    // An auto-unseal server reports recovery keys in t/n: hands off.
    [
      'recovery seal',
      situation({ status: sealed({ recoverySeal: true }) }),
      { kind: 'blocked', reason: 'recovery-seal' },
    ],
    [
      'unsealed',
      situation({ status: sealed({ sealed: false }) }),
      { kind: 'idle', reason: 'unsealed' },
    ],
    ['paused', situation({ paused: true }), { kind: 'blocked', reason: 'paused' }],
    // Two distinct shares for t = 3: submit nothing rather than leave a half round behind.
    [
      'fewer than t shares',
      situation({ shares: SHARES.slice(0, 2) }),
      { kind: 'blocked', reason: 'insufficient-keys' },
    ],
    [
      'backing off after a rejected key set',
      situation({
        memory: {
          ...INITIAL_MEMORY,
          backoff: { reason: 'wrong-keys', rejections: 1, errors: 0, until: 1_000_001 },
        },
      }),
      { kind: 'blocked', reason: 'wrong-keys' },
    ],
    [
      'backing off after failed requests',
      situation({
        memory: {
          ...INITIAL_MEMORY,
          backoff: { reason: 'errors', rejections: 0, errors: 2, until: 1_000_001 },
        },
      }),
      { kind: 'blocked', reason: 'backing-off' },
    ],
    [
      'awaiting a follower',
      situation({ memory: withRound({ awaitingSince: 999_000 }) }),
      { kind: 'await-unseal' },
    ],
    ['a clean round', situation(), { kind: 'submit', share: SHARES[0] }],
  ])('when %s', (_name, input, expected) => {
    expect(decide(input)).toEqual(expected);
  });

  it('skips shares already sent in this round', () => {
    const memory = withRound({ nonce: 'n1', submitted: [SHARES[0]!.hex], counted: 1 });
    expect(decide(situation({ memory, status: sealed({ progress: 1, nonce: 'n1' }) }))).toEqual({
      kind: 'submit',
      share: SHARES[1],
    });
  });

  it('resets a round that every share we hold is already in', () => {
    const memory = withRound({ nonce: 'n1', submitted: SHARES.slice(0, 3).map((s) => s.hex) });
    expect(decide(situation({ memory, status: sealed({ progress: 2, nonce: 'n1' }) }))).toEqual({
      kind: 'reset',
    });
  });

  it('offers the current candidate set first', () => {
    const memory: Memory = {
      ...INITIAL_MEMORY,
      search: { ...INITIAL_MEMORY.search, candidate: 3 },
    };
    // Candidate 3 in colex order is {1, 2, 3}.
    expect(decide(situation({ shares: SHARES, memory }))).toEqual({
      kind: 'submit',
      share: SHARES[1],
    });
  });
});

describe('candidate sets', () => {
  it('come in colex order: every set within the first m shares before any that uses share m', () => {
    const sets = Array.from({ length: 10 }, (_, i) => candidateSet(5, 3, i));
    expect(sets).toEqual([
      [0, 1, 2],
      [0, 1, 3],
      [0, 2, 3],
      [1, 2, 3],
      [0, 1, 4],
      [0, 2, 4],
      [1, 2, 4],
      [0, 3, 4],
      [1, 3, 4],
      [2, 3, 4],
    ]);
    expect(candidateSet(5, 3, 10)).toBeUndefined();
  });

  it('are distinct, of size t, and bounded', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), (n, t) => {
        fc.pre(t <= n);
        const count = candidateCount(n, t);
        expect(count).toBeLessThanOrEqual(MAX_CANDIDATE_SETS);
        const seen = new Set<string>();
        for (let i = 0; i < count; i++) {
          const set = candidateSet(n, t, i)!;
          expect(set).toHaveLength(t);
          expect(new Set(set).size).toBe(t);
          expect(set.every((x) => x >= 0 && x < n)).toBe(true);
          seen.add(set.join());
        }
        expect(seen.size).toBe(count);
      }),
    );
  });
});

describe('one stale share among enough good ones', () => {
  // A share of another cluster sorts first, then 4 good ones; t = 3 (issue 9, item 1).
  const stale = share(0xdead);
  const keys = [stale, ...SHARES.slice(0, 4)];

  it('finds a working set, and names the stale share as suspect', () => {
    const server = new ModelServer(new Set(SHARES.map((s) => s.hex)));
    const { memory, events } = drive(server, keys);
    expect(server.status.sealed).toBe(false);
    expect(events.at(-1)).toBe('unsealed');
    expect(events.filter((e) => e === 'candidate-rejected')).toHaveLength(3);
    expect(events).not.toContain('key-set-rejected');
    expect(memory.search.suspects).toEqual([stale.hex]);
  });

  it('starts the next restart with the set that worked', () => {
    const good = new Set(SHARES.map((s) => s.hex));
    const first = drive(new ModelServer(good), keys);
    const again = new ModelServer(good);
    const { events } = drive(again, keys, 200, first.memory);
    expect(events).toEqual(['progress', 'progress', 'unsealed']);
  });

  it.each([
    // Wherever the stale share sorts, a working set is found within t + 1 rounds.
    [0],
    [1],
    [2],
    [3],
    [4],
  ])('with the stale share at position %i', (position) => {
    const order = [...SHARES.slice(0, 4)];
    order.splice(position, 0, stale);
    const server = new ModelServer(new Set(SHARES.map((s) => s.hex)));
    const { events } = drive(server, order);
    expect(server.status.sealed).toBe(false);
    expect(events.filter((e) => e === 'candidate-rejected').length).toBeLessThanOrEqual(3);
  });
});

describe('two or more bad shares', () => {
  it('terminates: every candidate is tried once, then the key set is rejected and backed off', () => {
    const keys = [share(0xbad1), share(0xbad2), share(0xbad3), ...SHARES.slice(0, 2)];
    const server = new ModelServer(new Set(SHARES.map((s) => s.hex)));
    const { memory, events, blockedAt } = drive(server, keys, 1_000);
    expect(blockedAt).toBeDefined();
    expect(server.status.sealed).toBe(true);
    expect(events.filter((e) => e === 'candidate-rejected')).toHaveLength(9);
    expect(events.at(-1)).toBe('key-set-rejected');
    expect(memory.search.exhausted).toBe(true);
    expect(memory.backoff).toMatchObject({ reason: 'wrong-keys', rejections: 1 });
    expect(server.submissions).toBe(10 * 3);
  });

  it('still finds the one working set when it is the last candidate', () => {
    const keys = [share(0xbad1), share(0xbad2), ...SHARES.slice(0, 3)];
    const server = new ModelServer(new Set(SHARES.map((s) => s.hex)));
    drive(server, keys, 1_000);
    expect(server.status.sealed).toBe(false);
  });
});

describe('a stranger’s partial round', () => {
  it('at t − 1 fails on our first share: not a rejection of our key set, no back-off', () => {
    // Someone submitted 2 shares of another cluster by hand (issue 9, item 2).
    const { memory, event } = afterSubmit(
      INITIAL_MEMORY,
      { share: SHARES[0]!, progressBefore: 2, threshold: 3, shares: SHARES },
      { kind: 'rejected' },
      { now: 5, timing: TIMING },
    );
    expect(event).toBe('rejected-foreign-round');
    expect(memory.backoff.until).toBe(0);
    expect(memory.search.rejected).toEqual([]);
  });

  it('is completed by our shares when theirs were right, and the unseal is not ours', () => {
    const server = new ModelServer(new Set(SHARES.map((s) => s.hex)));
    server.submit(SHARES[4]!.hex);
    const { events } = drive(server, SHARES.slice(0, 3));
    // Two of ours in a round of three: it does not show that our key set unseals (issue 21, 3).
    expect(events).toEqual(['progress', 'unsealed-by-others']);
  });

  it('is followed at once by a clean round of ours when theirs were wrong', () => {
    const server = new ModelServer(new Set(SHARES.map((s) => s.hex)));
    server.submit(share(0xf00).hex);
    server.submit(share(0xf01).hex);
    const { events } = drive(server, SHARES.slice(0, 3));
    expect(events).toEqual(['rejected-foreign-round', 'progress', 'progress', 'unsealed']);
  });

  it('notices shares submitted alongside ours: progress jumped by more than one', () => {
    const memory = withRound({ nonce: 'n', submitted: [SHARES[0]!.hex], counted: 1 });
    const folded = afterSubmit(
      memory,
      { share: SHARES[1]!, progressBefore: 1, threshold: 5, shares: SHARES },
      { kind: 'status', status: sealed({ threshold: 5, progress: 3, nonce: 'n' }) },
      { now: 5, timing: TIMING },
    );
    expect(folded.memory.round.foreign).toBe(true);
  });
});

describe('failures other than a rejection', () => {
  const sent = { share: SHARES[0]!, progressBefore: 0, threshold: 3, shares: SHARES };

  it('back off, doubling, whatever their kind (issue 9, item 3)', () => {
    let memory = INITIAL_MEMORY;
    const untils: number[] = [];
    for (let i = 0; i < 4; i++) {
      memory = afterSubmit(
        memory,
        sent,
        { kind: 'error', wasLastShare: false },
        { now: 0, timing: TIMING },
      ).memory;
      untils.push(memory.backoff.until);
    }
    expect(untils).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(decide(situation({ memory, now: 7_999 }))).toEqual({
      kind: 'blocked',
      reason: 'backing-off',
    });
  });

  it('a 500 on the last share is an error, not "accepted but stayed sealed"', () => {
    const { memory, event } = afterSubmit(
      INITIAL_MEMORY,
      { ...sent, progressBefore: 2 },
      { kind: 'error', wasLastShare: true, timedOut: false },
      { now: 5, timing: TIMING },
    );
    expect(event).toBe('error');
    expect(memory.round.awaitingSince).toBeUndefined();
    expect(memory.backoff.until).toBeGreaterThan(5);
  });

  it('a timeout on the last share may be a follower joining: wait, do not resubmit', () => {
    const { memory, event } = afterSubmit(
      INITIAL_MEMORY,
      { ...sent, progressBefore: 2 },
      { kind: 'error', wasLastShare: true, timedOut: true },
      { now: 5, timing: TIMING },
    );
    expect(event).toBe('awaiting-unseal');
    expect(memory.round.awaitingSince).toBe(5);
  });

  it('a failed reset backs off too', () => {
    expect(afterFailedRequest(INITIAL_MEMORY, { now: 10, timing: TIMING }).backoff).toMatchObject({
      reason: 'errors',
      errors: 1,
      until: 1_010,
    });
  });

  it('a good answer clears the count of failures, but not a key set rejection', () => {
    const memory: Memory = {
      ...INITIAL_MEMORY,
      backoff: { reason: 'errors', rejections: 1, errors: 3, until: 0 },
    };
    const folded = afterSubmit(
      memory,
      sent,
      { kind: 'status', status: sealed({ progress: 1, nonce: 'n' }) },
      { now: 5, timing: TIMING },
    );
    expect(folded.memory.backoff).toMatchObject({ errors: 0, rejections: 1, reason: 'wrong-keys' });
  });
});

describe('reporting a rejected key set (issue 9, item 4)', () => {
  const exhausted = (): Memory => {
    const keys = SHARES.slice(0, 3);
    const server = new ModelServer(new Set());
    return { ...drive(server, keys).memory };
  };

  it('is due again after our own shares unsealed the server in between', () => {
    const reported = { ...exhausted() };
    const marked: Memory = { ...reported, search: { ...reported.search, reported: true } };
    // Our last share was accepted and the node then finished joining: our unseal.
    const ours: Memory = { ...marked, round: { ...FRESH_ROUND, awaitingSince: 1 } };
    const afterUnseal = reconcile(ours, sealed({ sealed: false }), 5).memory;
    expect(afterUnseal.search.reported).toBe(false);
    expect(afterUnseal.search.keySetRejected).toBe(false);
    expect(afterUnseal.backoff.until).toBe(0);
  });

  it('stands after someone else unsealed the server (issue 21, item 2)', () => {
    const reported = { ...exhausted() };
    const marked: Memory = { ...reported, search: { ...reported.search, reported: true } };
    expect(marked.search.keySetRejected).toBe(true);
    const afterUnseal = reconcile(marked, sealed({ sealed: false }), 5).memory;
    // The verdict and the back-off stand; the report is due again in the next episode.
    expect(afterUnseal.search).toEqual({ ...marked.search, reported: false });
    expect(afterUnseal.backoff).toEqual(marked.backoff);
    // Nor does a round of ours that was joined by someone else's shares count as ours.
    const joined: Memory = {
      ...marked,
      round: { ...FRESH_ROUND, awaitingSince: 1, foreign: true },
    };
    expect(reconcile(joined, sealed({ sealed: false }), 5).memory.search.keySetRejected).toBe(true);
  });

  it('is due again for a new key set', () => {
    const marked = exhausted();
    const changed = withKeySet(
      { ...marked, search: { ...marked.search, reported: true } },
      'another key set',
    );
    expect(changed.search.reported).toBe(false);
    expect(changed.backoff.until).toBe(0);
  });

  it('is not repeated while the same key set goes on failing', () => {
    const marked = exhausted();
    const reported: Memory = { ...marked, search: { ...marked.search, reported: true } };
    // The back-off passes and the search starts again: still the same episode.
    const again = reconcile(reported, sealed(), reported.backoff.until + 1).memory;
    expect(again.search).toMatchObject({ reported: true, exhausted: false, candidate: 0 });
  });
});

describe('properties', () => {
  const statusArb = fc.record({
    initialized: fc.boolean(),
    sealed: fc.boolean(),
    threshold: fc.integer({ min: 0, max: 10 }),
    shares: fc.integer({ min: 0, max: 10 }),
    progress: fc.integer({ min: 0, max: 10 }),
    nonce: fc.constantFrom('', 'n1', 'n2'),
    recoverySeal: fc.boolean(),
    type: fc.constant('shamir'),
    version: fc.constant('2.7.2'),
  });
  const memoryArb = fc.record({
    round: fc.record({
      nonce: fc.constantFrom('', 'n1', 'n2'),
      submitted: fc.subarray(SHARES.map((s) => s.hex)),
      counted: fc.integer({ min: 0, max: 5 }),
      foreign: fc.boolean(),
      awaitingSince: fc.option(fc.integer({ min: 0, max: 2_000_000 }), { nil: undefined }),
    }),
    search: fc.record({
      keySet: fc.constant(''),
      candidate: fc.integer({ min: 0, max: 40 }),
      rejected: fc.constant([]),
      exhausted: fc.boolean(),
      reported: fc.boolean(),
      suspects: fc.constant([]),
      keySetRejected: fc.boolean(),
    }),
    backoff: fc.record({
      reason: fc.constantFrom('wrong-keys' as const, 'errors' as const, undefined),
      rejections: fc.integer({ min: 0, max: 5 }),
      errors: fc.integer({ min: 0, max: 5 }),
      until: fc.integer({ min: 0, max: 2_000_000 }),
    }),
  });
  const situationArb = fc.record({
    status: statusArb,
    shares: fc.integer({ min: 0, max: 5 }).map((n) => SHARES.slice(0, n)),
    paused: fc.boolean(),
    memory: memoryArb,
    now: fc.integer({ min: 0, max: 2_000_000 }),
  });

  it('unsealed ⇒ idle', () => {
    fc.assert(
      fc.property(situationArb, (s) => {
        fc.pre(s.status.initialized && !s.status.sealed && !s.status.recoverySeal);
        expect(decide(s)).toEqual({ kind: 'idle', reason: 'unsealed' });
      }),
    );
  });

  it('submits only when initialised, sealed, unpaused, Shamir, with at least t shares, past any back-off, and never a share already sent', () => {
    fc.assert(
      fc.property(situationArb, (s) => {
        const action = decide(s);
        if (action.kind !== 'submit') return;
        expect(s.status.initialized && s.status.sealed && !s.paused && !s.status.recoverySeal).toBe(
          true,
        );
        expect(s.shares.length).toBeGreaterThanOrEqual(s.status.threshold);
        expect(s.status.threshold).toBeGreaterThan(0);
        expect(s.now).toBeGreaterThanOrEqual(s.memory.backoff.until);
        expect(s.memory.round.submitted).not.toContain(action.share.hex);
        expect(s.memory.round.awaitingSince).toBeUndefined();
      }),
    );
  });

  it('a full round against an honest server sends exactly t − progress distinct shares', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 4 }), (t, p) => {
        fc.pre(p < t);
        let status = sealed({ threshold: t, progress: p, nonce: p > 0 ? 'theirs' : '' });
        let memory = reconcile(INITIAL_MEMORY, status, 0).memory;
        const sent: string[] = [];
        // Other people's shares are not ours: ours all raise progress.
        for (let i = 0; i < 10; i++) {
          const action = decide({ ...situation(), status, shares: SHARES, memory });
          if (action.kind !== 'submit') break;
          sent.push(action.share.hex);
          const progress = status.progress + 1;
          const answer =
            progress >= t
              ? sealed({ sealed: false, threshold: t })
              : sealed({ threshold: t, progress, nonce: 'theirs' });
          memory = afterSubmit(
            memory,
            { share: action.share, progressBefore: status.progress, threshold: t, shares: SHARES },
            { kind: 'status', status: answer },
            { now: 0, timing: TIMING },
          ).memory;
          status = answer;
        }
        expect(new Set(sent).size).toBe(sent.length);
        expect(sent).toHaveLength(t - p);
        expect(status.sealed).toBe(false);
      }),
    );
  });

  it('any key set against the model either unseals or stops within the bound, never spins', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
        (t, goodness) => {
          fc.pre(t <= goodness.length);
          const keys = goodness.map((_, i) => share(100 + i));
          const good = new Set(keys.filter((_, i) => goodness[i]).map((s) => s.hex));
          const server = new ModelServer(good, t);
          const { events, blockedAt } = drive(server, keys, 2_000);
          const rounds = events.filter((e) => e !== 'progress' && e !== 'duplicate').length;
          expect(rounds).toBeLessThanOrEqual(MAX_CANDIDATE_SETS);
          // Every set tried when they fit the bound; past it, a working set may lie beyond it.
          const searchedAll = candidateCount(keys.length, t) === combinations(keys.length, t);
          if (good.size < t) expect(server.status.sealed).toBe(true);
          if (good.size >= t && searchedAll) expect(server.status.sealed).toBe(false);
          if (server.status.sealed) expect(blockedAt).toBeDefined();
        },
      ),
    );
  });
});

describe('reconcile', () => {
  const mine = withRound({ nonce: 'n1', submitted: [SHARES[0]!.hex], counted: 1 });

  it.each([
    // Someone finished or reset the round and began another: forget ours.
    ['the nonce changed', sealed({ progress: 1, nonce: 'n2' }), FRESH_ROUND],
    ['no round is open', sealed({ progress: 0, nonce: '' }), FRESH_ROUND],
    ['the server is unsealed', sealed({ sealed: false }), FRESH_ROUND],
    ['the round goes on', sealed({ progress: 1, nonce: 'n1' }), mine.round],
  ])('when %s', (_name, status, expected) => {
    expect(reconcile(mine, status, 0).memory.round).toEqual(expected);
  });

  it('keeps waiting on a joining follower for 30 s, then gives up', () => {
    const waiting = withRound({ awaitingSince: 0 });
    expect(reconcile(waiting, sealed(), AWAIT_UNSEAL_MS - 1).memory).toBe(waiting);
    const expired = reconcile(waiting, sealed(), AWAIT_UNSEAL_MS);
    expect(expired.memory.round).toEqual(FRESH_ROUND);
    expect(expired.event).toBe('await-expired');
  });
});

describe('afterSubmit', () => {
  const sent = { share: SHARES[0]!, progressBefore: 0, threshold: 3, shares: SHARES };

  it('names an unseal that our round completed', () => {
    const ours = withRound({ nonce: 'n', submitted: [SHARES[1]!.hex, SHARES[2]!.hex], counted: 2 });
    expect(
      afterSubmit(
        ours,
        { ...sent, progressBefore: 2 },
        { kind: 'status', status: sealed({ sealed: false }) },
        { now: 5, timing: TIMING },
      ).event,
    ).toBe('unsealed');
  });

  it('names an unsealed answer to our first share someone else’s unseal', () => {
    expect(
      afterSubmit(
        INITIAL_MEMORY,
        sent,
        { kind: 'status', status: sealed({ sealed: false }) },
        { now: 5, timing: TIMING },
      ).event,
    ).toBe('unsealed-by-others');
  });

  it('treats "accepted but sealed with progress 0" as a follower joining: wait, do not resubmit', () => {
    const { memory, event } = afterSubmit(
      INITIAL_MEMORY,
      { ...sent, progressBefore: 2 },
      { kind: 'status', status: sealed() },
      { now: 5, timing: TIMING },
    );
    expect(event).toBe('awaiting-unseal');
    expect(memory.round.awaitingSince).toBe(5);
  });

  it('notices a duplicate: progress did not move', () => {
    expect(
      afterSubmit(
        INITIAL_MEMORY,
        { ...sent, progressBefore: 1 },
        { kind: 'status', status: sealed({ progress: 1, nonce: 'x' }) },
        { now: 5, timing: TIMING },
      ).event,
    ).toBe('duplicate');
  });
});

describe('backoffDelay', () => {
  it('doubles from the base and stops at the ceiling', () => {
    expect([0, 1, 2, 3, 4, 7, 40].map((n) => backoffDelay(n, 1_000, 60_000))).toEqual([
      0, 1_000, 2_000, 4_000, 8_000, 60_000, 60_000,
    ]);
  });
});

describe('isKeySetRejection', () => {
  it.each([
    [400, 'invalid key: failed to decrypt keyring: cipher: message authentication failed', true],
    // Vault 1.3–1.12 answered 500.
    [500, 'cipher: message authentication failed', true],
    [400, 'duplicate part detected', true],
    [400, 'Vault is not initialized', false],
    [400, "'key' must be a valid hex or base64 string", false],
    [503, 'Vault is sealed', false],
  ])('%i %s → %s', (status, message, expected) => {
    expect(isKeySetRejection(status, message)).toBe(expected);
  });
});
