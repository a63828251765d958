// `npm run bench -- --compare`: the run just made against the baseline committed in bench/, one
// ratio per measure, and a flag on each that is more than 25% worse in its own direction (time,
// memory and CPU lower is better, requests per second higher). The floors (the scripted client
// alone on the same machine) are shown beside them, never flagged: when a floor moved as much as
// a measure, the machine was slower, not the code. The API-seal time is shown and not flagged
// either: it is where in UNSEAL_INTERVAL the seal happened to land (0 to 5 s by design). Pure.
import type { LoadResult } from './measures.js';
import type { BenchResults, WebhookRuntimeLoad } from './report.js';

export type Better = 'lower' | 'higher';

export interface Measure {
  readonly name: string;
  readonly unit: string;
  readonly better: Better;
  /** Shown for context, never flagged; says why (a floor: the machine, not the code). */
  readonly context?: string;
  readonly read: (results: BenchResults) => number | undefined;
  /** `footprint`: measured by `--only=footprint` too (bench/footprint.ts). */
  readonly group?: 'footprint';
  /** Its own margin, where the default is wider than both its spread and a real regression. */
  readonly tolerance?: number;
}

/**
 * The margin for the bundles' idle RSS. Between rounds of one run it moved by under 1% (the Node 24
 * sidecar 65.6 to 65.9 MiB, the webhook 71.7 to 71.8: docs/footprint.md), and an ES import of
 * node:http, the eager load the second pass removed, adds 11 MiB to a 65 MiB sidecar: 16%, inside
 * the default 25%.
 */
export const RSS_TOLERANCE = 0.1;

const load = (results: BenchResults, key: string): LoadResult | undefined => {
  const run = results.webhook?.[key];
  return typeof run === 'object' ? run : undefined;
};

/**
 * Memory and idle CPU of the bundles as the images run them, per runtime, in MiB and as a ratio to
 * a bare `node` measured beside them: the ratio holds across machines, the MiB say what a pod pays.
 */
const FOOTPRINT: readonly Measure[] = ['node20', 'node24'].flatMap((key): Measure[] => {
  const f = (r: BenchResults) => r.footprint?.[key];
  const label = `Node ${key.slice(4)}`;
  return [
    {
      name: `sidecar idle RSS, ${label}`,
      unit: 'MiB',
      better: 'lower',
      group: 'footprint',
      tolerance: RSS_TOLERANCE,
      read: (r) => f(r)?.sidecar_idle_rss_mb,
    },
    {
      name: `sidecar idle RSS / bare node, ${label}`,
      unit: '×',
      better: 'lower',
      group: 'footprint',
      tolerance: RSS_TOLERANCE,
      read: (r) => f(r)?.sidecar_idle_rss_ratio,
    },
    {
      name: `sidecar idle CPU, ${label}`,
      unit: 's/hour',
      better: 'lower',
      group: 'footprint',
      read: (r) => f(r)?.sidecar_idle_cpu_s_per_hour,
    },
    {
      name: `webhook idle RSS, ${label}`,
      unit: 'MiB',
      better: 'lower',
      group: 'footprint',
      tolerance: RSS_TOLERANCE,
      read: (r) => f(r)?.webhook_idle_rss_mb,
    },
    {
      name: `webhook idle RSS / bare node, ${label}`,
      unit: '×',
      better: 'lower',
      group: 'footprint',
      tolerance: RSS_TOLERANCE,
      read: (r) => f(r)?.webhook_idle_rss_ratio,
    },
    {
      name: `floor: bare node RSS, ${label}`,
      unit: 'MiB',
      better: 'lower',
      group: 'footprint',
      context: 'machine',
      read: (r) => f(r)?.bare_rss_mb,
    },
  ];
});

type Concurrency = 'c1' | 'c16' | 'c64';

/**
 * Throughput at each concurrency and p99 at 16 and 64, for one webhook load run: the test Node's
 * (`webhook`), or the images' Node 24 with the image's options (`webhook_by_runtime`,
 * bench/measures.ts), named with `suffix`.
 */
function loadMeasures(
  suffix: string,
  run: (r: BenchResults, key: Concurrency) => LoadResult | undefined,
): Measure[] {
  return [
    ...(['c1', 'c16', 'c64'] as const).map((key): Measure => ({
      name: `webhook at concurrency ${key.slice(1)}${suffix}`,
      unit: 'req/s',
      better: 'higher',
      read: (r) => run(r, key)?.rps,
    })),
    ...(['c16', 'c64'] as const).map((key): Measure => ({
      name: `webhook p99 at concurrency ${key.slice(1)}${suffix}`,
      unit: 'ms',
      better: 'lower',
      read: (r) => run(r, key)?.p99_ms,
    })),
  ];
}

/** The webhook's load on the images' Node 24: what a cluster runs, beside the test Node's. */
const imageLoad = (r: BenchResults): WebhookRuntimeLoad | undefined =>
  r.webhook_by_runtime?.['node24'];

export const MEASURES: readonly Measure[] = [
  ...FOOTPRINT,
  { name: 'time-to-unseal, median', unit: 'ms', better: 'lower', read: (r) => r.ttu?.median_ms },
  { name: 'time-to-unseal, p95', unit: 'ms', better: 'lower', read: (r) => r.ttu?.p95_ms },
  {
    name: 'API seal → unsealed, median',
    unit: 'ms',
    better: 'lower',
    context: 'timer phase',
    read: (r) => r.api_seal?.median_ms,
  },
  {
    name: 'raft 3-node cold start, median',
    unit: 'ms',
    better: 'lower',
    read: (r) => r.raft_cold_start?.median_ms,
  },
  {
    name: 'sidecar idle RSS',
    unit: 'MB',
    better: 'lower',
    read: (r) => r.sidecar?.idle_rss_mb,
  },
  {
    name: 'sidecar idle CPU',
    unit: 's/hour',
    better: 'lower',
    read: (r) => r.sidecar?.idle_cpu_s_per_hour,
  },
  {
    name: 'sidecar CPU per 1,000 checks',
    unit: 's',
    better: 'lower',
    read: (r) => r.sidecar?.cpu_s_per_1000_checks,
  },
  ...loadMeasures('', load),
  {
    name: 'webhook errors, all concurrencies',
    unit: '',
    better: 'lower',
    read: (r: BenchResults): number | undefined => {
      const runs = ['c1', 'c16', 'c64'].map((key) => load(r, key));
      return runs.every((run) => run !== undefined)
        ? runs.reduce((sum, run) => sum + (run?.errors ?? 0), 0)
        : undefined;
    },
  },
  {
    name: 'webhook RSS under load',
    unit: 'MB',
    better: 'lower',
    read: (r: BenchResults): number | undefined => {
      const peak = r.webhook?.['peak_rss_mb'];
      return typeof peak === 'number' ? peak : undefined;
    },
  },
  ...loadMeasures(', Node 24', (r, key) => imageLoad(r)?.[key]),
  {
    name: 'webhook RSS under load, Node 24',
    unit: 'MiB',
    better: 'lower',
    read: (r) => imageLoad(r)?.peak_rss_mb,
  },
  {
    name: 'floor: time-to-unseal, median',
    unit: 'ms',
    better: 'lower',
    context: 'machine',
    read: (r) => r.ttu?.floor_median_ms,
  },
  {
    name: 'floor: raft 3-node cold start, median',
    unit: 'ms',
    better: 'lower',
    context: 'machine',
    read: (r) => r.raft_cold_start?.floor_median_ms,
  },
];

export interface Row {
  readonly name: string;
  readonly unit: string;
  readonly better: Better;
  /** Why the row is never flagged, or undefined for a gated measure. */
  readonly context: string | undefined;
  readonly baseline: number;
  readonly current: number;
  /** current / baseline; 1 when both are 0, Infinity when only the baseline is 0. */
  readonly ratio: number;
  /** How much worse than the baseline, in its own direction, as a fraction (negative: better). */
  readonly worseBy: number;
  readonly flagged: boolean;
}

export interface Comparison {
  readonly rows: readonly Row[];
  /** Why the two runs cannot be compared, or measures that one of them lacks. */
  readonly problems: readonly string[];
  /** True when nothing is flagged and there is no problem. */
  readonly ok: boolean;
}

/** The default margin: a measure more than 25% worse than the baseline is flagged. */
export const TOLERANCE = 0.25;

export function ratioOf(baseline: number, current: number): number {
  if (baseline === 0) return current === 0 ? 1 : Number.POSITIVE_INFINITY;
  return current / baseline;
}

/** How much worse `current` is than `baseline`, as a fraction of the baseline. */
export function worseBy(better: Better, baseline: number, current: number): number {
  const ratio = ratioOf(baseline, current);
  return better === 'lower' ? ratio - 1 : 1 - ratio;
}

export function compare(
  baseline: BenchResults,
  current: BenchResults,
  tolerance = TOLERANCE,
  measures: readonly Measure[] = MEASURES,
): Comparison {
  const problems: string[] = [];
  const profile = (r: BenchResults): unknown => r.machine?.['profile'];
  if (profile(baseline) !== profile(current)) {
    problems.push(
      `the baseline is a ${String(profile(baseline))} run and this one is ${String(profile(current))}: ` +
        'compare runs of one profile (add or drop --quick, or refresh the baseline)',
    );
  }
  const rows: Row[] = [];
  for (const measure of measures) {
    const before = measure.read(baseline);
    const after = measure.read(current);
    if (!Number.isFinite(before) || !Number.isFinite(after)) {
      const missing = Number.isFinite(before) ? 'this run' : 'the baseline';
      problems.push(`${measure.name}: missing from ${missing}`);
      continue;
    }
    const b = before as number;
    const a = after as number;
    const worse = worseBy(measure.better, b, a);
    rows.push({
      name: measure.name,
      unit: measure.unit,
      better: measure.better,
      context: measure.context,
      baseline: b,
      current: a,
      ratio: ratioOf(b, a),
      worseBy: worse,
      flagged: measure.context === undefined && worse > (measure.tolerance ?? tolerance),
    });
  }
  return { rows, problems, ok: problems.length === 0 && rows.every((row) => !row.flagged) };
}

const number = (x: number, unit: string): string =>
  `${Number.isInteger(x) ? x : x.toFixed(x < 10 ? 2 : 1)}${unit ? ` ${unit}` : ''}`;

/** The comparison as a markdown table, then one line per flag or problem. */
export function renderComparison(
  comparison: Comparison,
  baseline: BenchResults,
  label = 'bench/baseline.json',
  tolerance = TOLERANCE,
): string {
  const lines = [
    `Against ${label} (${String(baseline.machine?.['profile'])} profile, ` +
      `${String(baseline.machine?.['date']).slice(0, 10)}); flagged when more than ` +
      `${Math.round(tolerance * 100)}% worse (${Math.round(RSS_TOLERANCE * 100)}% for the bundles' idle RSS).`,
    '',
    '| measure | baseline | this run | ratio | better | flag |',
    '| --- | --- | --- | --- | --- | --- |',
    ...comparison.rows.map((row) => {
      const ratio = Number.isFinite(row.ratio) ? row.ratio.toFixed(2) : '∞';
      const flag = row.context ? `(${row.context})` : row.flagged ? '**worse**' : '';
      return `| ${row.name} | ${number(row.baseline, row.unit)} | ${number(row.current, row.unit)} | ${ratio} | ${row.better} | ${flag} |`;
    }),
    '',
  ];
  for (const row of comparison.rows.filter((r) => r.flagged)) {
    const from = `${number(row.baseline, row.unit)} → ${number(row.current, row.unit)}`;
    lines.push(
      Number.isFinite(row.worseBy)
        ? `flagged: ${row.name} is ${Math.round(row.worseBy * 100)}% worse than the baseline (${from})`
        : `flagged: ${row.name} went from none to some (${from})`,
    );
  }
  for (const problem of comparison.problems) lines.push(`cannot compare: ${problem}`);
  lines.push(
    comparison.ok
      ? 'compare: nothing more than the margin worse than the baseline'
      : `compare: ${comparison.rows.filter((r) => r.flagged).length} flagged, ${comparison.problems.length} problem(s)`,
  );
  return `${lines.join('\n')}\n`;
}
