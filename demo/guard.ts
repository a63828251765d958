// The demo side of its guardian (guardian.ts): spawns it, and tells it what to clean up should the
// demo die without cleaning up itself (SIGKILL, the OOM killer).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export interface Guard {
  /** A directory to delete and a process group to kill should the demo die uncleanly. */
  own(dir: string): void;
  watch(child: ChildProcess): void;
  /** The demo cleaned up itself: the guardian exits without doing anything; resolves when it has. */
  release(): Promise<void>;
}

export function startGuardian(): Guard {
  const guardian = spawn(process.execPath, [join(import.meta.dirname, 'guardian.js')], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  guardian.once('error', () => undefined);
  guardian.stdin?.on('error', () => undefined);
  const exited = new Promise<void>((resolve) => {
    if (guardian.exitCode !== null || guardian.signalCode !== null) resolve();
    else guardian.once('exit', () => resolve());
  });
  const tell = (line: string): void => {
    if (guardian.stdin?.writable) guardian.stdin.write(`${line}\n`);
  };
  return {
    own: (dir) => tell(`dir ${dir}`),
    watch: (child) => {
      if (child.pid === undefined) return;
      const pid = child.pid;
      tell(`pid ${pid}`);
      child.once('exit', () => tell(`exited ${pid}`));
    },
    release: async () => {
      tell('done');
      guardian.stdin?.end();
      const timer = setTimeout(() => guardian.kill('SIGKILL'), 2_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
