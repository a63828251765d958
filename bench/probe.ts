// A fast, independent observer of one server, and the scripted "floor" client. Both poll
// `GET /v1/sys/seal-status` every 2 ms over fresh connections; neither is the sidecar.
import http from 'node:http';
import { performance } from 'node:perf_hooks';

interface SealStatusBody {
  readonly initialized?: boolean;
  readonly sealed?: boolean;
  readonly t?: number;
  readonly progress?: number;
}

const POLL_MS = 2;
const agent = new http.Agent({ keepAlive: false });
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One request; undefined when the server does not answer (yet). */
export function call(
  addr: string,
  method: 'GET' | 'PUT',
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown } | undefined> {
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      `${addr}/v1/${path}`,
      {
        method,
        agent,
        timeout: 2_000,
        headers: payload ? { 'content-type': 'application/json' } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
        res.on('error', () => resolve(undefined));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end(payload);
  });
}

export interface Observation {
  /** performance.now() of the first answer of the server's API. */
  readonly firstAnswer: number;
  /** performance.now() of the first answer saying `sealed: false`. */
  readonly unsealed: number;
}

/**
 * Polls until the server answers, then until it says unsealed. With `shares`, it is the floor
 * client: the instant a sealed, initialised server answers, it submits what the round still needs.
 */
export async function observe(
  addr: string,
  options: { shares?: readonly string[]; timeoutMs?: number } = {},
): Promise<Observation> {
  const deadline = performance.now() + (options.timeoutMs ?? 120_000);
  let firstAnswer: number | undefined;
  // Like the sidecar, never resubmit to a raft follower that is still joining after our round.
  let submittedAt = Number.NEGATIVE_INFINITY;
  while (performance.now() < deadline) {
    const answer = await call(addr, 'GET', 'sys/seal-status');
    const now = performance.now();
    const body = answer?.status === 200 ? (answer.body as SealStatusBody) : undefined;
    if (body) firstAnswer ??= now;
    if (body?.sealed === false) return { firstAnswer: firstAnswer ?? now, unsealed: now };
    const ready = body?.initialized === true && (body.t ?? 0) > 0;
    if (body && options.shares && ready && now - submittedAt > 30_000) {
      submittedAt = now;
      const unsealedAt = await submitRound(addr, options.shares, body);
      if (unsealedAt !== undefined)
        return { firstAnswer: firstAnswer ?? now, unsealed: unsealedAt };
    }
    await sleep(POLL_MS);
  }
  throw new Error(`${addr} was not unsealed in time`);
}

async function submitRound(
  addr: string,
  shares: readonly string[],
  status: SealStatusBody,
): Promise<number | undefined> {
  const needed = (status.t ?? 0) - (status.progress ?? 0);
  for (const key of shares.slice(0, needed)) {
    const answer = await call(addr, 'PUT', 'sys/unseal', { key });
    if ((answer?.body as SealStatusBody | undefined)?.sealed === false) return performance.now();
  }
  return undefined;
}
