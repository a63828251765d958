// Keeps one process running the way a kubelet keeps a container running (restartPolicy: Always):
// when it exits, for whatever reason, start it again with the same command, storage and ports, after
// the crash-loop back-off (crash-loop.ts). A restart that fails to come up counts as another crash.
// Only the first start's failure is an error for the caller: that is a demo that cannot start.
import type { ChildProcess } from 'node:child_process';
import { afterExit, NO_CRASHES, type CrashLoopMemory } from './crash-loop.js';

export interface ExitEvent {
  readonly pid: number | undefined;
  /** `SIGKILL`, `exit code 1`, or why a restart did not come up. */
  readonly how: string;
  readonly restarts: number;
  readonly delayMs: number;
}

export interface RestartEvent {
  readonly pid: number | undefined;
  readonly restarts: number;
  /** When the first exit of this series was seen (the crash the restart recovers from). */
  readonly crashedAt: number;
  readonly readyAt: number;
}

export interface SuperviseOptions {
  /** Spawns the process, resolves once it is ready, rejects (having killed it) when it is not. */
  readonly start: () => Promise<ChildProcess>;
  /** Aborted when the demo stops: no more restarts. */
  readonly signal: AbortSignal;
  readonly onExit: (event: ExitEvent) => void;
  readonly onRestart: (event: RestartEvent) => void;
}

export interface Supervised {
  /** The process running now (after a restart, the new one). */
  current(): ChildProcess;
}

/** An error in one line: its first line and, when there are more, its last (the server's own words). */
function firstAndLastLine(error: unknown): string {
  const lines = String((error as Error).message)
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  return lines.length > 1
    ? `${lines[0]}: ${lines[lines.length - 1]}`
    : (lines[0] ?? 'unknown error');
}

function exitReason(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? signal : `exit code ${code ?? '?'}`;
}

/** Starts the process and keeps it running until `signal` aborts. */
export async function supervise(options: SuperviseOptions): Promise<Supervised> {
  const { start, signal, onExit, onRestart } = options;
  let child = await start();
  let startedAt = Date.now();
  let memory: CrashLoopMemory = NO_CRASHES;
  let crashedAt: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  signal.addEventListener('abort', () => clearTimeout(timer), { once: true });

  const crashed = (pid: number | undefined, how: string): void => {
    if (signal.aborted) return;
    const next = afterExit(memory, Date.now() - startedAt);
    memory = next.memory;
    crashedAt ??= Date.now();
    onExit({ pid, how, restarts: memory.restarts, delayMs: next.delayMs });
    timer = setTimeout(() => void restart(), next.delayMs);
  };

  const watch = (proc: ChildProcess): void => {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      crashed(proc.pid, exitReason(proc.exitCode, proc.signalCode));
      return;
    }
    proc.once('exit', (code, exitSignal) => crashed(proc.pid, exitReason(code, exitSignal)));
  };

  const restart = async (): Promise<void> => {
    if (signal.aborted) return;
    startedAt = Date.now();
    let next: ChildProcess;
    try {
      next = await start();
    } catch (error) {
      crashed(undefined, `the restart did not come up: ${firstAndLastLine(error)}`);
      return;
    }
    if (signal.aborted) return;
    child = next;
    onRestart({
      pid: child.pid,
      restarts: memory.restarts,
      crashedAt: crashedAt ?? startedAt,
      readyAt: Date.now(),
    });
    crashedAt = undefined;
    watch(child);
  };

  watch(child);
  return { current: () => child };
}
