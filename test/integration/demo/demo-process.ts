// Runs the built demo (`node dist/demo/main.js`, what `npm run demo` runs after preparing) as a user
// would, with its own TMPDIR so that whatever it leaves on disk is easy to see, and its own run
// marker so that whatever it leaves running is easy to find (test/harness/orphans.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killOrphans, markedProcesses, RUN_ENV } from '../../harness/orphans.js';
import { waitFor } from '../../harness/ports.js';
import { repoRoot } from '../../harness/repo-root.js';

export interface DemoRun {
  readonly child: ChildProcess;
  /** The TMPDIR the demo was given: empty before it starts, and must be empty after it exits. */
  readonly tmp: string;
  readonly run: string;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Waits until the demo has printed something matching `pattern`. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** What is left in its TMPDIR. */
  leftoverFiles(): string[];
  /** Processes it started that are still alive. */
  leftoverProcesses(): number[];
  /** Kills whatever is left and removes the TMPDIR (afterEach). */
  dispose(): void;
}

export function startDemo(env: Readonly<Record<string, string>> = {}): DemoRun {
  const run = randomUUID();
  const tmp = mkdtempSync(join(tmpdir(), 'vau-demo-test-'));
  const child = spawn(process.execPath, [join(repoRoot(), 'dist', 'demo', 'main.js')], {
    env: { ...process.env, [RUN_ENV]: run, TMPDIR: tmp, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    tmp,
    run,
    exited,
    output: () => out,
    waitForOutput: async (pattern, timeoutMs = 150_000) => {
      const gone = exited.then(({ code, signal }) => {
        throw new Error(`the demo exited (${code ?? signal}) before printing ${pattern}\n${out}`);
      });
      try {
        await Promise.race([
          gone,
          waitFor(`the demo to print ${pattern}`, () => (pattern.test(out) ? true : undefined), {
            timeoutMs,
            intervalMs: 100,
          }),
        ]);
      } catch (error) {
        throw new Error(`${(error as Error).message}\n--- demo output ---\n${out}`);
      } finally {
        gone.catch(() => undefined);
      }
    },
    leftoverFiles: () => readdirSync(tmp),
    leftoverProcesses: () => markedProcesses(run),
    dispose: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      killOrphans(run);
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** The OpenBao server processes of a demo run: pid, config file and API address, from /proc. */
export function serverProcesses(run: string): Array<{ pid: number; config: string; addr: string }> {
  const servers: Array<{ pid: number; config: string; addr: string }> = [];
  for (const pid of markedProcesses(run)) {
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const config = argv.find((arg) => arg.startsWith('-config='))?.slice('-config='.length);
    if (argv[1] !== 'server' || !config) continue;
    const addr = /^api_addr\s*=\s*"([^"]+)"/m.exec(readFileSync(config, 'utf8'))?.[1];
    if (addr) servers.push({ pid, config, addr });
  }
  return servers.sort((a, b) => a.config.localeCompare(b.config));
}
