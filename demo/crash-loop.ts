// When to restart a process that exited: the kubelet's CrashLoopBackOff, scaled down for a demo.
// The kubelet restarts a container that exits at once the first time, then waits 10 s, 20 s, 40 s …
// capped at 5 min, and forgets the back-off once the container has run for 10 min (twice the cap):
// https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#container-restarts
// Here the same shape runs 1 s, 2 s, 4 s … capped at 16 s, forgotten after 32 s of running.
// Pure: the supervisor (supervisor.ts) owns the timers and the processes.

export interface CrashLoopPolicy {
  /** The delay before the second restart in a row. */
  readonly initialMs: number;
  readonly maxMs: number;
  /** A run at least this long counts as healthy: the next exit restarts at once again. */
  readonly resetAfterMs: number;
}

export const DEMO_CRASH_LOOP: CrashLoopPolicy = {
  initialMs: 1_000,
  maxMs: 16_000,
  resetAfterMs: 32_000,
};

export interface CrashLoopMemory {
  /** Restarts so far (shown to the user, as `kubectl get pods` shows RESTARTS). */
  readonly restarts: number;
  /** The delay the next exit will wait; 0 until the first restart. */
  readonly backoffMs: number;
}

export const NO_CRASHES: CrashLoopMemory = { restarts: 0, backoffMs: 0 };

/** A process exited after running `ranForMs`: how long to wait before starting it again. */
export function afterExit(
  memory: CrashLoopMemory,
  ranForMs: number,
  policy: CrashLoopPolicy = DEMO_CRASH_LOOP,
): { readonly delayMs: number; readonly memory: CrashLoopMemory } {
  const backoffMs = ranForMs >= policy.resetAfterMs ? 0 : memory.backoffMs;
  return {
    delayMs: backoffMs,
    memory: {
      restarts: memory.restarts + 1,
      backoffMs: backoffMs === 0 ? policy.initialMs : Math.min(backoffMs * 2, policy.maxMs),
    },
  };
}
