// The demo's restart policy (demo/crash-loop.ts), a pure function: kept beside the demo's own
// tests. The shape is the kubelet's CrashLoopBackOff, scaled down.
import { describe, expect, it } from 'vitest';
import {
  afterExit,
  DEMO_CRASH_LOOP,
  NO_CRASHES,
  type CrashLoopMemory,
} from '../../../demo/crash-loop.js';

/** The delays a process gets when it exits after each of `runs` (ms). */
function delaysFor(runs: readonly number[]): number[] {
  let memory: CrashLoopMemory = NO_CRASHES;
  return runs.map((ranForMs) => {
    const next = afterExit(memory, ranForMs, DEMO_CRASH_LOOP);
    memory = next.memory;
    return next.delayMs;
  });
}

describe('afterExit (crash-loop back-off)', () => {
  it.each([
    // The first exit restarts at once: one crash is not a loop.
    { runs: [5_000], delays: [0] },
    // Crashing again and again: 1 s, doubling, capped at 16 s.
    {
      runs: [100, 100, 100, 100, 100, 100, 100],
      delays: [0, 1_000, 2_000, 4_000, 8_000, 16_000, 16_000],
    },
    // A run of 32 s or more was healthy: the back-off is forgotten, the next restart is at once.
    { runs: [100, 100, 100, 32_000, 100], delays: [0, 1_000, 2_000, 0, 1_000] },
  ])('exits after $runs ms of running wait $delays ms', ({ runs, delays }) => {
    expect(delaysFor(runs)).toEqual(delays);
  });

  it('counts every restart', () => {
    let memory = NO_CRASHES;
    for (let i = 0; i < 5; i++) memory = afterExit(memory, i * 40_000).memory;
    expect(memory.restarts).toBe(5);
  });
});
