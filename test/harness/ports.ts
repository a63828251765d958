import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

// Ports for test servers come from outside the kernel's ephemeral range. `listen(0)` hands out a
// port from that range, and so does every outgoing connection on the machine, so a port that was
// free a moment ago can be taken before the server binds it. OpenBao binds its cluster port only
// when it unseals, seconds after start. A raft follower whose cluster port is taken logs "bind:
// address already in use", joins, and stays sealed for good (tried here); a CI run failed with
// that symptom. Ports outside the range are never given to outgoing connections.

/** The lowest port handed out here: above the well-known and most registered service ports. */
export const LOWEST_PORT = 10_000;
/** A span narrower than this is not worth using; `listen(0)` is used instead. */
const MIN_SPAN = 2_000;

/** The kernel's ephemeral range, `[low, high]`, from /proc; Linux's default when unreadable. */
export function ephemeralRange(
  read: () => string = () => readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'),
): readonly [number, number] {
  try {
    const [low, high] = read().trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high) && low! <= high!) return [low!, high!];
  } catch {
    // No /proc (not Linux): assume Linux's default.
  }
  return [32_768, 60_999];
}

/** The widest span of ports at or above LOWEST_PORT outside `ephemeral`, if one is wide enough. */
export function spanOutside(
  ephemeral: readonly [number, number],
): readonly [number, number] | undefined {
  const [low, high] = ephemeral;
  const below: [number, number] = [LOWEST_PORT, Math.min(low - 1, 65_535)];
  const above: [number, number] = [Math.max(high + 1, LOWEST_PORT), 65_535];
  const width = ([from, to]: readonly [number, number]): number => to - from + 1;
  const widest = width(below) >= width(above) ? below : above;
  return width(widest) >= MIN_SPAN ? widest : undefined;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.once('error', () => resolveFree(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolveFree(true)));
  });
}

function kernelPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** How many slices the span is cut into, one per vitest worker (at most this many at once). */
export const WORKER_SLICES = 8;

/**
 * The part of `span` that vitest worker `poolId` (its VITEST_POOL_ID, 1 to maxWorkers) hands out
 * ports from; the whole span outside vitest. Integration files run side by side, and a server
 * binds some ports long after they were chosen (OpenBao its cluster port, at unseal; a sealed
 * server never): a port one worker chose but its server has not bound yet looks free to another.
 * Disjoint slices mean one worker never hands out another's port. A child process (the demo)
 * inherits its worker's slice.
 */
export function workerSpan(
  whole: readonly [number, number],
  poolId: string | undefined,
): readonly [number, number] {
  const id = Number(poolId);
  if (!Number.isInteger(id) || id < 1) return whole;
  const size = Math.floor((whole[1] - whole[0] + 1) / WORKER_SLICES);
  const from = whole[0] + ((id - 1) % WORKER_SLICES) * size;
  return [from, from + size - 1];
}

const outside = spanOutside(ephemeralRange());
const span = outside && workerSpan(outside, process.env['VITEST_POOL_ID']);
// Each process walks its span from its own random starting point and never hands out a port twice
// until it wraps, so a killed server's ports stay its own until it restarts, and two processes
// of one worker rarely meet.
let cursor = span ? Math.floor(Math.random() * (span[1] - span[0] + 1)) : 0;

/** A port that was free on 127.0.0.1 a moment ago, outside the ephemeral range when possible. */
export async function freePort(): Promise<number> {
  if (!span) return kernelPort();
  const size = span[1] - span[0] + 1;
  for (let tried = 0; tried < size; tried++) {
    const port = span[0] + (cursor++ % size);
    if (await canListen(port)) return port;
  }
  return kernelPort();
}

/** `count` distinct free ports (consecutive when they are free). */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out waiting for ${what}${detail}`);
    }
    await sleep(options.intervalMs ?? 100);
  }
}
