// Rules of the round engine that the mutation run (docs/mutation.md) showed no test held: each
// test here failed against at least one surviving mutant of sidecar/seal-round.ts.
import { describe, expect, it } from 'vitest';
import {
  afterSubmit,
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
  type Situation,
  type UnsealAnswer,
} from '../../../sidecar/seal-round.js';
import { NOW, sealed, share, SHARES, situation, TIMING, withRound } from './fixtures.js';

/** What the loop does on each check: fold the status in, then decide. */
const next = (
  memory: Memory,
  status: SealStatus,
  shares: readonly { hex: string }[] = SHARES,
  now = NOW,
): Situation => {
  const reconciled = reconcile(memory, status, now).memory;
  return { status, shares, paused: false, memory: reconciled, now };
};

/** One node's unseal protocol: progress and nonce shared, checked only at the threshold. */
class ModelServer {
  status: SealStatus = sealed();
  private round: string[] = [];
  constructor(private readonly good: ReadonlySet<string>) {}
  submit(hex: string): UnsealAnswer {
    if (!this.round.includes(hex)) this.round.push(hex);
    if (this.round.length < this.status.threshold) {
      this.status = sealed({ progress: this.round.length, nonce: 'round-1' });
      return { kind: 'status', status: this.status };
    }
    const ok = this.round.every((h) => this.good.has(h));
    this.round = [];
    this.status = sealed({ sealed: !ok });
    return ok ? { kind: 'status', status: this.status } : { kind: 'rejected' };
  }
}

/** Drives the engine against the model until it stops submitting. */
function drive(
  server: ModelServer,
  shares: readonly { hex: string }[],
  start: Memory = INITIAL_MEMORY,
): { memory: Memory; events: RoundEvent[] } {
  let memory = withKeySet(start, shares.map((s) => s.hex).join(','));
  const events: RoundEvent[] = [];
  for (let i = 0; i < 100; i++) {
    const now = next(memory, server.status, shares);
    memory = now.memory;
    const action = decide(now);
    if (action.kind !== 'submit') break;
    const progressBefore = server.status.progress;
    const answer = server.submit(action.share.hex);
    const sent = { share: action.share, progressBefore, threshold: 3, shares };
    const folded = afterSubmit(memory, sent, answer, { now: NOW, timing: TIMING });
    memory = folded.memory;
    events.push(folded.event);
  }
  return { memory, events };
}

describe('a server that says it is not initialised', () => {
  it.each([
    // Whatever t it reports, an uninitialised server gets no share (we never initialise).
    ['not initialised, t = 3', sealed({ initialized: false })],
    // Initialised but sealed with t = 0: the server is in the middle of its own init.
    ['initialised, sealed, t = 0', sealed({ threshold: 0 })],
  ])('when %s: idle, nothing submitted', (_name, status) => {
    expect(decide(situation({ status }))).toEqual({ kind: 'idle', reason: 'not-initialized' });
  });

  it('forgets an unseal it was waiting for: the next round starts without the 30 s wait', () => {
    const waiting = withRound({ submitted: [SHARES[0]!.hex], awaitingSince: NOW - 1_000 });
    const { memory } = reconcile(waiting, sealed({ initialized: false, threshold: 0 }), NOW);
    expect(memory.round).toEqual(FRESH_ROUND);
    expect(decide(next(memory, sealed()))).toEqual({ kind: 'submit', share: SHARES[0] });
  });
});

describe('a round still open after all of our candidate set went in', () => {
  it('goes on with our other shares (some of ours were duplicates of someone else’s)', () => {
    const sent = SHARES.slice(0, 3).map((s) => s.hex);
    const memory = withRound({ nonce: 'n1', submitted: sent, counted: 2 });
    const status = sealed({ progress: 2, nonce: 'n1' });
    expect(decide(next(memory, status))).toEqual({ kind: 'submit', share: SHARES[3] });
  });
});

describe('a submission that failed without an answer', () => {
  // Our first share got no answer (a 503, a dropped connection): the server may or may not have
  // counted it. The status that follows tells.
  const failed = afterSubmit(
    INITIAL_MEMORY,
    { share: SHARES[0]!, progressBefore: 0, threshold: 3, shares: SHARES },
    { kind: 'error', wasLastShare: false },
    { now: NOW, timing: TIMING },
  ).memory;
  const later = failed.backoff.until;

  it.each([
    // The share did not arrive: nothing to build on, so the same share is offered again.
    ['no round is open', sealed({ progress: 0, nonce: '' }), SHARES[0]],
    // A round at progress 0 holds none of our shares.
    ['a nonce at progress 0', sealed({ progress: 0, nonce: 'n1' }), SHARES[0]],
    // Progress without a nonce (a broken or hostile server): that position is taken, perhaps by
    // our share. One share per round position: go on with the next, never resend (issue 21, 12).
    ['progress without a nonce', sealed({ progress: 1, nonce: '' }), SHARES[1]],
    // The share arrived and opened the round: go on with the next, never send it twice.
    ['the round it opened', sealed({ progress: 1, nonce: 'n1' }), SHARES[1]],
  ])('when the server then shows %s', (_name, status, expected) => {
    expect(decide(next(failed, status, SHARES, later))).toEqual({
      kind: 'submit',
      share: expected,
    });
  });

  it('in the middle of our round is not sent again once the back-off has passed', () => {
    const memory = withRound({ nonce: 'n1', submitted: [SHARES[0]!.hex], counted: 1 });
    const { memory: after } = afterSubmit(
      memory,
      { share: SHARES[1]!, progressBefore: 1, threshold: 3, shares: SHARES },
      { kind: 'error', wasLastShare: false },
      { now: NOW, timing: TIMING },
    );
    const status = sealed({ progress: 2, nonce: 'n1' });
    expect(decide(next(after, status, SHARES, after.backoff.until))).toEqual({
      kind: 'submit',
      share: SHARES[2],
    });
  });
});

describe('time', () => {
  it('keeps waiting on a joining follower within 30 s of the last share', () => {
    const waiting = withRound({ awaitingSince: NOW - 1_000 });
    const folded = reconcile(waiting, sealed(), NOW);
    expect(folded.memory).toBe(waiting);
    expect(folded.event).toBeUndefined();
  });

  it('submits again at the very moment the back-off ends, from the first candidate set', () => {
    const memory: Memory = {
      ...INITIAL_MEMORY,
      search: {
        ...INITIAL_MEMORY.search,
        candidate: 9,
        rejected: [[0, 1, 2]],
        exhausted: true,
      },
      backoff: { reason: 'wrong-keys', rejections: 1, errors: 0, until: NOW },
    };
    const now = next(memory, sealed());
    // /status reports how many sets were tried in this search: none yet.
    expect(now.memory.search).toMatchObject({ candidate: 0, rejected: [], exhausted: false });
    expect(decide(now)).toEqual({ kind: 'submit', share: SHARES[0] });
  });
});

describe('suspect shares', () => {
  const good = new Set(SHARES.map((s) => s.hex));
  const stale = share(0xdead);

  it('none when the first set works', () => {
    const { memory } = drive(new ModelServer(good), SHARES.slice(0, 4));
    expect(memory.search.suspects).toEqual([]);
  });

  it('name the stale share wherever it sorts among good ones', () => {
    // Third of four: {0,1,2} is rejected, {0,1,3} works, so only the third share is suspect.
    const keys = [SHARES[0]!, SHARES[1]!, stale, SHARES[2]!];
    const { memory, events } = drive(new ModelServer(good), keys);
    expect(events).toEqual([
      ...['progress', 'progress', 'candidate-rejected'],
      ...['progress', 'progress', 'unsealed'],
    ]);
    expect(memory.search.suspects).toEqual([stale.hex]);
  });

  it('stay named after a restart that unseals with the working set at once', () => {
    const keys = [stale, ...SHARES.slice(0, 3)];
    const first = drive(new ModelServer(good), keys);
    expect(first.memory.search.suspects).toEqual([stale.hex]);
    const again = drive(new ModelServer(good), keys, first.memory);
    expect(again.events).toEqual(['progress', 'progress', 'unsealed']);
    expect(again.memory.search.suspects).toEqual([stale.hex]);
  });
});

describe('the candidate sets', () => {
  it.each([
    // n choose k, with the edges: nothing to choose, everything, and impossible choices.
    [5, 0, 1],
    [3, 3, 1],
    [5, 3, 10],
    [2, 3, 0],
    [5, -1, 0],
  ])('C(%i, %i) = %i', (n, k, expected) => {
    expect(combinations(n, k)).toBe(expected);
  });

  it(`never go past ${MAX_CANDIDATE_SETS} per search, however many combinations exist`, () => {
    // 10 shares at t = 5: 252 combinations, of which the first 32 are tried.
    expect(candidateCount(10, 5)).toBe(MAX_CANDIDATE_SETS);
    expect(candidateSet(10, 5, MAX_CANDIDATE_SETS - 1)).toHaveLength(5);
    expect(candidateSet(10, 5, MAX_CANDIDATE_SETS)).toBeUndefined();
  });

  it.each([
    // t = 0 has no set of shares to offer.
    [5, 0, 0],
    // A negative index names no set.
    [5, 3, -1],
    // More shares needed than held.
    [2, 3, 0],
  ])('none for %i shares at t = %i, index %i', (n, t, index) => {
    expect(candidateSet(n, t, index)).toBeUndefined();
  });
});

describe('isKeySetRejection', () => {
  it('ignores a proxy’s error page that happens to say "invalid key"', () => {
    expect(isKeySetRejection(502, 'invalid key')).toBe(false);
    expect(isKeySetRejection(400, 'invalid key')).toBe(true);
  });
});
