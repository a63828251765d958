// Which connection gives way when a listener is full: the newcomer gets in, an idle connection of
// whoever holds the most is closed, and a connection serving a request is never touched.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  admitConnection,
  perSourceCap,
  type FairnessLimits,
  type OpenConnection,
} from '../../../common/connection-fairness.js';

const LIMITS: FairnessLimits = { maxConnections: 4, maxConnectionsPerSource: 2 };

function conn(id: string, source: string, idleSince: number | null): OpenConnection<string> {
  return { id, source, idleSince };
}

function decide(open: OpenConnection<string>[], source: string, limits = LIMITS) {
  const admission = admitConnection(open, source, limits);
  return admission.kind === 'evict'
    ? { kind: admission.kind, limit: admission.limit, victim: admission.victim.id }
    : admission;
}

describe('perSourceCap', () => {
  it.each([
    // [total, per source]
    [64, 16], // the ops ports
    [1000, 250], // WEBHOOK_MAX_CONNECTIONS' default
    [5, 2], // rounded up
    [3, 1],
    [1, 1], // never 0: one connection from anyone
  ])('of %d is %d', (total, expected) => {
    expect(perSourceCap(total)).toBe(expected);
  });
});

describe('admitConnection', () => {
  describe('below both caps', () => {
    it.each([
      ['nothing open', []],
      ['one from the same source', [conn('a', 'kubelet', 5)]],
      ['three from three others', [conn('a', 'x', 1), conn('b', 'y', 2), conn('c', 'z', null)]],
    ])('accepts with %s', (_what, open) => {
      expect(decide(open, 'kubelet')).toEqual({ kind: 'accept' });
    });
  });

  describe('when the source is at its own cap', () => {
    it('closes that source’s longest-idle connection, even with room in total', () => {
      const open = [conn('a1', 'a', 20), conn('a2', 'a', 10), conn('b1', 'b', 1)];
      expect(decide(open, 'a')).toEqual({ kind: 'evict', limit: 'per-source', victim: 'a2' });
    });

    it('never closes another source’s connection for it', () => {
      const open = [conn('a1', 'a', null), conn('b1', 'b', 1), conn('a2', 'a', 30)];
      expect(decide(open, 'a')).toEqual({ kind: 'evict', limit: 'per-source', victim: 'a2' });
    });

    it('refuses the newcomer when all of that source’s connections serve a request', () => {
      const open = [conn('a1', 'a', null), conn('a2', 'a', null), conn('b1', 'b', 1)];
      expect(decide(open, 'a')).toEqual({ kind: 'refuse', limit: 'per-source' });
    });

    it('takes the first of two idle since the same moment', () => {
      const open = [conn('a1', 'a', 7), conn('a2', 'a', 7)];
      expect(decide(open, 'a')).toEqual({ kind: 'evict', limit: 'per-source', victim: 'a1' });
    });
  });

  describe('when the listener is full', () => {
    it('closes an idle connection of the source holding the most, not the oldest idle overall', () => {
      // The kubelet's connection has been idle longest, but the flood holds three.
      const open = [
        conn('k', 'kubelet', 1),
        conn('f1', 'f', 9),
        conn('f2', 'f', 5),
        conn('f3', 'f', 8),
      ];
      const limits = { maxConnections: 4, maxConnectionsPerSource: 4 };
      expect(decide(open, 'new', limits)).toEqual({ kind: 'evict', limit: 'total', victim: 'f2' });
    });

    it('spares a connection idle longer whose source holds fewer, wherever it is listed', () => {
      const open = [
        conn('f1', 'f', 9),
        conn('f2', 'f', 5),
        conn('f3', 'f', 8),
        conn('k', 'kubelet', 1),
      ];
      const limits = { maxConnections: 4, maxConnectionsPerSource: 4 };
      expect(decide(open, 'new', limits)).toEqual({ kind: 'evict', limit: 'total', victim: 'f2' });
    });

    it('takes the first of two idle since the same moment', () => {
      const open = [conn('g1', 'g', 4), conn('h1', 'h', 4), conn('g2', 'g', 7), conn('h2', 'h', 4)];
      const limits = { maxConnections: 4, maxConnectionsPerSource: 4 };
      expect(decide(open, 'new', limits)).toEqual({ kind: 'evict', limit: 'total', victim: 'g1' });
    });

    it('passes over a source whose connections are all busy', () => {
      const open = [
        conn('f1', 'f', null),
        conn('f2', 'f', null),
        conn('g1', 'g', 3),
        conn('h1', 'h', 2),
      ];
      const limits = { maxConnections: 4, maxConnectionsPerSource: 4 };
      expect(decide(open, 'new', limits)).toEqual({ kind: 'evict', limit: 'total', victim: 'h1' });
    });

    it('between sources holding as many, closes the connection idle longest', () => {
      const open = [
        conn('g1', 'g', 3),
        conn('h1', 'h', 2),
        conn('g2', 'g', null),
        conn('h2', 'h', 6),
      ];
      const limits = { maxConnections: 4, maxConnectionsPerSource: 4 };
      expect(decide(open, 'new', limits)).toEqual({ kind: 'evict', limit: 'total', victim: 'h1' });
    });

    it('refuses the newcomer when every connection serves a request', () => {
      const open = [
        conn('a', 'a', null),
        conn('b', 'b', null),
        conn('c', 'c', null),
        conn('d', 'd', null),
      ];
      expect(decide(open, 'e')).toEqual({ kind: 'refuse', limit: 'total' });
    });

    it('counts a source’s busy connections toward what it holds', () => {
      // g holds two (one busy), h one: g gives way although h's is idle longer.
      const open = [conn('h1', 'h', 1), conn('g1', 'g', null), conn('g2', 'g', 5)];
      const limits = { maxConnections: 3, maxConnectionsPerSource: 3 };
      expect(decide(open, 'new', limits)).toEqual({ kind: 'evict', limit: 'total', victim: 'g2' });
    });
  });

  describe('invariants', () => {
    const connections = fc.uniqueArray(
      fc.record({
        id: fc.integer({ min: 0, max: 10_000 }),
        source: fc.constantFrom('a', 'b', 'c', 'd'),
        idleSince: fc.option(fc.integer({ min: 0, max: 100 }), { nil: null }),
      }),
      { selector: (c) => c.id, maxLength: 30 },
    );
    const limits = fc
      .tuple(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 30 }))
      .map(([maxConnections, maxConnectionsPerSource]) => ({
        maxConnections,
        maxConnectionsPerSource,
      }));

    it('never closes a connection serving a request, and never lets anyone past a cap', () => {
      fc.assert(
        fc.property(connections, fc.constantFrom('a', 'b', 'e'), limits, (open, source, caps) => {
          const admission = admitConnection(open, source, caps);
          if (admission.kind === 'refuse') return;
          const after = open.filter((c) => admission.kind !== 'evict' || c !== admission.victim);
          if (admission.kind === 'evict') expect(admission.victim.idleSince).not.toBeNull();
          const fromSource = after.filter((c) => c.source === source).length + 1;
          // Whatever was over a cap before stays no further over it.
          expect(fromSource).toBeLessThanOrEqual(
            Math.max(caps.maxConnectionsPerSource, open.filter((c) => c.source === source).length),
          );
          expect(after.length + 1).toBeLessThanOrEqual(Math.max(caps.maxConnections, open.length));
        }),
      );
    });

    it('refuses only when every connection it could close serves a request', () => {
      fc.assert(
        fc.property(connections, fc.constantFrom('a', 'e'), limits, (open, source, caps) => {
          const admission = admitConnection(open, source, caps);
          if (admission.kind !== 'refuse') return;
          const candidates =
            admission.limit === 'per-source' ? open.filter((c) => c.source === source) : open;
          expect(candidates.every((c) => c.idleSince === null)).toBe(true);
        }),
      );
    });
  });
});
