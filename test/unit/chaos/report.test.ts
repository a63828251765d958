import { describe, expect, it } from 'vitest';
import { unsealTimes, worstByFault } from '../../../chaos/report.js';
import type { Trace, TraceEvent } from '../../../chaos/trace.js';

const trace = (events: TraceEvent[]): Trace => ({ seed: 1, episode: 0, nodes: 2, events });

describe('unseal times from a trace', () => {
  it('times a restart from the server answering to the submission that unsealed it', () => {
    const times = unsealTimes(
      trace([
        { kind: 'fault', t: 0, fault: 'server-kill', phase: 'start', node: 1 },
        { kind: 'server', t: 5, node: 1, what: 'killed' },
        { kind: 'server', t: 900, node: 1, what: 'started' },
        {
          kind: 'submission',
          t: 910,
          answeredAt: 930,
          node: 1,
          reset: false,
          status: 200,
          sealed: false,
        },
        { kind: 'seal-status', t: 1000, node: 1, reachable: true, sealed: false },
      ]),
    );
    expect(times).toEqual([{ node: 1, fault: 'server-kill', ms: 30 }]);
  });

  it('counts from the switch turned off, not from the seal, while the node was paused', () => {
    const times = unsealTimes(
      trace([
        { kind: 'fault', t: 0, fault: 'pause-flip', phase: 'start', node: 0 },
        { kind: 'pause', t: 0, node: 0, paused: true },
        { kind: 'server', t: 300, node: 0, what: 'sealed-by-api' },
        { kind: 'seal-status', t: 400, node: 0, reachable: true, sealed: true },
        { kind: 'pause', t: 3000, node: 0, paused: false },
        { kind: 'seal-status', t: 3200, node: 0, reachable: true, sealed: false },
      ]),
    );
    expect(times).toEqual([{ node: 0, fault: 'pause-flip', ms: 200 }]);
  });

  it('attributes a cluster-wide fault (rekey) to every node, and records nothing for a node never sealed', () => {
    const times = unsealTimes(
      trace([
        { kind: 'fault', t: 0, fault: 'rekey', phase: 'start', node: -1 },
        { kind: 'seal-status', t: 100, node: 0, reachable: true, sealed: false },
        { kind: 'seal-status', t: 100, node: 1, reachable: true, sealed: true },
        { kind: 'keys', t: 500, node: 1, currentShares: 5, totalShares: 5, threshold: 3 },
        { kind: 'seal-status', t: 700, node: 1, reachable: true, sealed: false },
      ]),
    );
    expect(times).toEqual([{ node: 1, fault: 'rekey', ms: 200 }]);
  });

  it('summarises per fault kind: count, median, worst', () => {
    expect(
      worstByFault([
        { node: 0, fault: 'api-seal', ms: 10 },
        { node: 1, fault: 'api-seal', ms: 30 },
        { node: 1, fault: 'api-seal', ms: 20 },
        { node: 2, fault: 'rekey', ms: 500 },
      ]),
    ).toEqual([
      { fault: 'api-seal', count: 3, medianMs: 20, worstMs: 30 },
      { fault: 'rekey', count: 1, medianMs: 500, worstMs: 500 },
    ]);
  });
});
