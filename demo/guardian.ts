// The demo's guardian: a small process of its own that cleans up after a demo that could not, i.e.
// one killed with SIGKILL (or by the OOM killer), which runs no handler at all. The demo spawns it
// first (guard.ts) and tells it, on its stdin, the directory it owns and the process groups it
// starts. The pipe closes when the demo dies, however it dies. After `done` (the demo cleaned up
// itself) the guardian just exits; without it, it kills those process groups and deletes the
// directory, shares included.
import { rmSync } from 'node:fs';

const groups = new Set<number>();
const dirs = new Set<string>();
let done = false;
let buffered = '';

// Its own session already keeps it from the terminal's signals; ignore them in any case.
process.on('SIGINT', () => undefined);
process.on('SIGHUP', () => undefined);

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function handle(line: string): void {
  const [verb, ...rest] = line.split(' ');
  const arg = rest.join(' ');
  if (verb === 'dir') dirs.add(arg);
  else if (verb === 'pid') groups.add(Number(arg));
  else if (verb === 'exited') groups.delete(Number(arg));
  else if (verb === 'done') done = true;
}

async function cleanUp(): Promise<void> {
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  // A killed process can still write for a moment until the kernel has taken it down.
  for (let i = 0; i < 50 && [...groups].some(alive); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

process.stdin.on('data', (chunk: Buffer) => {
  buffered += chunk.toString('utf8');
  const lines = buffered.split('\n');
  buffered = lines.pop() ?? '';
  lines.forEach(handle);
});
process.stdin.on('end', () => {
  if (done) process.exit(0);
  void cleanUp().finally(() => process.exit(0));
});
