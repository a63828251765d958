// One footprint sample of a running sidecar: RSS and open descriptors from /proc (Linux, like the
// images), the V8 heap and the event-loop lag from its own /metrics (prom-client's default metrics,
// registered by common/metrics-registry.ts).
//
// The lag is `nodejs_eventloop_lag_seconds`: at each scrape prom-client queues a setImmediate and
// records how long it waited, read at the next scrape, so one value a second. The delay histogram's
// `nodejs_eventloop_lag_p99_seconds` cannot be sampled once a second: it records the interval
// between two ticks of a 1 s timer (EVENT_LOOP_SAMPLE_MS), the first tick after each scrape's
// reset is not recorded, and scraped every second it is always empty and reads 0.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { rssMb } from '../bench/process-stats.js';
import { sleep } from '../test/harness/ports.js';

/** NODE_OPTIONS that load soak-gc-hook.js (beside this file) into the sidecar. */
export function gcHookNodeOptions(): string {
  return `--expose-gc --import=${join(import.meta.dirname, 'soak-gc-hook.js')}`;
}

/** Whether `pid` has a handler for signal number `signal` (SigCgt in /proc/<pid>/status). */
export function catchesSignal(pid: number, signal: number): boolean {
  const match = /^SigCgt:\s+([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match?.[1] !== undefined && (BigInt(`0x${match[1]}`) >> BigInt(signal - 1)) % 2n === 1n;
}

export const SIGUSR2 = 12;

/**
 * Asks the sidecar for a full garbage collection (soak-gc-hook.ts) and gives it a moment to run
 * it. Only when its handler is there: SIGUSR2 unhandled would end the process.
 */
export async function collectGarbage(pid: number): Promise<boolean> {
  if (!catchesSignal(pid, SIGUSR2)) return false;
  process.kill(pid, 'SIGUSR2');
  await sleep(100);
  return true;
}

/** The value of an unlabelled metric in a Prometheus text exposition; NaN when absent. */
export function metricValue(exposition: string, name: string): number {
  const line = exposition.split('\n').find((text) => text.startsWith(`${name} `));
  return line === undefined
    ? NaN
    : Number(
        line
          .slice(name.length + 1)
          .trim()
          .split(' ')[0],
      );
}

/** Open file descriptors of a process, and how many of them are sockets. */
export function openDescriptors(pid: number): { fds: number; sockets: number } {
  const dir = `/proc/${pid}/fd`;
  const entries = readdirSync(dir);
  let sockets = 0;
  for (const entry of entries) {
    try {
      if (readlinkSync(`${dir}/${entry}`).startsWith('socket:')) sockets += 1;
    } catch {
      // Closed between the listing and the readlink: counted as open, not as a socket.
    }
  }
  return { fds: entries.length, sockets };
}

export interface Footprint {
  readonly rssMb: number;
  readonly heapUsedMb: number;
  readonly fds: number;
  readonly sockets: number;
  readonly eventLoopLagMs: number;
}

/**
 * Samples the sidecar `pid` that serves /metrics at `httpAddr`. The scrape has its own deadline, so
 * a stuck sidecar shows as missing heap and lag values rather than a stuck soak.
 */
export async function sampleFootprint(pid: number, httpAddr: string): Promise<Footprint> {
  const exposition = await fetch(`${httpAddr}/metrics`, { signal: AbortSignal.timeout(2_000) })
    .then((answer) => answer.text())
    .catch(() => '');
  return {
    rssMb: rssMb(pid),
    heapUsedMb: metricValue(exposition, 'nodejs_heap_size_used_bytes') / 2 ** 20,
    ...openDescriptors(pid),
    eventLoopLagMs: metricValue(exposition, 'nodejs_eventloop_lag_seconds') * 1_000,
  };
}
