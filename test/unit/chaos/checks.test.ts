import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  boundedRates,
  checkAll,
  noForbiddenSubmissions,
  noSecrets,
  noShareCountedTwice,
  noSubmissionAfterCompletion,
  sidecarsStayedUp,
  statusAgrees,
  summarise,
  unsealedInTime,
  type Limits,
  type Output,
  type Violation,
} from '../../../chaos/checks.js';
import type { Trace, TraceEvent } from '../../../chaos/trace.js';

type EventOf<K extends TraceEvent['kind']> = Extract<TraceEvent, { kind: K }>;

const LIMITS: Limits = {
  unsealWithinMs: { 'server-kill': 10_000, rekey: 20_000, 'pause-flip': 3_000 },
  defaultUnsealWithinMs: 5_000,
  switchGraceMs: 500,
  rateWindowMs: 60_000,
  maxSubmissionsPerWindow: 10,
  maxRequestsPerWindow: 40,
  maxLogLinesPerWindow: 20,
};

const NONCE = '5f3e2a10-0000-4000-8000-000000000001';
const NEXT_NONCE = '5f3e2a10-0000-4000-8000-000000000002';

const trace = (events: readonly TraceEvent[], nodes = 3): Trace => ({
  seed: 7,
  episode: 0,
  nodes,
  events,
});

const sample = (node: number, t: number, sealed: boolean): TraceEvent => ({
  kind: 'seal-status',
  t,
  node,
  reachable: true,
  sealed,
});

/** The server's last word and the sidecar's: agreeing, unsealed by default. */
const final = (
  node: number,
  t: number,
  overrides: Partial<EventOf<'final'>> = {},
): EventOf<'final'> => ({
  kind: 'final',
  t,
  node,
  server: { reachable: true, sealed: false },
  status: { state: 'unsealed', vault: { sealed: false } },
  sealedMetric: 0,
  ...overrides,
});

const finalSealed = (node: number, t: number): EventOf<'final'> =>
  final(node, t, {
    server: { reachable: true, sealed: true },
    status: { state: 'unsealing', vault: { sealed: true } },
    sealedMetric: 1,
  });

/** A share accepted below the threshold (status 200, still sealed). */
const accepted = (
  node: number,
  t: number,
  share: string,
  progress: number,
  nonce = NONCE,
): EventOf<'submission'> => ({
  kind: 'submission',
  t,
  answeredAt: t + 20,
  node,
  reset: false,
  share,
  shareSet: 'current',
  status: 200,
  sealed: true,
  progress,
  threshold: 3,
  nonce,
});

/** The share that completes the round: 200, sealed false, no round open any more. */
const completing = (node: number, t: number, share: string): EventOf<'submission'> => ({
  ...accepted(node, t, share, 0),
  sealed: false,
  nonce: '',
});

const reset = (node: number, t: number): EventOf<'submission'> => ({
  kind: 'submission',
  t,
  answeredAt: t + 10,
  node,
  reset: true,
  status: 200,
  sealed: true,
  progress: 0,
  nonce: '',
});

const fault = (
  kind: EventOf<'fault'>['fault'],
  phase: 'start' | 'end',
  node: number,
  t: number,
): TraceEvent => ({ kind: 'fault', t, fault: kind, phase, node });

const server = (node: number, t: number, what: EventOf<'server'>['what']): TraceEvent => ({
  kind: 'server',
  t,
  node,
  what,
});

const pause = (node: number, t: number, paused: boolean): TraceEvent => ({
  kind: 'pause',
  t,
  node,
  paused,
});

const keys = (node: number, t: number, currentShares: number, totalShares: number): TraceEvent => ({
  kind: 'keys',
  t,
  node,
  currentShares,
  totalShares,
  threshold: 3,
});

/** Every seal-status sample of a node from `from` to `to`, every 100 ms, as the driver takes them. */
const samples = (node: number, from: number, to: number, sealed: boolean): TraceEvent[] =>
  Array.from({ length: Math.floor((to - from) / 100) + 1 }, (_, i) =>
    sample(node, from + i * 100, sealed),
  );

/** A request through the proxy for each submission, as the recorder writes them. */
const requestsFor = (submissions: readonly EventOf<'submission'>[]): TraceEvent[] =>
  submissions.map((s) => ({
    kind: 'request',
    t: s.t,
    node: s.node,
    method: 'PUT',
    path: '/v1/sys/unseal',
    ...(s.status !== undefined ? { status: s.status } : {}),
  }));

/**
 * A clean episode on 3 nodes: node 1's server is killed at 1 s and started again at 2 s; its sidecar
 * submits three shares of one round and the node is unsealed at 2.7 s. The other nodes stay unsealed.
 * Events are recorded out of order, as the recorder does (a submission is written when answered).
 */
function cleanEpisode(): TraceEvent[] {
  const round = [accepted(1, 2_200, 'aaa111', 1), accepted(1, 2_400, 'bbb222', 2)];
  const last = completing(1, 2_600, 'ccc333');
  return [
    fault('server-kill', 'start', 1, 1_000),
    server(1, 1_000, 'killed'),
    server(1, 2_000, 'started'),
    fault('server-kill', 'end', 1, 2_000),
    ...samples(1, 0, 900, false),
    ...samples(1, 2_000, 2_600, true),
    ...samples(1, 2_700, 9_000, false),
    ...samples(0, 0, 9_000, false),
    ...samples(2, 0, 9_000, false),
    ...requestsFor([...round, last]),
    ...round,
    last,
    { kind: 'sidecar', t: 500, node: 2, what: 'started' },
    { kind: 'log', t: 2_650, node: 1, level: 30, msg: 'unsealed' },
    final(0, 10_000),
    final(1, 10_000),
    final(2, 10_000),
  ];
}

/** Exactly one violation, of `invariant`, at the node and moment given (no node: none named). */
const expectOne = (
  violations: readonly Violation[],
  invariant: string,
  where: { node?: number; t?: number },
): Violation => {
  expect(violations).toHaveLength(1);
  const [only] = violations;
  expect(only).toMatchObject({ invariant, ...where });
  if (where.node === undefined) expect(only).not.toHaveProperty('node');
  return only!;
};

describe('a clean episode', () => {
  it('keeps every invariant', () => {
    expect(checkAll(trace(cleanEpisode()), LIMITS)).toEqual([]);
  });
});

describe('unsealedInTime', () => {
  /** Node 1 killed at 1 s and started at 2 s (a server-kill fault), then the given events. */
  const afterRestart = (...events: TraceEvent[]): Trace =>
    trace([
      fault('server-kill', 'start', 1, 1_000),
      server(1, 1_000, 'killed'),
      server(1, 2_000, 'started'),
      fault('server-kill', 'end', 1, 2_000),
      ...events,
    ]);

  it('accepts a node seen unsealed within the bound of its last fault', () => {
    const t = afterRestart(sample(1, 11_900, false), final(1, 30_000));
    expect(unsealedInTime(t, LIMITS)).toEqual([]);
  });

  it('names the node, the moment it became unsealable, the fault and its bound when late', () => {
    const t = afterRestart(
      ...samples(1, 2_000, 12_500, true),
      sample(1, 12_600, false),
      final(1, 30_000),
    );
    const v = expectOne(unsealedInTime(t, LIMITS), 'unsealedInTime', {
      node: 1,
      t: 2_000,
    });
    expect(v.message).toContain('first seen unsealed at 12600 ms, 10600 ms later');
    expect(v.message).toContain('server-kill');
    expect(v.message).toContain('10000 ms');
  });

  it('reports a node still sealed at the end', () => {
    const t = afterRestart(...samples(1, 2_000, 29_000, true), finalSealed(1, 30_000));
    const v = expectOne(unsealedInTime(t, LIMITS), 'unsealedInTime', {
      node: 1,
      t: 2_000,
    });
    expect(v.message).toContain('still sealed at the end (30000 ms)');
  });

  it('says so when the episode ended before the bound passed', () => {
    const t = afterRestart(finalSealed(1, 5_000));
    const v = expectOne(unsealedInTime(t, LIMITS), 'unsealedInTime', { node: 1, t: 2_000 });
    expect(v.message).toContain('ended before that bound passed');
  });

  it('reports a runnable node whose server never answered after E', () => {
    const t = afterRestart(final(1, 30_000, { server: { reachable: false } }));
    const v = expectOne(unsealedInTime(t, LIMITS), 'unsealedInTime', { node: 1, t: 2_000 });
    expect(v.message).toContain('did not answer at the end');
  });

  it('counts a completing answer as seeing the node unsealed, when it came', () => {
    // The server answered sealed:false at 11.02 s; the next unsealed sample came only at 12.5 s.
    const t = afterRestart(
      ...samples(1, 2_000, 10_900, true),
      completing(1, 11_000, 'ccc333'),
      sample(1, 12_500, false),
      final(1, 30_000),
    );
    expect(unsealedInTime(t, LIMITS)).toEqual([]);
    const late = afterRestart(completing(1, 11_990, 'ccc333'), final(1, 30_000));
    const v = expectOne(unsealedInTime(late, LIMITS), 'unsealedInTime', { node: 1, t: 2_000 });
    expect(v.message).toContain('first seen unsealed at 12010 ms');
  });

  it('counts the final look as seeing the node, when no sample did', () => {
    expect(unsealedInTime(afterRestart(final(1, 9_000)), LIMITS)).toEqual([]);
  });

  it('does not count an unsealed sample from before E', () => {
    const t = trace([
      sample(0, 500, false),
      server(0, 1_000, 'sealed-by-api'),
      finalSealed(0, 30_000),
    ]);
    expectOne(unsealedInTime(t, LIMITS), 'unsealedInTime', { node: 0, t: 1_000 });
  });

  describe('counts from the latest moment the node became unsealable', () => {
    // Each row: what happened last, when (E), the bound that applies, and when the node was seen
    // unsealed, in time. Seen 6 s later, each is late, and the violation is dated E.
    it.each([
      // The switch was on from 3 s to 20 s: the pause-flip bound (3 s) from 20 s.
      [
        'the pause switch turned off',
        [
          fault('pause-flip', 'start', 1, 3_000),
          pause(1, 3_000, true),
          pause(1, 20_000, false),
          fault('pause-flip', 'end', 1, 20_000),
        ],
        20_000,
        22_000,
      ],
      // Files rewritten with the current set after a corruption: keys-corrupt has no entry, so the
      // default bound (5 s) from 20 s.
      [
        'the key files rewritten',
        [fault('keys-corrupt', 'start', 1, 3_000), keys(1, 3_000, 2, 2), keys(1, 20_000, 5, 5)],
        20_000,
        24_000,
      ],
      // A rekey of the whole cluster (node -1) ended at 15 s: the rekey bound (20 s).
      [
        'a cluster-wide fault ended',
        [fault('rekey', 'start', -1, 3_000), fault('rekey', 'end', -1, 15_000)],
        15_000,
        34_000,
      ],
      // A frozen server thawed at 18 s; the last fault is still the server-kill (10 s).
      [
        'the server thawed',
        [server(1, 3_000, 'frozen'), server(1, 18_000, 'thawed')],
        18_000,
        27_000,
      ],
    ])('%s', (_, events, since, unsealedAt) => {
      const t = afterRestart(...events, sample(1, unsealedAt, false), final(1, 60_000));
      expect(unsealedInTime(t, LIMITS)).toEqual([]);
      const late = afterRestart(...events, sample(1, unsealedAt + 6_000, false), final(1, 60_000));
      expectOne(unsealedInTime(late, LIMITS), 'unsealedInTime', { node: 1, t: since });
    });

    it('uses the default bound when no fault touched the node', () => {
      const t = trace([
        server(2, 1_000, 'sealed-by-api'),
        sample(2, 6_500, false),
        final(2, 30_000),
      ]);
      const v = expectOne(unsealedInTime(t, LIMITS), 'unsealedInTime', { node: 2, t: 1_000 });
      expect(v.message).toContain('after no fault is 5000 ms');
    });

    it('ignores a pause switch written off while it was already off', () => {
      // Late counted from the restart at 2 s; it would be in time counted from 9 s.
      const t = afterRestart(pause(1, 9_000, false), sample(1, 12_500, false), final(1, 30_000));
      expectOne(unsealedInTime(t, LIMITS), 'unsealedInTime', { node: 1, t: 2_000 });
    });
  });

  describe('does not judge a node that cannot be unsealed at the end', () => {
    it.each([
      // Its server is down.
      ['server killed', [server(1, 20_000, 'killed')]],
      // Its server is stopped (SIGSTOP).
      ['server frozen', [server(1, 20_000, 'frozen')]],
      // Its pause switch is on.
      ['paused', [pause(1, 20_000, true)]],
      // Two current shares of three needed, even with a third from another cluster.
      ['too few current shares', [keys(1, 20_000, 2, 3)]],
    ])('%s', (_, events) => {
      const t = afterRestart(...events, finalSealed(1, 30_000));
      expect(unsealedInTime(t, LIMITS)).toEqual([]);
    });
  });

  it('judges a node whose key files hold t current shares plus a stale one', () => {
    const t = afterRestart(keys(1, 3_000, 3, 4), finalSealed(1, 30_000));
    expectOne(unsealedInTime(t, LIMITS), 'unsealedInTime', { node: 1, t: 3_000 });
  });
});

describe('noForbiddenSubmissions', () => {
  it('allows the clean episode', () => {
    expect(noForbiddenSubmissions(trace(cleanEpisode()), LIMITS)).toEqual([]);
  });

  it('reports a share sent while the pause switch had been on for longer than the grace', () => {
    const t = trace([pause(2, 1_000, true), accepted(2, 2_000, 'aaa111', 1)]);
    const v = expectOne(noForbiddenSubmissions(t, LIMITS), 'noForbiddenSubmissions', {
      node: 2,
      t: 2_000,
    });
    expect(v.message).toContain('pause switch was turned on at 1000 ms');
  });

  it('groups the shares sent during one pause into one violation', () => {
    const t = trace([
      pause(0, 1_000, true),
      accepted(0, 2_000, 'aaa111', 1),
      accepted(0, 2_200, 'bbb222', 2),
      pause(0, 2_300, true), // written again: still on since 1 s
      accepted(0, 2_400, 'ccc333', 3),
    ]);
    const v = expectOne(noForbiddenSubmissions(t, LIMITS), 'noForbiddenSubmissions', {
      node: 0,
      t: 2_000,
    });
    expect(v.message).toContain('3 shares');
    expect(v.message).toContain('the first at 2000 ms, the last at 2400 ms');
  });

  it('reports a share sent while the key files held fewer shares than the threshold', () => {
    const t = trace([keys(1, 1_000, 2, 2), accepted(1, 3_000, 'aaa111', 1)]);
    const v = expectOne(noForbiddenSubmissions(t, LIMITS), 'noForbiddenSubmissions', {
      node: 1,
      t: 3_000,
    });
    expect(v.message).toContain('2 shares, fewer than the threshold 3');
  });

  it.each([
    // The request was on its way when the switch flipped.
    [
      'a share sent within the grace after the switch turned on',
      [pause(0, 1_000, true), accepted(0, 1_400, 'a', 1)],
    ],
    // The switch is off again: the sidecar may go on at once.
    [
      'a share sent just after the switch turned off',
      [pause(0, 1_000, true), pause(0, 3_000, false), accepted(0, 3_100, 'a', 1)],
    ],
    // The files lost shares while the request was on its way.
    [
      'a share sent within the grace after the key files lost shares',
      [keys(0, 1_000, 2, 2), accepted(0, 1_300, 'a', 1)],
    ],
    // Files restored: the sidecar may use them at once.
    [
      'a share sent just after the key files were restored',
      [keys(0, 1_000, 1, 1), keys(0, 3_000, 5, 5), accepted(0, 3_050, 'a', 1)],
    ],
    // Enough shares in all, only two of them current: a wrong-keys case, not a forbidden one.
    [
      'a share from files holding t shares, some stale',
      [keys(0, 1_000, 2, 4), accepted(0, 3_000, 'a', 1)],
    ],
    // A reset is not a share.
    ['a reset while paused', [pause(0, 1_000, true), reset(0, 3_000)]],
    // Another node's switch.
    [
      'a share to a node whose neighbour is paused',
      [pause(1, 1_000, true), accepted(0, 3_000, 'a', 1)],
    ],
  ])('allows %s', (_, events) => {
    expect(noForbiddenSubmissions(trace(events), LIMITS)).toEqual([]);
  });
});

describe('noShareCountedTwice', () => {
  it('allows the clean episode', () => {
    expect(noShareCountedTwice(trace(cleanEpisode()))).toEqual([]);
  });

  it('reports a share the server had already counted in the same round', () => {
    const t = trace([accepted(0, 1_000, 'aaa111', 1), accepted(0, 1_200, 'aaa111', 1)]);
    const v = expectOne(noShareCountedTwice(t), 'noShareCountedTwice', {
      node: 0,
      t: 1_200,
    });
    expect(v.message).toContain('share aaa111 again in round 5f3e2a10…');
    expect(v.message).toContain('counted it at 1000 ms');
    expect(v.message).toContain('at 1200 ms');
  });

  it('groups the repeats of one share in one round', () => {
    const t = trace([
      accepted(0, 1_000, 'aaa111', 1),
      accepted(0, 1_200, 'aaa111', 1),
      accepted(0, 1_300, 'bbb222', 2),
      accepted(0, 1_400, 'aaa111', 2),
    ]);
    const v = expectOne(noShareCountedTwice(t), 'noShareCountedTwice', { node: 0, t: 1_200 });
    expect(v.message).toContain('2 more times');
    expect(v.message).toContain('the first at 1200 ms, the last at 1400 ms');
  });

  it('judges in time order, not in the order events were recorded', () => {
    const t = trace([accepted(0, 1_200, 'aaa111', 1), accepted(0, 1_000, 'aaa111', 1)]);
    expectOne(noShareCountedTwice(t), 'noShareCountedTwice', { node: 0, t: 1_200 });
  });

  it.each([
    // The round was reset in between: the share counts again.
    ['after a reset', [accepted(0, 1_000, 'a', 1), reset(0, 1_100), accepted(0, 1_200, 'a', 1)]],
    // The server restarted in between (the nonce is reused here to test the restart alone).
    [
      'after a restart',
      [
        accepted(0, 1_000, 'a', 1),
        server(0, 1_050, 'killed'),
        server(0, 1_100, 'started'),
        accepted(0, 1_200, 'a', 1),
      ],
    ],
    // A new round (another nonce).
    ['in another round', [accepted(0, 1_000, 'a', 1), accepted(0, 1_200, 'a', 1, NEXT_NONCE)]],
    // The first was not counted: the server failed it.
    [
      'after an answer that was not 200',
      [{ ...accepted(0, 1_000, 'a', 1), status: 503 }, accepted(0, 1_200, 'a', 1)],
    ],
    // The same share on two nodes: each node counts its own.
    ['on another node', [accepted(0, 1_000, 'a', 1), accepted(1, 1_200, 'a', 1)]],
  ])('allows the same share %s', (_, events) => {
    expect(noShareCountedTwice(trace(events))).toEqual([]);
  });
});

describe('noSubmissionAfterCompletion', () => {
  it('allows the clean episode', () => {
    expect(noSubmissionAfterCompletion(trace(cleanEpisode()))).toEqual([]);
  });

  it('reports shares sent after the round completed, grouped', () => {
    const t = trace([
      accepted(0, 1_000, 'a', 1),
      accepted(0, 1_200, 'b', 2),
      completing(0, 1_400, 'c'), // answered at 1420 ms
      { ...completing(0, 1_600, 'a') }, // OpenBao 2.6+ answers 200 sealed:false
      completing(0, 1_800, 'b'),
    ]);
    const v = expectOne(noSubmissionAfterCompletion(t), 'noSubmissionAfterCompletion', {
      node: 0,
      t: 1_600,
    });
    expect(v.message).toContain('2 more shares after it answered at 1420 ms');
  });

  it('reports a share sent in the very millisecond the completing answer came back', () => {
    // The planted "resubmits-after-unseal" defect resends at once; on loopback the resend can
    // carry the answer's own millisecond (the likely reason it went uncaught once in CI).
    const t = trace([completing(0, 1_400, 'c'), accepted(0, 1_420, 'c', 1)]);
    expectOne(noSubmissionAfterCompletion(t), 'noSubmissionAfterCompletion', { node: 0, t: 1_420 });
  });

  it.each([
    // Sent before the completing answer came back.
    ['a share sent before the answer', [completing(0, 1_400, 'c'), accepted(0, 1_410, 'a', 1)]],
    // Sealed again through the API.
    [
      'after a seal through the API',
      [completing(0, 1_400, 'c'), server(0, 2_000, 'sealed-by-api'), accepted(0, 2_200, 'a', 1)],
    ],
    // A server-kill fault began on this node.
    [
      'after a server-kill fault starts',
      [
        completing(0, 1_400, 'c'),
        fault('server-kill', 'start', 0, 2_000),
        accepted(0, 2_200, 'a', 1),
      ],
    ],
    // A cluster-wide api-seal fault began.
    [
      'after a cluster-wide api-seal fault',
      [
        completing(0, 1_400, 'c'),
        fault('api-seal', 'start', -1, 2_000),
        accepted(0, 2_200, 'a', 1),
      ],
    ],
    // A reset is not a share.
    ['a reset', [completing(0, 1_400, 'c'), reset(0, 2_000)]],
    // Another node's round.
    ['a share to another node', [completing(0, 1_400, 'c'), accepted(1, 2_000, 'a', 1)]],
  ])('allows %s', (_, events) => {
    expect(noSubmissionAfterCompletion(trace(events))).toEqual([]);
  });

  it('judges again after the node could have been sealed', () => {
    const t = trace([
      completing(0, 1_400, 'c'),
      server(0, 2_000, 'killed'),
      server(0, 2_500, 'started'),
      completing(0, 3_000, 'c'),
      accepted(0, 3_500, 'a', 1),
    ]);
    expectOne(noSubmissionAfterCompletion(t), 'noSubmissionAfterCompletion', { node: 0, t: 3_500 });
  });
});

describe('sidecarsStayedUp', () => {
  it('allows a sidecar the driver killed', () => {
    const t = trace([
      {
        kind: 'sidecar',
        t: 1_000,
        node: 0,
        what: 'exited',
        killedByDriver: true,
        signal: 'SIGKILL',
      },
      { kind: 'sidecar', t: 1_500, node: 0, what: 'started' },
    ]);
    expect(sidecarsStayedUp(t)).toEqual([]);
  });

  it.each([
    ['an exit code', { killedByDriver: false, code: 1, signal: null }, 'exit code 1, signal none'],
    ['a signal', { code: null, signal: 'SIGSEGV' }, 'exit code none, signal SIGSEGV'],
  ])('reports a sidecar that exited by itself with %s', (_, how, words) => {
    const t = trace([{ kind: 'sidecar', t: 4_000, node: 2, what: 'exited', ...how }]);
    const v = expectOne(sidecarsStayedUp(t), 'sidecarsStayedUp', { node: 2, t: 4_000 });
    expect(v.message).toContain(words);
  });
});

describe('noSecrets', () => {
  const SHARE = 'ab'.repeat(33);
  const TOKEN = 's.rootTokenOfTheCluster0';
  const SECRETS = ['', SHARE, Buffer.from(SHARE, 'hex').toString('base64'), TOKEN];
  const clean: Output[] = [
    { node: 0, source: 'stdout', text: '{"level":30,"msg":"unsealed"}' },
    { node: 0, source: 'metrics', text: 'vault_autounseal_vault_sealed 0' },
  ];

  it('allows outputs that show no secret (an empty form matches nothing)', () => {
    expect(noSecrets(clean, SECRETS)).toEqual([]);
  });

  it('names the node, the source and the secret by index, never the secret', () => {
    const leaky: Output = { node: 2, source: 'stderr', text: `error: key ${SHARE} and ${TOKEN}` };
    const v = expectOne(noSecrets([...clean, leaky], SECRETS), 'noSecrets', { node: 2 });
    expect(v.message).toContain("node 2's stderr shows 2 secrets");
    expect(v.message).toContain('#1 (sha256 ');
    expect(v.message).toContain('#3 (sha256 ');
    expect(v.message).not.toContain(SHARE.slice(0, 6));
    expect(v.message).not.toContain(TOKEN.slice(0, 6));
  });

  it('says when the output is not one node’s', () => {
    const v = expectOne(
      noSecrets([{ node: -1, source: 'trace', text: TOKEN }], SECRETS),
      'noSecrets',
      {},
    );
    expect(v.message).toContain('the trace (no single node)');
  });

  it('never prints any part of a secret it found', () => {
    const hex = fc
      .uint8Array({ minLength: 33, maxLength: 33 })
      .map((b) => Buffer.from(b).toString('hex'));
    fc.assert(
      fc.property(fc.array(hex, { minLength: 1, maxLength: 5 }), fc.string(), (shares, noise) => {
        const text = `${noise}${shares.join(noise)}${noise}`;
        const violations = noSecrets([{ node: 0, source: 'stdout', text }], shares);
        expect(violations).toHaveLength(1);
        for (const share of shares)
          expect(violations[0]!.message).not.toContain(share.slice(0, 12));
      }),
    );
  });
});

describe('boundedRates', () => {
  const every = (gapMs: number, count: number, from = 0): number[] =>
    Array.from({ length: count }, (_, i) => from + i * gapMs);
  const submissionsAt = (node: number, times: number[]): TraceEvent[] =>
    times.map((t) => accepted(node, t, 'a', 1));

  it('allows the clean episode', () => {
    expect(boundedRates(trace(cleanEpisode()), LIMITS)).toEqual([]);
  });

  it('allows exactly the limit in a window, and more spread over several', () => {
    const t = trace([
      ...submissionsAt(0, every(1_000, 10)),
      ...submissionsAt(1, every(10_000, 30)),
    ]);
    expect(boundedRates(t, LIMITS)).toEqual([]);
  });

  it('reports the busiest window of submissions', () => {
    // Slow at first, then a hot loop of 12 from 200 s: the window is named at its start.
    const t = trace(submissionsAt(1, [...every(100_000, 2), ...every(100, 12, 200_000)]));
    const v = expectOne(boundedRates(t, LIMITS), 'boundedRates', {
      node: 1,
      t: 200_000,
    });
    expect(v.message).toContain(
      'sent 12 unseal requests in the 60000 ms from 200000 ms (at most 10)',
    );
  });

  it.each([
    [
      'requests',
      { kind: 'request', node: 0, method: 'GET', path: '/v1/sys/seal-status', status: 503 },
      41,
      'requests',
    ],
    [
      'log lines',
      { kind: 'log', node: 0, level: 50, msg: 'the server failed the request' },
      21,
      'log lines',
    ],
  ] as const)('reports too many %s', (_, event, count, words) => {
    const t = trace(every(50, count).map((at): TraceEvent => ({ ...event, t: at })));
    const v = expectOne(boundedRates(t, LIMITS), 'boundedRates', { node: 0, t: 0 });
    expect(v.message).toContain(`${count} ${words}`);
  });
});

describe('statusAgrees', () => {
  it('allows the clean episode, and agreement on a sealed node', () => {
    expect(statusAgrees(trace([...cleanEpisode(), finalSealed(0, 10_000)]))).toEqual([]);
  });

  it('does not judge a node whose server did not answer', () => {
    const t = trace([final(0, 9_000, { server: { reachable: false }, status: {} })]);
    expect(statusAgrees(t)).toEqual([]);
  });

  it.each([
    // /status still says unsealed after the server was sealed.
    [
      '/status says vault.sealed false',
      { status: { vault: { sealed: false } } },
      'vault.sealed false while the server is sealed',
    ],
    // The gauge still says unsealed.
    [
      'the metric says unsealed',
      { sealedMetric: 0 },
      'vault_autounseal_vault_sealed is 0 while the server is sealed',
    ],
    // /status did not answer at all.
    ['/status is missing', { status: undefined }, '/status did not answer'],
    // /status answered without the server's state.
    ['vault.sealed is null', { status: { vault: { sealed: null } } }, 'vault.sealed is null'],
    // /metrics lacks the gauge.
    ['the metric is missing', { sealedMetric: undefined }, 'no vault_autounseal_vault_sealed'],
  ] as const)('reports a sealed server when %s', (_, overrides, words) => {
    const sealedFinal: EventOf<'final'> = { ...finalSealed(1, 9_000) };
    for (const [key, value] of Object.entries(overrides)) {
      if (value === undefined) delete (sealedFinal as Record<string, unknown>)[key];
      else (sealedFinal as Record<string, unknown>)[key] = value;
    }
    const v = expectOne(statusAgrees(trace([sealedFinal])), 'statusAgrees', {
      node: 1,
      t: 9_000,
    });
    expect(v.message).toContain(words);
  });

  it('reports a final look the driver recorded without the server state', () => {
    const t = trace([final(0, 9_000, { server: { reachable: true } })]);
    expectOne(statusAgrees(t), 'statusAgrees', { node: 0, t: 9_000 });
  });
});

describe('checkAll and summarise', () => {
  it('finds several broken invariants in one episode and prints them grouped', () => {
    const events: TraceEvent[] = [
      ...cleanEpisode(),
      pause(0, 3_000, true),
      accepted(0, 4_000, 'aaa111', 1),
      accepted(0, 4_100, 'aaa111', 1),
      { kind: 'sidecar', t: 5_000, node: 2, what: 'exited', code: 1, signal: null },
    ];
    const violations = checkAll(trace(events), LIMITS);
    expect(violations.map((v) => v.invariant).sort()).toEqual([
      'noForbiddenSubmissions',
      'noShareCountedTwice',
      'sidecarsStayedUp',
    ]);
    const text = summarise(violations);
    expect(text.split('\n')[0]).toBe('3 violations of 3 invariants:');
    expect(text).toContain('noForbiddenSubmissions (1):\n  - 4000 ms: node 0 was sent 2 shares');
    expect(text).toContain('sidecarsStayedUp (1):\n  - 5000 ms: ');
  });

  it('says so when every invariant held', () => {
    expect(summarise([])).toBe('every invariant held');
  });
});
