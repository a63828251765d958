// Runs the built sidecar (`node dist/sidecar/main.js`) as a real process, the way a pod runs it:
// configuration through the environment, output captured so tests can parse the JSON log lines and
// search everything it printed for key material.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { runMarker } from './orphans.js';
import { freePort, waitFor } from './ports.js';
import { repoRoot } from './repo-root.js';

export const SIDECAR_MAIN = join(repoRoot(), 'dist', 'sidecar', 'main.js');

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** The environment without the developer's Vault settings, plus what the test sets. */
function sidecarEnv(env: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(VAULT|BAO|UNSEAL)_|^LOG_LEVEL$|^NODE_OPTIONS$/.test(key)) base[key] = value;
  }
  return { ...base, ...runMarker(), ...env };
}

export interface SidecarProcess {
  readonly httpAddr: string;
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** The JSON log lines printed so far. */
  logs(): Array<Record<string, any>>;
  status(): Promise<any>;
  metrics(): Promise<string>;
  get(path: string): Promise<{ status: number; text: string }>;
  /** SIGTERM and wait; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the sidecar; resolves once `/readyz` answers 200. */
export async function startSidecar(
  env: Readonly<Record<string, string>>,
  options: {
    args?: readonly string[];
    waitReady?: boolean;
    /** Another entry point than the shipped one (the chaos tool's planted-defect builds). */
    entry?: string;
  } = {},
): Promise<SidecarProcess> {
  const port = await freePort();
  const httpAddr = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [options.entry ?? SIDECAR_MAIN, ...(options.args ?? [])], {
    env: sidecarEnv({ UNSEAL_HTTP_ADDR: `127.0.0.1:${port}`, ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  const get = async (path: string): Promise<{ status: number; text: string }> => {
    const response = await fetch(`${httpAddr}${path}`);
    return { status: response.status, text: await response.text() };
  };
  const handle: SidecarProcess = {
    httpAddr,
    child,
    exited,
    stdout: () => out,
    stderr: () => err,
    logs: () =>
      out
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, any>),
    get,
    status: async () => JSON.parse((await get('/status')).text),
    metrics: async () => (await get('/metrics')).text,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return (await exited).code;
    },
  };
  if (options.waitReady ?? true) {
    const ready = waitFor(
      `sidecar /readyz on ${httpAddr}`,
      async () => ((await get('/readyz')).status === 200 ? true : undefined),
      { timeoutMs: 20_000 },
    );
    const died = exited.then(({ code }) => {
      throw new Error(`sidecar exited with ${code} before it was ready:\n${out}\n${err}`);
    });
    try {
      await Promise.race([ready, died]);
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    } finally {
      died.catch(() => undefined);
    }
  }
  return handle;
}

/** Runs the sidecar to its exit (for configuration errors); resolves with its output. */
export async function runSidecarToExit(
  env: Readonly<Record<string, string>>,
  args: readonly string[] = [],
  timeoutMs = 20_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const sidecar = await startSidecar(env, { args, waitReady: false });
  const timer = setTimeout(() => sidecar.child.kill('SIGKILL'), timeoutMs);
  const { code } = await sidecar.exited;
  clearTimeout(timer);
  return { code, stdout: sidecar.stdout(), stderr: sidecar.stderr() };
}
