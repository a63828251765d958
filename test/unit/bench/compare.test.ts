import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compare,
  MEASURES,
  ratioOf,
  renderComparison,
  worseBy,
  type Row,
} from '../../../bench/compare.js';
import type { BenchResults } from '../../../bench/report.js';

// The numbers of a real `npm run bench` on this repository's CI machine (bench/results/latest.json),
// labelled as a quick run.
const RUN: BenchResults = {
  machine: {
    cpu: 'Intel(R) Xeon(R) Processor',
    cores: 2,
    memory_gib: 24,
    node: 'v20.20.2',
    server: 'OpenBao 2.7.2',
    date: '2026-11-29T05:24:02.366Z',
    profile: 'quick',
    wall_seconds: 173,
  },
  ttu: {
    n: 4,
    median_ms: 23.5,
    p95_ms: 47.9,
    min_ms: 8,
    max_ms: 48.7,
    floor_median_ms: 7.8,
    floor_p95_ms: 13.6,
  },
  api_seal: {
    n: 4,
    median_ms: 2075.7,
    p95_ms: 3030.9,
    min_ms: 520.7,
    max_ms: 3512.1,
    floor_median_ms: 7.7,
  },
  raft_cold_start: {
    n: 2,
    median_ms: 4827.4,
    p95_ms: 5889.9,
    min_ms: 3770.6,
    max_ms: 5889.9,
    floor_median_ms: 4351.9,
  },
  webhook: {
    c1: { connections: 1, rps: 1481, p50_ms: 0, p99_ms: 2, errors: 0, requests: 14808 },
    c16: { connections: 16, rps: 1467, p50_ms: 9, p99_ms: 35, errors: 0, requests: 16140 },
    c64: { connections: 64, rps: 1527, p50_ms: 40, p99_ms: 116, errors: 0, requests: 16800 },
    peak_rss_mb: 116.5,
  },
  // The same load on the images' Node 24 with the image's options (numbers of the same shape).
  webhook_by_runtime: {
    node24: {
      node: 'v24.22.3',
      c1: { connections: 1, rps: 1600, p50_ms: 0, p99_ms: 2, errors: 0, requests: 16000 },
      c16: { connections: 16, rps: 2400, p50_ms: 6, p99_ms: 20, errors: 0, requests: 24000 },
      c64: { connections: 64, rps: 2150, p50_ms: 28, p99_ms: 68, errors: 0, requests: 21500 },
      peak_rss_mb: 130,
    },
  },
  sidecar: {
    idle_rss_mb: 68.9,
    idle_cpu_s_per_hour: 3.6,
    cpu_s_per_1000_checks: 3.162,
    checks_measured: 291,
  },
  footprint: {
    node20: {
      node: 'v20.20.2',
      bare_rss_mb: 41,
      sidecar_idle_rss_mb: 62,
      sidecar_idle_rss_ratio: 1.51,
      sidecar_idle_cpu_s_per_hour: 2.4,
      webhook_idle_rss_mb: 60,
      webhook_idle_rss_ratio: 1.46,
    },
    node24: {
      node: 'v24.22.3',
      bare_rss_mb: 44,
      sidecar_idle_rss_mb: 73,
      sidecar_idle_rss_ratio: 1.66,
      sidecar_idle_cpu_s_per_hour: 2.6,
      webhook_idle_rss_mb: 70,
      webhook_idle_rss_ratio: 1.59,
    },
  },
};

const clone = (): any => structuredClone(RUN);
const row = (rows: readonly Row[], name: string): Row => {
  const found = rows.find((r) => r.name === name);
  if (!found) throw new Error(`no row ${name}`);
  return found;
};

describe('compare', () => {
  describe('a run against itself', () => {
    it('has every measure at ratio 1, nothing flagged', () => {
      const result = compare(RUN, clone());
      expect(result.ok).toBe(true);
      expect(result.problems).toEqual([]);
      expect(result.rows).toHaveLength(MEASURES.length);
      expect(result.rows.map((r) => r.ratio)).toEqual(MEASURES.map(() => 1));
    });
  });

  describe('when one measure moved', () => {
    it.each([
      // [measure, how to change the run, flagged?]
      // A latency 26% longer is past the 25% margin.
      ['time-to-unseal, median', (r: any): void => void (r.ttu.median_ms = 23.5 * 1.26), true],
      // 24% longer is inside it.
      ['time-to-unseal, median', (r: any): void => void (r.ttu.median_ms = 23.5 * 1.24), false],
      // Faster is never a regression, however much.
      [
        'raft 3-node cold start, median',
        (r: any): void => void (r.raft_cold_start.median_ms = 100),
        false,
      ],
      // Throughput: 26% fewer requests per second is worse.
      ['webhook at concurrency 16', (r: any): void => void (r.webhook.c16.rps = 1467 * 0.74), true],
      // Twice as many is better, not "ratio 2, flagged".
      ['webhook at concurrency 16', (r: any): void => void (r.webhook.c16.rps = 1467 * 2), false],
      // Memory: 30% more RSS.
      ['sidecar idle RSS', (r: any): void => void (r.sidecar.idle_rss_mb = 68.9 * 1.3), true],
      // A module loaded eagerly that was lazy: the Node 24 sidecar 30% larger, in MiB and as a
      // ratio to the bare node beside it (the bare node unchanged).
      [
        'sidecar idle RSS, Node 24',
        (r: any): void => void (r.footprint.node24.sidecar_idle_rss_mb = 73 * 1.3),
        true,
      ],
      [
        'sidecar idle RSS / bare node, Node 24',
        (r: any): void => void (r.footprint.node24.sidecar_idle_rss_ratio = 1.66 * 1.3),
        true,
      ],
      [
        'webhook idle RSS, Node 20',
        (r: any): void => void (r.footprint.node20.webhook_idle_rss_mb = 60 * 1.3),
        true,
      ],
      // The bundles' idle RSS has a 10% margin (RSS_TOLERANCE): an ES import of node:http on
      // Node 24 (+11 MiB on 65, 16%) is flagged, in MiB and as a ratio …
      [
        'sidecar idle RSS, Node 24',
        (r: any): void => void (r.footprint.node24.sidecar_idle_rss_mb = 73 * 1.16),
        true,
      ],
      [
        'sidecar idle RSS / bare node, Node 24',
        (r: any): void => void (r.footprint.node24.sidecar_idle_rss_ratio = 1.66 * 1.16),
        true,
      ],
      // … while 9% more is inside the margin.
      [
        'webhook idle RSS, Node 24',
        (r: any): void => void (r.footprint.node24.webhook_idle_rss_mb *= 1.09),
        false,
      ],
      // Time keeps the 25% margin: 16% longer is not flagged.
      ['time-to-unseal, median', (r: any): void => void (r.ttu.median_ms = 23.5 * 1.16), false],
      // Idle CPU, now resolved in nanoseconds: 2.6 → 3.4 s/hour is flagged.
      [
        'sidecar idle CPU, Node 24',
        (r: any): void => void (r.footprint.node24.sidecar_idle_cpu_s_per_hour = 3.4),
        true,
      ],
      // A bare node that grew is the machine or the runtime, not our code: shown, never flagged.
      [
        'floor: bare node RSS, Node 24',
        (r: any): void => void (r.footprint.node24.bare_rss_mb = 44 * 2),
        false,
      ],
      // CPU: 30% less.
      [
        'sidecar idle CPU',
        (r: any): void => void (r.sidecar.idle_cpu_s_per_hour = 3.6 * 0.7),
        false,
      ],
      // Errors from none to a few: worse without a finite ratio.
      [
        'webhook errors, all concurrencies',
        (r: any): void => void (r.webhook.c64.errors = 3),
        true,
      ],
      // The webhook on the image's Node 24: throughput, p99 and the peak under load, each flagged
      // on its own (the test Node's unchanged).
      [
        'webhook at concurrency 16, Node 24',
        (r: any): void => void (r.webhook_by_runtime.node24.c16.rps = 2400 * 0.7),
        true,
      ],
      [
        'webhook p99 at concurrency 64, Node 24',
        (r: any): void => void (r.webhook_by_runtime.node24.c64.p99_ms = 68 * 1.3),
        true,
      ],
      [
        'webhook RSS under load, Node 24',
        (r: any): void => void (r.webhook_by_runtime.node24.peak_rss_mb = 130 * 1.4),
        true,
      ],
      // A lower peak is better, not a flag.
      [
        'webhook RSS under load, Node 24',
        (r: any): void => void (r.webhook_by_runtime.node24.peak_rss_mb = 80),
        false,
      ],
      // A floor is the machine, not the code: shown, never flagged.
      [
        'floor: time-to-unseal, median',
        (r: any): void => void (r.ttu.floor_median_ms = 7.8 * 3),
        false,
      ],
      // Where the API seal landed in UNSEAL_INTERVAL: shown, never flagged.
      ['API seal → unsealed, median', (r: any): void => void (r.api_seal.median_ms *= 5), false],
    ] as const)('%s: flagged %s', (name, change, flagged) => {
      const current = clone();
      change(current);
      const result = compare(RUN, current);
      expect(row(result.rows, name).flagged).toBe(flagged);
      expect(result.rows.filter((r) => r.flagged).map((r) => r.name)).toEqual(
        flagged ? [name] : [],
      );
      expect(result.ok).toBe(!flagged);
    });
  });

  it('compares a footprint-only run on the footprint measures, and flags a planted module', () => {
    // `npm run bench -- --quick --only=footprint --plant=eager-module --compare` (docs/footprint.md):
    // typescript imported at the sidecar's start made it 2.48 times as large on Node 20 (52.5 →
    // 130.1 MiB) and 1.62 times on Node 24 (75.9 → 123.3 MiB); the webhook and bare node unchanged.
    const footprintOnly = (r: any): any => ({ machine: r.machine, footprint: r.footprint });
    const planted = footprintOnly(clone());
    planted.footprint.node20.sidecar_idle_rss_mb = 62 * 2.48;
    planted.footprint.node20.sidecar_idle_rss_ratio = 1.51 * 2.48;
    planted.footprint.node24.sidecar_idle_rss_mb = 73 * 1.62;
    planted.footprint.node24.sidecar_idle_rss_ratio = 1.66 * 1.62;
    const footprint = MEASURES.filter((m) => m.group === 'footprint');
    const clean = compare(RUN, footprintOnly(clone()), undefined, footprint);
    expect(clean.ok).toBe(true);
    expect(clean.rows).toHaveLength(footprint.length);
    const result = compare(RUN, planted, undefined, footprint);
    expect(result.problems).toEqual([]);
    expect(result.rows.filter((r) => r.flagged).map((r) => r.name)).toEqual([
      'sidecar idle RSS, Node 20',
      'sidecar idle RSS / bare node, Node 20',
      'sidecar idle RSS, Node 24',
      'sidecar idle RSS / bare node, Node 24',
    ]);
    expect(result.ok).toBe(false);
  });

  it('gives the ratio this run / baseline, whatever the direction', () => {
    const current = clone();
    current.webhook.c1.rps = 740.5;
    current.ttu.p95_ms = 95.8;
    const { rows } = compare(RUN, current);
    expect(row(rows, 'webhook at concurrency 1').ratio).toBeCloseTo(0.5);
    expect(row(rows, 'webhook at concurrency 1').worseBy).toBeCloseTo(0.5);
    expect(row(rows, 'time-to-unseal, p95').ratio).toBeCloseTo(2);
    expect(row(rows, 'time-to-unseal, p95').worseBy).toBeCloseTo(1);
  });

  it('refuses to compare a quick run with a full baseline', () => {
    const full = clone();
    full.machine.profile = 'full';
    const result = compare(full, clone());
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([expect.stringMatching(/full run and this one is quick/)]);
  });

  it('names a measure that the baseline lacks (an older bench), and fails', () => {
    const old = clone();
    delete old.webhook.c64;
    const result = compare(old, clone());
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      'webhook at concurrency 64: missing from the baseline',
      'webhook p99 at concurrency 64: missing from the baseline',
      'webhook errors, all concurrencies: missing from the baseline',
    ]);
    expect(result.rows.map((r) => r.name)).not.toContain('webhook at concurrency 64');
  });

  it('names the Node 24 load measures as missing from a baseline made before they were measured', () => {
    const old = clone();
    delete old.webhook_by_runtime;
    const result = compare(old, clone());
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      'webhook at concurrency 1, Node 24: missing from the baseline',
      'webhook at concurrency 16, Node 24: missing from the baseline',
      'webhook at concurrency 64, Node 24: missing from the baseline',
      'webhook p99 at concurrency 16, Node 24: missing from the baseline',
      'webhook p99 at concurrency 64, Node 24: missing from the baseline',
      'webhook RSS under load, Node 24: missing from the baseline',
    ]);
  });

  it('never flags a run that is at most 25% worse on every measure (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 0.25, noNaN: true }), (worse) => {
        const current = clone();
        for (const key of ['median_ms', 'p95_ms'] as const) current.ttu[key] *= 1 + worse;
        current.raft_cold_start.median_ms *= 1 + worse;
        current.sidecar.idle_rss_mb *= 1 + worse;
        for (const key of ['c1', 'c16', 'c64']) current.webhook[key].rps *= 1 - worse;
        return compare(RUN, current).ok;
      }),
    );
  });
});

describe('ratioOf and worseBy', () => {
  it.each([
    // [better, baseline, current, ratio, worse by]
    ['lower', 100, 125, 1.25, 0.25],
    ['lower', 100, 50, 0.5, -0.5],
    ['higher', 100, 75, 0.75, 0.25],
    ['higher', 100, 150, 1.5, -0.5],
    // Both zero (no errors before or after): unchanged.
    ['lower', 0, 0, 1, 0],
    // From zero to anything: infinitely worse when lower is better.
    ['lower', 0, 2, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY],
  ] as const)('%s is better: %d → %d', (better, baseline, current, ratio, worse) => {
    expect(ratioOf(baseline, current)).toBeCloseTo(ratio);
    expect(worseBy(better, baseline, current)).toBeCloseTo(worse);
  });
});

describe('renderComparison', () => {
  it('prints every measure with its ratio, marks the flagged one, and says how many', () => {
    const current = clone();
    current.webhook.c16.p99_ms = 70;
    const text = renderComparison(compare(RUN, current), RUN);
    expect(text).toContain('Against bench/baseline.json (quick profile, 2026-11-29)');
    expect(text).toContain(
      '| webhook p99 at concurrency 16 | 35 ms | 70 ms | 2.00 | lower | **worse** |',
    );
    expect(text).toContain('| time-to-unseal, median | 23.5 ms | 23.5 ms | 1.00 | lower |  |');
    expect(text).toContain(
      '| floor: time-to-unseal, median | 7.80 ms | 7.80 ms | 1.00 | lower | (machine) |',
    );
    expect(text).toContain(
      '| API seal → unsealed, median | 2075.7 ms | 2075.7 ms | 1.00 | lower | (timer phase) |',
    );
    expect(text).toContain(
      'flagged: webhook p99 at concurrency 16 is 100% worse than the baseline (35 ms → 70 ms)',
    );
    expect(text.trimEnd().split('\n').at(-1)).toBe('compare: 1 flagged, 0 problem(s)');
  });

  it('says so when nothing is worse', () => {
    const text = renderComparison(compare(RUN, clone()), RUN, 'bench/results/a.json');
    expect(text).toContain('Against bench/results/a.json');
    expect(text.trimEnd().split('\n').at(-1)).toBe(
      'compare: nothing more than the margin worse than the baseline',
    );
  });

  it('shows an infinite ratio as ∞, and a problem as a line of its own', () => {
    const current = clone();
    current.webhook.c1.errors = 5;
    current.machine.profile = 'full';
    const text = renderComparison(compare(RUN, current), RUN);
    expect(text).toContain('| webhook errors, all concurrencies | 0 | 5 | ∞ | lower | **worse** |');
    expect(text).toContain(
      'flagged: webhook errors, all concurrencies went from none to some (0 → 5)',
    );
    expect(text).toContain('cannot compare: the baseline is a quick run and this one is full');
  });
});
