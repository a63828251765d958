import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  afterSubmit,
  AWAIT_UNSEAL_MS,
  backoffDelay,
  decide,
  FRESH_ROUND,
  isKeySetRejection,
  reconcileRound,
  type RoundMemory,
  type SealStatus,
  type Situation,
} from '../../../sidecar/seal-round.js';

const share = (n: number): { hex: string } => ({ hex: n.toString(16).padStart(66, '0') });
const SHARES = [share(1), share(2), share(3), share(4), share(5)];

const sealed = (overrides: Partial<SealStatus> = {}): SealStatus => ({
  initialized: true,
  sealed: true,
  threshold: 3,
  shares: 5,
  progress: 0,
  nonce: '',
  recoverySeal: false,
  type: 'shamir',
  version: '2.7.2',
  ...overrides,
});

const situation = (overrides: Partial<Situation> = {}): Situation => ({
  status: sealed(),
  shares: SHARES.slice(0, 3),
  paused: false,
  round: FRESH_ROUND,
  backoffUntil: 0,
  now: 1_000_000,
  ...overrides,
});

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
      'backing off',
      situation({ backoffUntil: 1_000_001 }),
      { kind: 'blocked', reason: 'wrong-keys' },
    ],
    [
      'awaiting a follower',
      situation({ round: { ...FRESH_ROUND, awaitingSince: 999_000 } }),
      { kind: 'await-unseal' },
    ],
    ['a clean round', situation(), { kind: 'submit', share: SHARES[0] }],
  ])('when %s', (_name, input, expected) => {
    expect(decide(input)).toEqual(expected);
  });

  it('skips shares already sent in this round', () => {
    const round: RoundMemory = { ...FRESH_ROUND, nonce: 'n1', submitted: [SHARES[0]!.hex] };
    expect(decide(situation({ round, status: sealed({ progress: 1, nonce: 'n1' }) }))).toEqual({
      kind: 'submit',
      share: SHARES[1],
    });
  });

  it('resets a round that every share we hold is already in', () => {
    const round: RoundMemory = {
      ...FRESH_ROUND,
      nonce: 'n1',
      submitted: SHARES.slice(0, 3).map((s) => s.hex),
    };
    expect(decide(situation({ round, status: sealed({ progress: 2, nonce: 'n1' }) }))).toEqual({
      kind: 'reset',
    });
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
  const situationArb = fc.record({
    status: statusArb,
    shares: fc.integer({ min: 0, max: 5 }).map((n) => SHARES.slice(0, n)),
    paused: fc.boolean(),
    round: fc.record({
      nonce: fc.constantFrom('', 'n1', 'n2'),
      submitted: fc.subarray(SHARES.map((s) => s.hex)),
      joinedForeignRound: fc.boolean(),
      awaitingSince: fc.option(fc.integer({ min: 0, max: 2_000_000 }), { nil: undefined }),
    }),
    backoffUntil: fc.integer({ min: 0, max: 2_000_000 }),
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

  it('submits only when initialised, sealed, unpaused, Shamir, with at least t shares, and never a share already sent', () => {
    fc.assert(
      fc.property(situationArb, (s) => {
        const action = decide(s);
        if (action.kind !== 'submit') return;
        expect(s.status.initialized && s.status.sealed && !s.paused && !s.status.recoverySeal).toBe(
          true,
        );
        expect(s.shares.length).toBeGreaterThanOrEqual(s.status.threshold);
        expect(s.status.threshold).toBeGreaterThan(0);
        expect(s.now).toBeGreaterThanOrEqual(s.backoffUntil);
        expect(s.round.submitted).not.toContain(action.share.hex);
        expect(s.round.awaitingSince).toBeUndefined();
      }),
    );
  });

  it('a full round against an honest server sends exactly t − progress distinct shares', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 4 }), (t, p) => {
        fc.pre(p < t);
        let status = sealed({ threshold: t, progress: p, nonce: p > 0 ? 'theirs' : '' });
        let round = reconcileRound(FRESH_ROUND, status, 0);
        const sent: string[] = [];
        // Other people's shares are not ours: ours all raise progress.
        for (let i = 0; i < 10; i++) {
          const action = decide({ ...situation(), status, shares: SHARES, round });
          if (action.kind !== 'submit') break;
          sent.push(action.share.hex);
          const progress = status.progress + 1;
          const answer =
            progress >= t
              ? sealed({ sealed: false, threshold: t })
              : sealed({ threshold: t, progress, nonce: 'theirs' });
          round = afterSubmit(
            round,
            { share: action.share, progressBefore: status.progress },
            { kind: 'status', status: answer },
            0,
          ).round;
          status = answer;
        }
        expect(new Set(sent).size).toBe(sent.length);
        expect(sent).toHaveLength(t - p);
        expect(status.sealed).toBe(false);
      }),
    );
  });
});

describe('reconcileRound', () => {
  const mine: RoundMemory = {
    nonce: 'n1',
    submitted: [SHARES[0]!.hex],
    joinedForeignRound: false,
    awaitingSince: undefined,
  };

  it.each([
    // Someone finished or reset the round and began another: forget ours.
    ['the nonce changed', sealed({ progress: 1, nonce: 'n2' }), FRESH_ROUND],
    ['no round is open', sealed({ progress: 0, nonce: '' }), FRESH_ROUND],
    ['the server is unsealed', sealed({ sealed: false }), FRESH_ROUND],
    ['the round goes on', sealed({ progress: 1, nonce: 'n1' }), mine],
  ])('when %s', (_name, status, expected) => {
    expect(reconcileRound(mine, status, 0)).toEqual(expected);
  });

  it('keeps waiting on a joining follower for 30 s, then gives up', () => {
    const waiting = { ...FRESH_ROUND, awaitingSince: 0 };
    expect(reconcileRound(waiting, sealed(), AWAIT_UNSEAL_MS - 1)).toBe(waiting);
    expect(reconcileRound(waiting, sealed(), AWAIT_UNSEAL_MS)).toEqual(FRESH_ROUND);
  });
});

describe('afterSubmit', () => {
  const sent = { share: SHARES[0]!, progressBefore: 0 };

  it('names an unseal', () => {
    expect(
      afterSubmit(FRESH_ROUND, sent, { kind: 'status', status: sealed({ sealed: false }) }, 5)
        .event,
    ).toBe('unsealed');
  });

  it('treats "accepted but sealed with progress 0" as a follower joining: wait, do not resubmit', () => {
    const { round, event } = afterSubmit(
      FRESH_ROUND,
      { ...sent, progressBefore: 2 },
      { kind: 'status', status: sealed() },
      5,
    );
    expect(event).toBe('awaiting-unseal');
    expect(round.awaitingSince).toBe(5);
  });

  it('tells our rejected key set from a failed round that someone else began', () => {
    expect(afterSubmit(FRESH_ROUND, sent, { kind: 'rejected' }, 5).event).toBe('rejected');
    const joined: RoundMemory = {
      ...FRESH_ROUND,
      nonce: 'x',
      submitted: ['aa'],
      joinedForeignRound: true,
    };
    expect(afterSubmit(joined, sent, { kind: 'rejected' }, 5).event).toBe('rejected-foreign-round');
  });

  it('marks a round we joined with progress already made as foreign', () => {
    const { round } = afterSubmit(
      FRESH_ROUND,
      { ...sent, progressBefore: 1 },
      { kind: 'status', status: sealed({ progress: 2, nonce: 'x' }) },
      5,
    );
    expect(round.joinedForeignRound).toBe(true);
  });

  it('notices a duplicate: progress did not move', () => {
    expect(
      afterSubmit(
        FRESH_ROUND,
        { ...sent, progressBefore: 1 },
        { kind: 'status', status: sealed({ progress: 1, nonce: 'x' }) },
        5,
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
