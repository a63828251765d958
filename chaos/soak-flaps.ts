// The soak's weather: a server sealed through the API, or SIGKILLed and started again, every few
// seconds, alternately, each time waiting for the sidecar to unseal it. Only the sidecar submits
// shares, so every unseal seen here is the sidecar's.
import { performance } from 'node:perf_hooks';
import type { OpenBaoServer } from '../test/harness/openbao.js';
import { sleep } from '../test/harness/ports.js';

export type FlapKind = 'api-seal' | 'restart';

export interface FlapTally {
  /** ms from the sidecar's readiness to the fresh server's first unseal (not a flap). */
  firstUnsealMs: number | undefined;
  /** Flaps the sidecar unsealed, by kind, with ms from the fault to `sealed: false`. */
  readonly unsealMs: Record<FlapKind, number[]>;
  /** Flaps not unsealed within the bound (the soak goes on waiting for them). */
  failures: number;
  /** Faults the driver could not inject (the server's error, not the sidecar's). */
  readonly driverErrors: string[];
}

export interface FlapPlan {
  readonly server: OpenBaoServer;
  readonly rootToken: string;
  /** No fault starts after this (performance.now() time). */
  readonly lastFaultAt: number;
  /** An unseal slower than this is a failure. */
  readonly unsealBoundMs: number;
  /** Pause between an unseal and the next fault: uniform in [min, max] ms. */
  readonly pauseMs: readonly [number, number];
  /** False once the sidecar has exited: nothing will unseal the server then. */
  readonly sidecarAlive: () => boolean;
  readonly say: (line: string) => void;
}

export function newTally(): FlapTally {
  return {
    firstUnsealMs: undefined,
    unsealMs: { 'api-seal': [], restart: [] },
    failures: 0,
    driverErrors: [],
  };
}

/** Every unseal seen: the first one and one per flap. */
export function unsealCount(tally: FlapTally): number {
  const first = tally.firstUnsealMs === undefined ? 0 : 1;
  return first + tally.unsealMs['api-seal'].length + tally.unsealMs.restart.length;
}

async function isUnsealed(server: OpenBaoServer): Promise<boolean> {
  const answer = await server
    .request('GET', 'sys/seal-status', { timeoutMs: 2_000 })
    .catch(() => undefined);
  return answer?.status === 200 && (answer.body as { sealed?: boolean }).sealed === false;
}

/**
 * Waits for `sealed: false`, polling the server itself every 100 ms. Past the bound it counts one
 * failure and keeps waiting until `giveUpAt`; resolves with the ms taken, or undefined.
 */
async function awaitUnseal(plan: FlapPlan, since: number, tally: FlapTally, giveUpAt: number) {
  let late = false;
  for (;;) {
    if (await isUnsealed(plan.server)) return performance.now() - since;
    const waited = performance.now() - since;
    if (!late && waited > plan.unsealBoundMs) {
      late = true;
      tally.failures += 1;
      plan.say(`  not unsealed within ${plan.unsealBoundMs} ms of the fault; still waiting`);
    }
    if (performance.now() > giveUpAt || !plan.sidecarAlive()) return undefined;
    await sleep(100);
  }
}

/**
 * Injects one fault; resolves with the moment it took effect: the seal's answer, or the SIGKILL
 * (so a restart's time includes the server's own start, about a second).
 */
async function inject(plan: FlapPlan, kind: FlapKind): Promise<number> {
  if (kind === 'api-seal') {
    await plan.server.seal(plan.rootToken);
    return performance.now();
  }
  const killedAt = performance.now();
  await plan.server.restart();
  return killedAt;
}

/**
 * Waits for the sidecar to unseal the fresh server, then flaps it until `plan.lastFaultAt`,
 * alternating the kinds, and waits for the last unseal. Each unseal is in `tally` as it happens
 * (the sampler counts them).
 */
export async function flap(plan: FlapPlan, tally: FlapTally): Promise<void> {
  const started = performance.now();
  tally.firstUnsealMs = await awaitUnseal(plan, started, tally, started + 4 * plan.unsealBoundMs);
  if (tally.firstUnsealMs === undefined) return;
  const [low, high] = plan.pauseMs;
  for (let i = 0; ; i++) {
    await sleep(low + Math.random() * (high - low));
    if (performance.now() > plan.lastFaultAt) return;
    const kind: FlapKind = i % 2 === 0 ? 'api-seal' : 'restart';
    let since: number;
    try {
      since = await inject(plan, kind);
    } catch (error) {
      tally.driverErrors.push(`${kind}: ${(error as Error).message.split('\n')[0] ?? ''}`);
      continue;
    }
    const ms = await awaitUnseal(plan, since, tally, since + 4 * plan.unsealBoundMs);
    if (ms === undefined) {
      plan.say(`  ${kind}: the sidecar never unsealed the server; the soak stops flapping`);
      return;
    }
    tally.unsealMs[kind].push(ms);
  }
}
