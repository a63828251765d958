// Figures from traces, for the run's summary: how long each node took to come back after each kind
// of fault. Pure, so the numbers printed are the numbers the trace holds.
import type { FaultKind, Trace, TraceEvent } from './trace.js';

export interface UnsealTime {
  readonly node: number;
  readonly fault: FaultKind | 'none';
  /** From the moment the node could be unsealed (sealed, server up, keys and switch allowing). */
  readonly ms: number;
}

/**
 * Every return to unsealed in the trace, timed from when the sidecar could first act (the latest of:
 * the node known sealed, its server started or thawed, its switch turned off, its keys written) to
 * the first sign it is unsealed: a sidecar submission answered `sealed: false` (exact, from the
 * proxy), or a sample that shows it unsealed (at most 100 ms late).
 */
export function unsealTimes(trace: Trace): UnsealTime[] {
  const times: UnsealTime[] = [];
  for (let node = 0; node < trace.nodes; node++) {
    let lastFault: FaultKind | 'none' = 'none';
    let sealedSince: number | undefined;
    let enabledAt = 0;
    const unsealedAt = (at: number): void => {
      if (sealedSince === undefined) return;
      times.push({
        node,
        fault: lastFault,
        ms: Math.max(0, at - Math.max(sealedSince, enabledAt)),
      });
      sealedSince = undefined;
    };
    for (const event of trace.events) {
      if (!touches(event, node)) continue;
      if (event.kind === 'fault' && event.phase === 'start') lastFault = event.fault;
      if (enables(event)) enabledAt = event.t;
      if (sealsIt(event)) sealedSince ??= event.t;
      if (event.kind === 'submission' && event.status === 200 && event.sealed === false) {
        unsealedAt(event.answeredAt ?? event.t);
      }
      if (event.kind !== 'seal-status' || !event.reachable) continue;
      if (event.sealed === true) sealedSince ??= event.t;
      if (event.sealed === false) unsealedAt(event.t);
    }
  }
  return times;
}

/** A restarted server starts sealed; an API seal seals it. */
function sealsIt(event: TraceEvent): boolean {
  return event.kind === 'server' && (event.what === 'started' || event.what === 'sealed-by-api');
}

function touches(event: TraceEvent, node: number): boolean {
  return 'node' in event && (event.node === node || event.node === -1);
}

function enables(event: TraceEvent): boolean {
  switch (event.kind) {
    case 'server':
      return event.what === 'started' || event.what === 'thawed';
    case 'pause':
      return !event.paused;
    case 'keys':
      return event.currentShares >= event.threshold;
    default:
      return false;
  }
}

/** The worst and the median unseal time per fault kind, over many episodes. */
export function worstByFault(
  times: readonly UnsealTime[],
): { fault: string; count: number; medianMs: number; worstMs: number }[] {
  const byFault = new Map<string, number[]>();
  for (const time of times) byFault.set(time.fault, [...(byFault.get(time.fault) ?? []), time.ms]);
  return [...byFault.entries()]
    .map(([fault, list]) => {
      const sorted = [...list].sort((a, b) => a - b);
      return {
        fault,
        count: sorted.length,
        medianMs: sorted[Math.floor((sorted.length - 1) / 2)] ?? 0,
        worstMs: sorted[sorted.length - 1] ?? 0,
      };
    })
    .sort((a, b) => a.fault.localeCompare(b.fault));
}
