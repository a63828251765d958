// The bench's numbers as the markdown table the README shows, with the targets beside them. Pure.
import type { Summary } from './stats.js';
import type { LoadResult } from './measures.js';
import type { RuntimeFootprint } from './footprint.js';

/** The bench's target for the webhook's peak RSS under load, on every runtime. */
const WEBHOOK_PEAK_TARGET_MIB = 80;

export interface WebhookRuntimeLoad {
  /** `process.version` of the runtime. */
  readonly node: string;
  readonly c1: LoadResult;
  readonly c16: LoadResult;
  readonly c64: LoadResult;
  readonly peak_rss_mb: number;
}

export interface BenchResults {
  readonly machine: Readonly<Record<string, string | number>>;
  readonly ttu: Summary & { readonly floor_median_ms: number; readonly floor_p95_ms: number };
  readonly api_seal: Summary & { readonly floor_median_ms: number };
  readonly raft_cold_start: Summary & { readonly floor_median_ms: number };
  /** The webhook under load on the bench's own Node (the test Node): c1, c16, c64, peak_rss_mb. */
  readonly webhook: Readonly<Record<string, LoadResult | number>>;
  /**
   * The same load per runtime (`node20`, `node24`), each with the image's Node options: Node 24 is
   * what the image runs. The bench's own runtime is the run in `webhook` too (measured once).
   */
  readonly webhook_by_runtime?: Readonly<Record<string, WebhookRuntimeLoad>>;
  readonly sidecar: {
    readonly idle_rss_mb: number;
    readonly idle_cpu_s_per_hour: number;
    readonly cpu_s_per_1000_checks: number;
    readonly checks_measured: number;
  };
  /** Per runtime (`node20`, `node24`): the bundles idle beside a bare node (bench/footprint.ts). */
  readonly footprint?: Readonly<Record<string, RuntimeFootprint>>;
}

/** The footprint table: per runtime, MiB and the ratio to a bare `node` beside them, and targets. */
export function renderFootprint(r: Pick<BenchResults, 'machine' | 'footprint'>): string {
  const m = r.machine;
  const rows = Object.values(r.footprint ?? {}).flatMap((f) => [
    `| bare \`node\` | ${f.node} | ${f.bare_rss_mb} MiB | 1 | | – |`,
    `| sidecar idle RSS | ${f.node} | ${f.sidecar_idle_rss_mb} MiB | ${f.sidecar_idle_rss_ratio} | ≤ 50 MiB | ${mark(f.sidecar_idle_rss_mb <= 50)} |`,
    `| sidecar idle CPU | ${f.node} | ${f.sidecar_idle_cpu_s_per_hour} s/hour | | ≤ 3.6 s/hour | ${mark(f.sidecar_idle_cpu_s_per_hour <= 3.6)} |`,
    `| webhook idle RSS | ${f.node} | ${f.webhook_idle_rss_mb} MiB | ${f.webhook_idle_rss_ratio} | ≤ 50 MiB | ${mark(f.webhook_idle_rss_mb <= 50)} |`,
  ]);
  return [
    `Footprint measured ${String(m['date']).slice(0, 10)} on ${m['cores']} × ${m['cpu']}, ${m['memory_gib']} GiB, load average ${m['load_average_1m'] ?? '?'}${m['planted'] ? `, PLANTED: ${m['planted']}` : ''}${m['entry'] ? `, entry: ${m['entry']}` : ''}${m['sidecar_node_options'] ? `, sidecar node options: ${m['sidecar_node_options']}` : ''}: the bundles (dist/bundle/*.mjs) idle beside a bare \`node\`, RSS the median of 10 samples a second apart.`,
    '',
    '| measure | runtime | result | ratio to bare node | target | met |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

type Row = [measure: string, result: string, floor: string, target: string, met: boolean | null];

const ms = (x: number): string => `${Math.round(x)} ms`;
const mark = (met: boolean | null): string => (met === null ? '–' : met ? 'yes' : '**no**');

export function renderMarkdown(r: BenchResults): string {
  const c16 = r.webhook['c16'] as LoadResult;
  const rows: Row[] = [
    [
      'time-to-unseal after a restart, median',
      ms(r.ttu.median_ms),
      ms(r.ttu.floor_median_ms),
      '≤ floor + 100 ms',
      r.ttu.median_ms <= r.ttu.floor_median_ms + 100,
    ],
    [
      'time-to-unseal after a restart, p95',
      ms(r.ttu.p95_ms),
      ms(r.ttu.floor_p95_ms),
      '≤ floor + 300 ms',
      r.ttu.p95_ms <= r.ttu.floor_p95_ms + 300,
    ],
    [
      'API seal → unsealed again, median',
      ms(r.api_seal.median_ms),
      ms(r.api_seal.floor_median_ms),
      '(one UNSEAL_INTERVAL at most)',
      null,
    ],
    [
      'raft 3-node cold start, median',
      ms(r.raft_cold_start.median_ms),
      ms(r.raft_cold_start.floor_median_ms),
      '≤ floor + 500 ms',
      r.raft_cold_start.median_ms <= r.raft_cold_start.floor_median_ms + 500,
    ],
    [
      'sidecar idle CPU',
      `${r.sidecar.idle_cpu_s_per_hour} s/hour`,
      '',
      '≤ 3.6 s/hour',
      r.sidecar.idle_cpu_s_per_hour <= 3.6,
    ],
    [
      'sidecar CPU per 1,000 checks',
      `${r.sidecar.cpu_s_per_1000_checks} s`,
      '',
      'small, measured',
      null,
    ],
    [
      'sidecar idle RSS (tsc output, test Node)',
      `${r.sidecar.idle_rss_mb} MiB`,
      '',
      '(the bundle: below)',
      null,
    ],
    [
      'webhook at concurrency 16',
      `${c16.rps} req/s, p99 ${c16.p99_ms} ms, ${c16.errors} errors`,
      '',
      '≥ 6,000 req/s, p99 ≤ 5 ms',
      c16.rps >= 6000 && c16.p99_ms <= 5 && c16.errors === 0,
    ],
    [
      'webhook RSS, peak under load (up to 64 connections)',
      `${r.webhook['peak_rss_mb'] as number} MiB`,
      '',
      `≤ ${WEBHOOK_PEAK_TARGET_MIB} MiB`,
      (r.webhook['peak_rss_mb'] as number) <= WEBHOOK_PEAK_TARGET_MIB,
    ],
  ];
  // One load run as a row; `runtime` names the Node when the table has one row per runtime.
  const loadRow = (run: LoadResult, runtime = ''): string =>
    `| webhook at concurrency ${run.connections}${runtime} | ${run.rps} req/s, p50 ${run.p50_ms} ms, p99 ${run.p99_ms} ms, ${run.errors} errors | | | – |`;
  const loads = ['c1', 'c64'].map((key) => loadRow(r.webhook[key] as LoadResult));
  const byRuntime = Object.values(r.webhook_by_runtime ?? {}).flatMap((w) => [
    ...[w.c1, w.c16, w.c64].map((run) => loadRow(run, `, ${w.node}`)),
    `| webhook RSS, peak under load, ${w.node} | ${w.peak_rss_mb} MiB | | ≤ ${WEBHOOK_PEAK_TARGET_MIB} MiB | ${mark(w.peak_rss_mb <= WEBHOOK_PEAK_TARGET_MIB)} |`,
  ]);
  const m = r.machine;
  return [
    `Measured ${String(m['date']).slice(0, 10)} on ${m['cores']} × ${m['cpu']}, ${m['memory_gib']} GiB, Node ${m['node']}, ${m['server']} (${m['profile']} profile: ttu n=${r.ttu.n}, raft n=${r.raft_cold_start.n}; ${m['wall_seconds']} s).`,
    '',
    '| measure | result | floor | target | met |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map(([a, b, c, d, e]) => `| ${a} | ${b} | ${c} | ${d} | ${mark(e)} |`),
    ...loads,
    ...(byRuntime.length > 0
      ? [
          '',
          "The webhook under the same load on each runtime, with the image's Node options (Node 24 is what the image runs):",
          '',
          '| measure | result | floor | target | met |',
          '| --- | --- | --- | --- | --- |',
          ...byRuntime,
        ]
      : []),
    '',
    ...(r.footprint ? [renderFootprint(r)] : []),
  ].join('\n');
}
