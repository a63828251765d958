// A safety net for the "no server outlives its test" rule. Every process the harness starts carries
// VAU_HARNESS_RUN in its environment; when a test run ends (even when a worker was killed before
// its own cleanup ran), the run's teardown finds any such process still alive and kills it.
import { readdirSync, readFileSync } from 'node:fs';

export const RUN_ENV = 'VAU_HARNESS_RUN';

/** The marker to put into children's environments (set by the run's global setup). */
export function runMarker(): Record<string, string> {
  const run = process.env[RUN_ENV];
  return run ? { [RUN_ENV]: run } : {};
}

/** Pids of the live processes whose environment carries this run's marker. */
export function markedProcesses(run: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
      const status = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // A zombie has exited already; only its parent's wait() is missing.
      if (environ.split('\0').includes(`${RUN_ENV}=${run}`) && !/\) Z /.test(status))
        pids.push(Number(entry));
    } catch {
      // Gone already, or not ours to read.
    }
  }
  return pids;
}

/** Kills every process on this machine whose environment carries this run's marker. */
export function killOrphans(run: string): number {
  const pids = markedProcesses(run);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Exited in the meantime.
    }
  }
  return pids.length;
}
