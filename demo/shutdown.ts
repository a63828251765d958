// Every way out of the demo ends the same way: everything it started has exited, and its temporary
// directory (unseal shares, root token, raft data) is deleted, before the process exits.
//
// - Children are spawned here, each in its own process group (`detached`), so a terminal's Ctrl-C
//   reaches the demo alone and the demo decides the order; a child spawned after the stop began is
//   killed at once, so a server half-way through starting cannot slip through.
// - SIGINT, SIGTERM, SIGHUP and SIGQUIT, an uncaught error, and the end of `--once` start one stop:
//   SIGTERM to every child, SIGKILL after a grace period, wait for every exit, delete the directory.
// - A second signal during the stop hurries it (SIGKILL now) and never cuts it short. A signal
//   within COALESCE_MS of the first counts as the same one: `npm run demo` forwards the terminal's
//   Ctrl-C to its child, which then gets it twice.
// - The 'exit' hook is the last resort for a path that skips the rest (process.exit elsewhere):
//   SIGKILL and a synchronous delete. SIGKILL of the demo itself runs none of this: its guardian
//   (guardian.ts), a process of its own, does the same when the demo dies without saying it is done.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { Guard } from './guard.js';

const COALESCE_MS = 250;
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

export type StopReason =
  | { readonly kind: 'signal'; readonly signal: NodeJS.Signals }
  | { readonly kind: 'error'; readonly error: unknown }
  | { readonly kind: 'done' };

export interface Shutdown {
  /** Aborted as soon as the stop begins: waits end, supervisors stop restarting. */
  readonly signal: AbortSignal;
  /** Spawns a child the stop will end (own process group; killed at once if the stop began). */
  spawn(command: string, args: readonly string[], options: SpawnOptions): ChildProcess;
  /** A directory the stop deletes after every child has exited. */
  ownDirectory(dir: string): string;
  /** Begins the stop (or hurries one under way); exits the process when done. */
  stop(reason: StopReason): Promise<never>;
  /** Installs the signal, error and exit hooks. */
  install(): void;
}

export interface ShutdownOptions {
  readonly say: (text: string) => void;
  /** How long SIGTERM'd children get before SIGKILL. */
  readonly graceMs?: number;
  /** Told about every child and directory, to clean up should the demo be killed outright. */
  readonly guard?: Guard;
}

/** Spawned (a failed spawn has no pid and may never emit 'exit') and not yet exited. */
const running = (child: ChildProcess): boolean =>
  child.pid !== undefined && child.exitCode === null && child.signalCode === null;

/** Signals the child's whole process group (it leads one: spawned detached), else the child. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (!running(child) || child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

const exitOf = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (!running(child)) resolve();
    else child.once('exit', () => resolve());
  });

function describeReason(reason: StopReason): string {
  if (reason.kind === 'signal') return reason.signal;
  if (reason.kind === 'done') return 'done';
  return 'after an error';
}

export function createShutdown({ say, graceMs = 5_000, guard }: ShutdownOptions): Shutdown {
  const children = new Set<ChildProcess>();
  const dirs = new Set<string>();
  const controller = new AbortController();
  let stopping: Promise<never> | undefined;
  let firstSignalAt = 0;
  let hurried = false;

  const hurry = (): void => {
    hurried = true;
    for (const child of children) signalGroup(child, 'SIGKILL');
  };

  const removeDirectories = (): void => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };

  const waitForEveryChild = async (): Promise<void> => {
    for (let live = [...children].filter(running); live.length > 0;) {
      await Promise.all(live.map(exitOf));
      live = [...children].filter(running);
    }
  };

  const run = async (reason: StopReason): Promise<never> => {
    const code = reason.kind === 'error' ? 1 : 0;
    try {
      const dirList = [...dirs].join(', ');
      say(
        `\nStopping (${describeReason(reason)}): SIGTERM to the sidecars and the servers, SIGKILL after ${graceMs / 1000} s; then deleting ${dirList || 'nothing'}…`,
      );
      for (const child of children) signalGroup(child, 'SIGTERM');
      const timer = setTimeout(hurry, graceMs);
      await waitForEveryChild();
      clearTimeout(timer);
      removeDirectories();
      say(
        `Everything the demo started has stopped${dirList ? `, and ${dirList} (shares, root token, raft data) is deleted` : ''}.`,
      );
      await guard?.release();
    } catch (error) {
      // Never leave the shares behind because a step above failed.
      hurry();
      removeDirectories();
      say(`Stopping hit an error: ${(error as Error).message}`);
      await guard?.release();
      process.exit(1);
    }
    process.exit(code);
  };

  const stop = (reason: StopReason): Promise<never> => {
    if (stopping) {
      const again = reason.kind === 'signal' && Date.now() - firstSignalAt > COALESCE_MS;
      if (again && !hurried) {
        say(`${reason.signal} again: killing everything now (SIGKILL); the deletion still runs.`);
        hurry();
      }
      return stopping;
    }
    if (reason.kind === 'signal') firstSignalAt = Date.now();
    controller.abort();
    stopping = run(reason);
    return stopping;
  };

  return {
    signal: controller.signal,
    spawn: (command, args, options) => {
      const child = spawn(command, args, { ...options, detached: true });
      children.add(child);
      guard?.watch(child);
      // A child that failed to spawn emits 'error' (and maybe never 'exit'); its caller sees the exit.
      child.once('error', () => undefined);
      if (stopping) signalGroup(child, 'SIGKILL');
      return child;
    },
    ownDirectory: (dir) => {
      dirs.add(dir);
      guard?.own(dir);
      return dir;
    },
    stop,
    install: () => {
      for (const signal of STOP_SIGNALS)
        process.on(signal, () => void stop({ kind: 'signal', signal }));
      const unexpected = (error: unknown): void => {
        say(`\nUnexpected error: ${error instanceof Error ? error.message : String(error)}`);
        void stop({ kind: 'error', error });
      };
      process.on('uncaughtException', unexpected);
      process.on('unhandledRejection', unexpected);
      // A closed terminal (SIGHUP) turns writes into EIO/EPIPE errors: the stop must go on regardless.
      process.stdout.on('error', () => undefined);
      process.stderr.on('error', () => undefined);
      process.once('exit', () => {
        for (const child of children) signalGroup(child, 'SIGKILL');
        removeDirectories();
      });
    },
  };
}
