// Did anything grow during the soak? A pure function over the samples: drop the warm-up, fit a
// least-squares line to the rest of each series, and compare what the line climbed over that
// window with a limit. No I/O here, so the rule is tested on synthetic series
// (test/unit/chaos/soak-growth.test.ts) and the soak only calls it.

/** One row of the soak's CSV: the sidecar's footprint at one moment. */
export interface SoakSample {
  /** Seconds since the soak started. */
  readonly elapsedS: number;
  readonly rssMb: number;
  readonly heapUsedMb: number;
  readonly fds: number;
  readonly sockets: number;
  /** How long the sidecar's event loop kept a callback waiting; NaN when not read. */
  readonly eventLoopLagMs: number;
  /** Unseals by the sidecar seen so far. */
  readonly unseals: number;
}

export type SeriesName = 'rss_mb' | 'heap_used_mb' | 'fds' | 'sockets' | 'eventloop_lag_ms';

export interface GrowthLimit {
  /** False: the series is fitted and printed, but never fails the soak. */
  readonly judged: boolean;
  /** Fraction of the series' median after warm-up. */
  readonly relative: number;
  /** In the series' own unit: below this, a climb is noise whatever the fraction says. */
  readonly floor: number;
}

/**
 * A series grew when its fitted line climbed, over the window after warm-up, by more than
 * max(relative × the window's median, floor). The floors are what one sample can differ from the
 * next without a leak: the allocator's share of RSS, what a round allocates in the heap, a request
 * in flight holding one more socket.
 */
export const GROWTH_LIMITS: Readonly<Record<SeriesName, GrowthLimit>> = {
  rss_mb: { judged: true, relative: 0.05, floor: 2 },
  heap_used_mb: { judged: true, relative: 0.05, floor: 1 },
  fds: { judged: true, relative: 0.05, floor: 3 },
  sockets: { judged: true, relative: 0.05, floor: 3 },
  // Reported, not judged: on a machine shared with other work the loop's lag follows the
  // neighbours' load (spikes of 50-100 ms on an idle sidecar), and over a short soak's 30 s window
  // least squares read those spikes as a 20 ms climb in 4 % of windows. A hot loop is caught by the
  // chaos episodes' request-rate invariants instead.
  eventloop_lag_ms: { judged: false, relative: 0.05, floor: 20 },
};

export const SERIES: readonly SeriesName[] = [
  'rss_mb',
  'heap_used_mb',
  'fds',
  'sockets',
  'eventloop_lag_ms',
];

const PICK: Readonly<Record<SeriesName, (sample: SoakSample) => number>> = {
  rss_mb: (s) => s.rssMb,
  heap_used_mb: (s) => s.heapUsedMb,
  fds: (s) => s.fds,
  sockets: (s) => s.sockets,
  eventloop_lag_ms: (s) => s.eventLoopLagMs,
};

/** Fewer points than this after warm-up, and no verdict is given. */
export const MIN_POINTS = 10;

/**
 * The warm-up: the first 20 % of the run, but at least a minute (half of a run shorter than two
 * minutes). Start-up compiles code, grows the heap to its working size and opens the first
 * connections; none of that is a leak.
 */
export function warmUpSeconds(durationS: number): number {
  return Math.max(0.2 * durationS, Math.min(60, 0.5 * durationS));
}

export interface Line {
  readonly slope: number;
  readonly intercept: number;
}

/** Ordinary least squares of y on x; undefined for fewer than two distinct x. */
export function leastSquares(xs: readonly number[], ys: readonly number[]): Line | undefined {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return undefined;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += xs[i] ?? 0;
    sy += ys[i] ?? 0;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (xs[i] ?? 0) - mx;
    sxx += dx * dx;
    sxy += dx * ((ys[i] ?? 0) - my);
  }
  if (sxx === 0) return undefined;
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] ?? NaN)
    : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

export type Verdict = 'flat' | 'grew' | 'too few samples' | 'not judged';

export interface SeriesResult {
  readonly series: SeriesName;
  /** Points after warm-up with a value. */
  readonly points: number;
  /** First and last value after warm-up, and the extremes after warm-up. */
  readonly first: number;
  readonly last: number;
  readonly min: number;
  readonly max: number;
  /** Units per minute. */
  readonly slopePerMin: number;
  /** What the fitted line climbed from the window's first point to its last. */
  readonly growth: number;
  /** max(relative × median, floor). */
  readonly limit: number;
  readonly verdict: Verdict;
  /** The fitted line (x in seconds since the soak started), for the plot. */
  readonly line?: Line;
}

export interface GrowthAnalysis {
  readonly warmUpS: number;
  readonly series: readonly SeriesResult[];
  /** True when some series grew. */
  readonly grew: boolean;
}

function judgeSeries(
  series: SeriesName,
  window: readonly SoakSample[],
  limits: Readonly<Record<SeriesName, GrowthLimit>>,
): SeriesResult {
  const points = window
    .map((s) => ({ x: s.elapsedS, y: PICK[series](s) }))
    .filter((p) => Number.isFinite(p.y));
  const ys = points.map((p) => p.y);
  const line = leastSquares(
    points.map((p) => p.x),
    ys,
  );
  const span = points.length ? (points[points.length - 1]?.x ?? 0) - (points[0]?.x ?? 0) : 0;
  const growth = line ? line.slope * span : NaN;
  const { judged, relative, floor } = limits[series];
  const limit = Math.max(relative * Math.abs(median(ys)), floor);
  const verdict: Verdict = !judged
    ? 'not judged'
    : !line || points.length < MIN_POINTS
      ? 'too few samples'
      : growth > limit
        ? 'grew'
        : 'flat';
  return {
    series,
    points: points.length,
    first: ys[0] ?? NaN,
    last: ys[ys.length - 1] ?? NaN,
    min: ys.length ? Math.min(...ys) : NaN,
    max: ys.length ? Math.max(...ys) : NaN,
    slopePerMin: line ? line.slope * 60 : NaN,
    growth,
    limit,
    verdict,
    ...(line ? { line } : {}),
  };
}

/** Judges every series of a soak that ran `durationS` seconds. */
export function analyseGrowth(
  samples: readonly SoakSample[],
  durationS: number,
  limits: Readonly<Record<SeriesName, GrowthLimit>> = GROWTH_LIMITS,
): GrowthAnalysis {
  const warmUpS = warmUpSeconds(durationS);
  const window = samples.filter((s) => s.elapsedS >= warmUpS);
  const series = SERIES.map((name) => judgeSeries(name, window, limits));
  return { warmUpS, series, grew: series.some((s) => s.verdict === 'grew') };
}

const fmt = (value: number, digits = 2): string =>
  Number.isFinite(value) ? value.toFixed(digits) : '-';

/** The table the soak prints: one row per series. */
export function growthTable(analysis: GrowthAnalysis): string {
  const head = ['series', 'points', 'first', 'last', 'min', 'max', 'slope/min', 'growth', 'limit'];
  const rows = analysis.series.map((r) => [
    r.series,
    String(r.points),
    fmt(r.first),
    fmt(r.last),
    fmt(r.min),
    fmt(r.max),
    fmt(r.slopePerMin, 3),
    fmt(r.growth),
    fmt(r.limit),
    r.verdict,
  ]);
  const all = [[...head, 'verdict'], ...rows];
  const widths = all[0]?.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length))) ?? [];
  return all
    .map((row) =>
      row
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
        .join('  '),
    )
    .join('\n');
}

export const CSV_HEADER = 'elapsed_s,rss_mb,heap_used_mb,fds,sockets,eventloop_lag_ms,unseals';

const cell = (value: number, digits: number): string =>
  Number.isFinite(value) ? value.toFixed(digits) : '';

/** One CSV line (no newline); a value that could not be read is an empty cell. */
export function csvRow(s: SoakSample): string {
  return [
    cell(s.elapsedS, 3),
    cell(s.rssMb, 2),
    cell(s.heapUsedMb, 2),
    cell(s.fds, 0),
    cell(s.sockets, 0),
    cell(s.eventLoopLagMs, 2),
    cell(s.unseals, 0),
  ].join(',');
}
