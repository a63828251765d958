// The machine-wide lock of the real node: `flock` on /tmp/vault-autounseal-node.lock, held by a
// `cat` that flock runs and that exits when its stdin closes. So the lock goes with the process
// that took it, even when that process is killed (the kernel closes the pipe), and the next run
// finds the lock free and the previous run's leftovers to clean.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { LOCK_FILE } from './paths.js';

export interface NodeLock {
  /** What the previous holder wrote (its scratch directory), if any. */
  readonly previous: string;
  /** Records this run's scratch directory in the lock file, for the next run to clean. */
  record(dir: string): void;
  release(): Promise<void>;
}

export async function acquireLock(timeoutMs: number): Promise<NodeLock> {
  const child: ChildProcess = spawn(
    'flock',
    [
      '--exclusive',
      '--wait',
      String(Math.ceil(timeoutMs / 1000)),
      LOCK_FILE,
      'sh',
      '-c',
      'echo locked; exec cat',
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const started = Date.now();
  const holder = (): string => {
    try {
      return readFileSync(LOCK_FILE, 'utf8').trim();
    } catch {
      return '';
    }
  };
  const notice = setInterval(() => {
    process.stderr.write(
      `[node] waiting ${Math.round((Date.now() - started) / 1000)} s for ${LOCK_FILE} (held by: ${holder() || 'unknown'})\n`,
    );
  }, 30_000);
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout?.once('data', () => resolve());
      child.once('exit', (code) =>
        reject(
          new Error(
            `another real node holds ${LOCK_FILE} (${holder() || 'no record'}) after ${timeoutMs / 1000} s (flock exited ${code}): ${err}`,
          ),
        ),
      );
      child.once('error', reject);
    });
  } finally {
    clearInterval(notice);
  }
  const previous = holder();
  return {
    previous,
    record: (dir) => writeFileSync(LOCK_FILE, `${dir} pid ${process.pid}\n`),
    release: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      writeFileSync(LOCK_FILE, '');
      child.stdin?.end();
      await exited;
    },
  };
}
