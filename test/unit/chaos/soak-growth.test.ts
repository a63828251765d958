// The soak's growth rule on synthetic series: what must read as flat (a constant, noise, the GC's
// sawtooth, a warm-up climb) and what must read as growth (a steady leak, a descriptor per flap).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CSV_HEADER,
  GROWTH_LIMITS,
  analyseGrowth,
  csvRow,
  growthTable,
  leastSquares,
  warmUpSeconds,
  type SeriesName,
  type SoakSample,
} from '../../../chaos/soak-growth.js';

/** A deterministic generator (mulberry32), so a noisy series is the same on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BASE: Omit<SoakSample, 'elapsedS'> = {
  rssMb: 70,
  heapUsedMb: 14,
  fds: 23,
  sockets: 5,
  eventLoopLagMs: 0.5,
  unseals: 0,
};

/** One sample a second for `seconds`, each field from `shape` (defaults: constant). */
function soak(
  seconds: number,
  shape: Partial<Record<keyof typeof BASE, (t: number) => number>> = {},
): SoakSample[] {
  return Array.from({ length: seconds + 1 }, (_, t) => {
    const sample: Record<string, number> = { elapsedS: t };
    for (const [key, value] of Object.entries(BASE)) {
      sample[key] = shape[key as keyof typeof BASE]?.(t) ?? value;
    }
    return sample as unknown as SoakSample;
  });
}

const verdictOf = (samples: SoakSample[], series: SeriesName): string =>
  analyseGrowth(samples, samples[samples.length - 1]?.elapsedS ?? 0).series.find(
    (r) => r.series === series,
  )?.verdict ?? 'missing';

describe('warmUpSeconds', () => {
  it.each([
    [600, 120], // 10 min: the first 20 %
    [300, 60], // 5 min: 20 % is a minute
    [180, 60], // 3 min: at least a minute
    [60, 30], // 1 min: half of a run shorter than two minutes
    [20, 10],
  ])('a %i s soak warms up for %i s', (duration, warmUp) => {
    expect(warmUpSeconds(duration)).toBe(warmUp);
  });
});

describe('leastSquares', () => {
  it('recovers a line exactly', () => {
    const xs = [0, 1, 2, 3, 4];
    expect(
      leastSquares(
        xs,
        xs.map((x) => 3 + 0.5 * x),
      ),
    ).toEqual({ slope: 0.5, intercept: 3 });
  });

  it('has no line through fewer than two distinct x', () => {
    expect(leastSquares([1], [1])).toBeUndefined();
    expect(leastSquares([2, 2, 2], [1, 2, 3])).toBeUndefined();
  });
});

describe('analyseGrowth', () => {
  describe('when every series is constant for 10 minutes', () => {
    const analysis = analyseGrowth(soak(600), 600);

    it('judges every series flat, after a 120 s warm-up', () => {
      expect(analysis.warmUpS).toBe(120);
      expect(analysis.series.map((r) => r.verdict)).toEqual([
        ...Array<string>(4).fill('flat'),
        'not judged',
      ]);
      expect(analysis.grew).toBe(false);
    });

    it('judges only the samples after warm-up', () => {
      const rss = analysis.series.find((r) => r.series === 'rss_mb');
      expect(rss).toMatchObject({ points: 481, first: 70, last: 70, growth: 0, limit: 3.5 });
    });
  });

  it.each<[string, SeriesName, Partial<Record<keyof typeof BASE, (t: number) => number>>]>([
    // RSS wandering ±1 MiB around its level, as the page cache and the allocator make it
    [
      'noisy RSS',
      'rss_mb',
      {
        rssMb: (
          (r) => () =>
            70 + 2 * (r() - 0.5)
        )(seeded(1)),
      },
    ],
    // the heap's GC sawtooth: climbs 4 MiB over 30 s, then drops
    ['GC sawtooth in the heap', 'heap_used_mb', { heapUsedMb: (t) => 12 + (4 * (t % 30)) / 30 }],
    // a request in flight now and then holds one more socket
    [
      'a socket in flight',
      'sockets',
      {
        sockets: (
          (r) => () =>
            5 + (r() < 0.3 ? 1 : 0)
        )(seeded(2)),
      },
    ],
    // start-up: RSS climbs 20 MiB in the first minute, then holds
    ['a warm-up climb', 'rss_mb', { rssMb: (t) => 50 + 20 * Math.min(1, t / 60) }],
  ])('reads %s as flat', (_, series, shape) => {
    expect(verdictOf(soak(600, shape), series)).toBe('flat');
  });

  it.each<[string, SeriesName, Partial<Record<keyof typeof BASE, (t: number) => number>>]>([
    // 1 MiB a minute: 8 MiB over the 8 minutes judged, above 5 % of 70 MiB
    ['RSS leaking 1 MiB a minute', 'rss_mb', { rssMb: (t) => 70 + t / 60 }],
    // the same leak under noise
    [
      'a noisy heap leak',
      'heap_used_mb',
      {
        heapUsedMb: (
          (r) => (t: number) =>
            14 + t / 120 + 2 * r()
        )(seeded(4)),
      },
    ],
    // one descriptor left open every 5th flap (a flap every 5 s)
    ['a descriptor leaked per 5 flaps', 'fds', { fds: (t) => 23 + Math.floor(t / 25) }],
    ['a socket leaked per 5 flaps', 'sockets', { sockets: (t) => 5 + Math.floor(t / 25) }],
  ])('reads %s as growth', (_, series, shape) => {
    const samples = soak(600, shape);
    expect(verdictOf(samples, series)).toBe('grew');
    expect(analyseGrowth(samples, 600).grew).toBe(true);
  });

  describe('when the soak is short (60 s)', () => {
    it('still catches a socket leaked per flap (a flap every 5 s)', () => {
      expect(verdictOf(soak(60, { sockets: (t) => 5 + Math.floor(t / 5) }), 'sockets')).toBe(
        'grew',
      );
    });

    it('gives no verdict on fewer than 10 points after warm-up', () => {
      expect(verdictOf(soak(15), 'rss_mb')).toBe('too few samples');
    });
  });

  it('leaves out samples whose value could not be read (a failed scrape)', () => {
    const samples = soak(600, { heapUsedMb: (t) => (t % 2 ? NaN : 14) });
    const heap = analyseGrowth(samples, 600).series.find((r) => r.series === 'heap_used_mb');
    expect(heap).toMatchObject({ points: 241, verdict: 'flat', growth: 0 });
  });

  it("reports the loop's lag without judging it: a slowing loop does not fail the soak", () => {
    const analysis = analyseGrowth(soak(600, { eventLoopLagMs: (t) => 1 + t / 10 }), 600);
    const lag = analysis.series.find((r) => r.series === 'eventloop_lag_ms');
    expect(lag).toMatchObject({ verdict: 'not judged', growth: expect.closeTo(48, 6) });
    expect(analysis.grew).toBe(false);
  });

  it('does not call a shrinking series growth', () => {
    expect(verdictOf(soak(600, { heapUsedMb: (t) => 30 - t / 60 }), 'heap_used_mb')).toBe('flat');
  });

  describe('properties', () => {
    // The worst noise bounded by ±a moves a least-squares line by 3a over its window (−a before the
    // middle, +a after), so noise below a third of the limit never reads as growth…
    it('noise within a third of the floor is always flat', () => {
      fc.assert(
        fc.property(
          fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 601, maxLength: 601 }),
          (noise) => {
            const a = GROWTH_LIMITS.fds.floor / 3.01;
            const samples = soak(600, { fds: (t) => 23 + a * (noise[t] ?? 0) });
            return verdictOf(samples, 'fds') === 'flat';
          },
        ),
        { numRuns: 50 },
      );
    });

    // …and a steady leak that climbs more than the limit plus that noise always does.
    it('a leak above the limit plus the noise always grows', () => {
      fc.assert(
        fc.property(
          fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 601, maxLength: 601 }),
          fc.double({ min: 1.01, max: 10, noNaN: true }),
          (noise, excess) => {
            const a = 1;
            const climb = excess * (GROWTH_LIMITS.rss_mb.relative * 100 + 3 * a);
            const samples = soak(600, {
              rssMb: (t) => 70 + (climb * t) / 480 + a * (noise[t] ?? 0),
            });
            return verdictOf(samples, 'rss_mb') === 'grew';
          },
        ),
        { numRuns: 50 },
      );
    });
  });
});

describe('the table and the CSV', () => {
  it('prints one row per series with its verdict', () => {
    const table = growthTable(analyseGrowth(soak(600, { rssMb: (t) => 70 + t / 60 }), 600));
    const lines = table.split('\n');
    expect(lines[0]).toMatch(
      /^series\s+points\s+first\s+last\s+min\s+max\s+slope\/min\s+growth\s+limit\s+verdict$/,
    );
    expect(lines.find((l) => l.startsWith('rss_mb'))).toMatch(/\s1\.000\s+8\.00\s+.*grew$/);
    expect(lines.find((l) => l.startsWith('fds'))).toMatch(/flat$/);
  });

  it('writes a row under the header, a value not read as an empty cell', () => {
    expect(CSV_HEADER.split(',')).toEqual([
      'elapsed_s',
      'rss_mb',
      'heap_used_mb',
      'fds',
      'sockets',
      'eventloop_lag_ms',
      'unseals',
    ]);
    const row = {
      elapsedS: 1.0004,
      rssMb: 70.123,
      heapUsedMb: NaN,
      fds: 23,
      sockets: 5,
      eventLoopLagMs: 0.25,
      unseals: 3,
    };
    expect(csvRow(row)).toBe('1.000,70.12,,23,5,0.25,3');
  });
});
