// The check loop over a scripted server: a unit test of the loop's bookkeeping and of one
// invariant that must hold whatever happens: no log line, /status or metric ever contains a share.
// The real proof against OpenBao is in test/integration/sidecar.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import { createRegistry } from '../../../common/metrics-registry.js';
import type { KeySnapshot } from '../../../sidecar/key-files.js';
import { EMPTY_KEY_SNAPSHOT } from '../../../sidecar/key-snapshot.js';
import { createSidecarMetrics } from '../../../sidecar/metrics.js';
import type { SealStatus } from '../../../sidecar/seal-round.js';
import { createUnsealer } from '../../../sidecar/unsealer.js';
import type { StatusResult, SubmitResult, VaultPort } from '../../../sidecar/vault-client.js';
import { sealed as sealedStatus } from './fixtures.js';

const sealed = (progress = 0): SealStatus =>
  sealedStatus({ progress, nonce: progress > 0 ? 'n' : '', version: 'test' });

type Behaviour = 'honest' | 'wrong' | 'flaky';

/** A server that follows the unseal protocol for the shares it was given. */
function scriptedServer(good: ReadonlySet<string>, behaviour: Behaviour): VaultPort {
  let status = sealed();
  let round: string[] = [];
  let calls = 0;
  return {
    async sealStatus(): Promise<StatusResult> {
      calls += 1;
      if (behaviour === 'flaky' && calls % 3 === 0) {
        return {
          ok: false,
          failure: {
            code: 'unreachable',
            message: 'cannot reach http://127.0.0.1:1: ECONNREFUSED',
          },
        };
      }
      return { ok: true, status };
    },
    async submitShare(hex): Promise<SubmitResult> {
      if (!round.includes(hex)) round.push(hex);
      if (round.length < status.threshold) {
        status = sealed(round.length);
        return { kind: 'status', status };
      }
      const ok = behaviour !== 'wrong' && round.every((h) => good.has(h));
      round = [];
      status = ok ? { ...sealed(), sealed: false } : sealed();
      return ok
        ? { kind: 'status', status }
        : { kind: 'rejected', failure: { code: 'http', httpStatus: 400, message: 'invalid key' } };
    },
    async resetRound() {
      round = [];
      status = sealed();
      return { ok: true };
    },
  };
}

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  return {
    stream: new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString('utf8');
        done();
      },
    }),
    text: () => text,
  };
}

async function runTicks(behaviour: Behaviour, shareCount: number, ticks: number) {
  const shares = Array.from({ length: shareCount }, () => randomBytes(33).toString('hex'));
  const keys: KeySnapshot = {
    shares: shares.map((hex, i) => ({ hex, origin: `/keys/key-${i}` })),
    sources: shares.map((_, i) => ({ path: `/keys/key-${i}`, shares: 1 })),
    invalid: [],
    fingerprint: shares.join(','),
  };
  const out = sink();
  const logger = createLogger({ name: 'test', level: 'trace', destination: out.stream });
  const registry = createRegistry({ defaultMetrics: false });
  let now = 1_000_000;
  const unsealer = createUnsealer({
    vault: scriptedServer(new Set(shares), behaviour),
    readKeys: async () => keys,
    readPause: async () => ({ kind: 'no-volume' as const }),
    logger,
    metrics: createSidecarMetrics(registry),
    clock: { now: () => now, monotonic: () => now },
    timing: { intervalMs: 5_000, retryIntervalMs: 1, maxBackoffMs: 10, requestTimeoutMs: 5_000 },
  });
  unsealer.start();
  for (let i = 0; i < ticks; i++) {
    now += 20;
    await new Promise((resolve) => setTimeout(resolve, 3));
    unsealer.wake();
  }
  await unsealer.stop();
  const everything = [out.text(), JSON.stringify(unsealer.view()), await registry.metrics()].join(
    '\n',
  );
  return { shares, everything, view: unsealer.view(), metrics: await registry.metrics() };
}

describe('the check loop', () => {
  it('unseals an honest server and reports it', async () => {
    const { view, metrics } = await runTicks('honest', 3, 5);
    expect(view.state).toBe('unsealed');
    expect(view.lastUnseal).not.toBeNull();
    expect(metrics).toContain('vault_autounseal_unseals_total{result="success"} 1');
    expect(metrics).toContain('vault_autounseal_key_submissions_total{result="accepted"} 3');
  });

  it('never prints, serves or exports a share, whatever the server does', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Behaviour>('honest', 'wrong', 'flaky'),
        fc.integer({ min: 0, max: 5 }),
        async (behaviour, count) => {
          const { shares, everything } = await runTicks(behaviour, count, 8);
          for (const hex of shares) {
            expect(everything).not.toContain(hex);
            expect(everything).not.toContain(Buffer.from(hex, 'hex').toString('base64'));
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('an unexpected failure inside a check (issue 9, item 7)', () => {
  it('is logged with its message scrubbed: a share in an exception never reaches the log', async () => {
    const share = randomBytes(33).toString('hex');
    const out = sink();
    const unsealer = createUnsealer({
      vault: scriptedServer(new Set(), 'honest'),
      readKeys: async () => {
        throw new Error(`cannot use /keys/${share}: boom`);
      },
      readPause: async () => ({ kind: 'no-volume' as const }),
      logger: createLogger({ name: 'test', level: 'trace', destination: out.stream }),
      metrics: createSidecarMetrics(createRegistry({ defaultMetrics: false })),
      clock: { now: () => 1_000, monotonic: () => 1_000 },
      timing: { intervalMs: 5_000, retryIntervalMs: 1, maxBackoffMs: 10, requestTimeoutMs: 5_000 },
    });
    unsealer.start();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await unsealer.stop();
    expect(out.text()).toContain('check failed unexpectedly');
    expect(out.text()).not.toContain(share);
    expect(out.text()).not.toContain(Buffer.from(share, 'hex').toString('base64'));
  });
});

describe('a backward wall-clock step during a back-off (issue 21, item 8)', () => {
  it('does not hold unsealing back: every deadline is on the monotonic clock', async () => {
    const shares = Array.from({ length: 3 }, () => randomBytes(33).toString('hex'));
    const keys: KeySnapshot = {
      shares: shares.map((hex, i) => ({ hex, origin: `/keys/key-${i}` })),
      sources: shares.map((_, i) => ({ path: `/keys/key-${i}`, shares: 1 })),
      invalid: [],
      fingerprint: shares.join(','),
    };
    const honest = scriptedServer(new Set(shares), 'honest');
    let failNext = true;
    // The first share meets a 500: a back-off of 1 s follows.
    const vault: VaultPort = {
      ...honest,
      async submitShare(hex, wasLastShare): Promise<SubmitResult> {
        if (!failNext) return honest.submitShare(hex, wasLastShare);
        failNext = false;
        return {
          kind: 'error',
          wasLastShare,
          failure: { code: 'http', httpStatus: 500, message: 'server answered 500' },
        };
      },
    };
    let wall = Date.UTC(2026, 0, 1);
    let monotonic = 5_000;
    const unsealer = createUnsealer({
      vault,
      readKeys: async () => keys,
      readPause: async () => ({ kind: 'no-volume' as const }),
      logger: createLogger({ name: 'test', level: 'silent' }),
      metrics: createSidecarMetrics(createRegistry({ defaultMetrics: false })),
      clock: { now: () => wall, monotonic: () => monotonic },
      timing: {
        intervalMs: 5_000,
        retryIntervalMs: 1,
        maxBackoffMs: 60_000,
        requestTimeoutMs: 5_000,
      },
    });
    const settle = async (until: (state: string) => boolean): Promise<void> => {
      for (let i = 0; i < 50 && !until(unsealer.view().state); i++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        unsealer.wake();
      }
    };
    unsealer.start();
    await settle((state) => state === 'backing-off');
    expect(unsealer.view().state).toBe('backing-off');
    // Shown on the wall clock: a second from now.
    expect(unsealer.view().backoffUntil).toBe(new Date(wall + 1_000).toISOString());

    // NTP steps the wall clock back an hour while a little over a second passes.
    wall -= 3_600_000;
    monotonic += 1_100;
    await settle((state) => state === 'unsealed');
    await unsealer.stop();
    expect(unsealer.view().state).toBe('unsealed');
  });
});

describe('a server that keeps answering 429 (issue 21, item 14)', () => {
  it('stays live through a back-off longer than the liveness window, and not past it', async () => {
    let rateLimited = 0;
    const vault: VaultPort = {
      async sealStatus(): Promise<StatusResult> {
        rateLimited += 1;
        return {
          ok: false,
          failure: {
            code: 'rate-limited',
            httpStatus: 429,
            message: 'server answered 429 Too Many Requests',
          },
        };
      },
      async submitShare(): Promise<SubmitResult> {
        throw new Error('nothing is submitted to a server that never answered sealed');
      },
      async resetRound() {
        return { ok: true };
      },
    };
    let monotonic = 5_000;
    const unsealer = createUnsealer({
      vault,
      readKeys: async () => EMPTY_KEY_SNAPSHOT,
      readPause: async () => ({ kind: 'no-volume' as const }),
      logger: createLogger({ name: 'test', level: 'silent' }),
      metrics: createSidecarMetrics(createRegistry({ defaultMetrics: false })),
      clock: { now: () => Date.UTC(2026, 0, 1), monotonic: () => monotonic },
      // Liveness allows three of the longest waits: 3 s here.
      timing: {
        intervalMs: 1_000,
        retryIntervalMs: 1,
        maxBackoffMs: 60_000,
        requestTimeoutMs: 1_000,
      },
    });
    unsealer.start();
    // Five 429s in a row (each wake is a check): the back-off is now 16 s.
    for (let checks = 1; checks < 5; checks++) {
      for (let i = 0; i < 100 && rateLimited < checks; i++) {
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      unsealer.wake();
    }
    for (let i = 0; i < 100 && rateLimited < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(rateLimited).toBe(5);
    expect(unsealer.view().state).toBe('backing-off');
    // 10 s into that back-off the loop is waiting on purpose, not stalled.
    monotonic += 10_000;
    expect(unsealer.isLive()).toBe(true);
    // 3 s after the check should have run, with no beat: stalled.
    monotonic += 6_000 + 3_001;
    expect(unsealer.isLive()).toBe(false);
    await unsealer.stop();
  });
});
