// The bench's markdown (bench/report.ts): the webhook's load on each runtime, Node 24 with the
// image's options as a cluster runs it, beside the test Node's table.
import { describe, expect, it } from 'vitest';
import { renderMarkdown, type BenchResults } from '../../../bench/report.js';

const load = (connections: number, rps: number, p99: number) => ({
  connections,
  rps,
  p50_ms: 1,
  p99_ms: p99,
  errors: 0,
  requests: rps * 3,
});

const RUN: BenchResults = {
  machine: {
    cpu: 'Intel(R) Xeon(R) Processor',
    cores: 2,
    memory_gib: 24,
    node: 'v20.20.2',
    server: 'OpenBao 2.7.2',
    date: '2026-12-06T09:40:00.000Z',
    profile: 'quick',
    wall_seconds: 250,
  },
  ttu: {
    n: 4,
    median_ms: 20,
    p95_ms: 40,
    min_ms: 10,
    max_ms: 40,
    floor_median_ms: 8,
    floor_p95_ms: 12,
  },
  api_seal: { n: 4, median_ms: 2000, p95_ms: 3000, min_ms: 500, max_ms: 3000, floor_median_ms: 8 },
  raft_cold_start: {
    n: 2,
    median_ms: 4800,
    p95_ms: 5000,
    min_ms: 4600,
    max_ms: 5000,
    floor_median_ms: 4400,
  },
  webhook: {
    c1: load(1, 1500, 2),
    c16: load(16, 2000, 25),
    c64: load(64, 2100, 70),
    peak_rss_mb: 95,
  },
  sidecar: {
    idle_rss_mb: 68,
    idle_cpu_s_per_hour: 3,
    cpu_s_per_1000_checks: 3,
    checks_measured: 300,
  },
};

describe('renderMarkdown', () => {
  it('gives the webhook on each runtime, with its peak against the 80 MiB target', () => {
    const text = renderMarkdown({
      ...RUN,
      webhook_by_runtime: {
        node20: {
          node: 'v20.20.2',
          c1: load(1, 1500, 2),
          c16: load(16, 2000, 25),
          c64: load(64, 2100, 70),
          peak_rss_mb: 95,
        },
        node24: {
          node: 'v24.22.3',
          c1: load(1, 1700, 2),
          c16: load(16, 2400, 20),
          c64: load(64, 2200, 68),
          peak_rss_mb: 130,
        },
      },
    });
    expect(text).toContain(
      '| webhook at concurrency 16, v24.22.3 | 2400 req/s, p50 1 ms, p99 20 ms, 0 errors | | | – |',
    );
    expect(text).toContain(
      '| webhook at concurrency 64, v20.20.2 | 2100 req/s, p50 1 ms, p99 70 ms, 0 errors | | | – |',
    );
    expect(text).toContain(
      '| webhook RSS, peak under load, v24.22.3 | 130 MiB | | ≤ 80 MiB | **no** |',
    );
    expect(text).toContain("with the image's Node options (Node 24 is what the image runs)");
  });

  it('has no per-runtime section for a run that did not measure one', () => {
    expect(renderMarkdown(RUN)).not.toContain('on each runtime');
  });
});
