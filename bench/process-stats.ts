// CPU time and resident memory of a process, from /proc (Linux only, like the images).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  ticksPerSecond ??=
    Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticksPerSecond;
}

/**
 * User plus system CPU seconds the process has used so far, in clock ticks (10 ms): too coarse for
 * an idle window (one tick in 20 s reads as 1.8 s/hour). cpuSecondsPrecise() is the one to use.
 */
export function cpuSeconds(pid: number): number {
  // Fields after the command name, which may itself hold spaces: utime and stime are 14 and 15.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / clockTicks();
}

/**
 * CPU seconds on the run queue so far, summed over the process's live threads, in nanoseconds from
 * the scheduler (/proc/PID/task/TID/schedstat, first field): a 60 s window resolves far below
 * 0.5 s/hour. Threads that exited are not counted; an idle Node process keeps all of its threads
 * (main, libuv pool, V8 platform workers). Falls back to cpuSeconds() without schedstat.
 */
export function cpuSecondsPrecise(pid: number): number {
  let total = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const field = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0];
        total += Number(field) / 1e9;
      } catch {
        // The thread ended between the listing and the read.
      }
    }
  } catch {
    return cpuSeconds(pid);
  }
  return Number.isFinite(total) && total > 0 ? total : cpuSeconds(pid);
}

/** Resident set size in MiB. */
export function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? Number.NaN) / 1024;
}
