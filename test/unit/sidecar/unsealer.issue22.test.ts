// The check loop over a scripted server, for issue 22: what the log, /status and the metrics say
// of a recovery seal held for many checks, a pause over any seal state, a restart's refusals (a
// warning, then an error once they last), a key file holding a token, and lastError once over.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import { createRegistry } from '../../../common/metrics-registry.js';
import type { KeySnapshot } from '../../../sidecar/key-files.js';
import { createSidecarMetrics } from '../../../sidecar/metrics.js';
import { RESTART_GRACE_MS } from '../../../sidecar/outage-level.js';
import type { PauseRead } from '../../../sidecar/pause.js';
import type { SealStatus } from '../../../sidecar/seal-round.js';
import { createUnsealer, type Unsealer } from '../../../sidecar/unsealer.js';
import type { StatusResult, VaultPort } from '../../../sidecar/vault-client.js';
import { sealed } from './fixtures.js';

const TOKEN = `hvs.${randomBytes(18).toString('hex')}`;
const running: Unsealer[] = [];
afterEach(async () => {
  for (const unsealer of running.splice(0)) await unsealer.stop();
});

const pauseRead = (paused: boolean): PauseRead => ({
  kind: 'read',
  state: { paused, unrecognisedValue: undefined },
});

function keySnapshot(rootTokenFiles: string[] = []): KeySnapshot {
  const shares = Array.from({ length: 3 }, () => randomBytes(33).toString('hex'));
  return {
    shares: shares.map((hex, i) => ({ hex, origin: `/keys/key-${i}` })),
    sources: shares.map((_, i) => ({ path: `/keys/key-${i}`, shares: 1 })),
    invalid: [],
    rootTokenFiles,
    counts: { sources: 3, invalidFiles: 0, notRead: 0, rootTokenFiles: rootTokenFiles.length },
    fingerprint: shares.join(','),
  };
}

/** A loop over `answer` (the next seal-status answer, changeable), with a monotonic clock to skip. */
function start(options: {
  answer: () => StatusResult;
  keys?: () => KeySnapshot;
  paused?: () => boolean;
}) {
  let text = '';
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString('utf8');
      done();
    },
  });
  const registry = createRegistry({ defaultMetrics: false });
  let checks = 0;
  let skipped = 0;
  let status: SealStatus = sealed();
  const vault: VaultPort = {
    sealStatus: async () => {
      checks += 1;
      const answer = options.answer();
      if (answer.ok) status = answer.status;
      return answer;
    },
    submitShare: async () => {
      status = { ...status, sealed: false };
      return { kind: 'status', status };
    },
    resetRound: async () => ({ ok: true }),
  };
  const keys = options.keys ?? ((): KeySnapshot => keySnapshot());
  const unsealer = createUnsealer({
    vault,
    readKeys: async () => keys(),
    readPause: async () => pauseRead(options.paused?.() ?? false),
    logger: createLogger({ name: 'test', level: 'info', destination }),
    metrics: createSidecarMetrics(registry),
    clock: { now: () => Date.now(), monotonic: () => performance.now() + skipped },
    timing: { intervalMs: 1, retryIntervalMs: 1, maxBackoffMs: 10, requestTimeoutMs: 5_000 },
  });
  running.push(unsealer);
  unsealer.start();
  const lines = (): Array<Record<string, unknown>> =>
    text
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    unsealer,
    text: () => text,
    lines,
    skip: (ms: number) => {
      skipped += ms;
    },
    /** Resolves once the loop has checked `n` more times. */
    checks: async (n: number): Promise<void> => {
      const until = checks + n;
      await vi.waitFor(() => expect(checks).toBeGreaterThanOrEqual(until));
    },
    metric: async (name: string): Promise<number> =>
      Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await registry.metrics())?.[1]),
    metricsText: () => registry.metrics(),
  };
}

const ok = (status: SealStatus): StatusResult => ({ ok: true, status });
const refused: StatusResult = {
  ok: false,
  failure: {
    code: 'unreachable',
    message: 'cannot reach http://127.0.0.1:8200: ECONNREFUSED',
    errno: 'ECONNREFUSED',
  },
};

describe('a server with an auto-unseal seal', () => {
  it('is announced once, whatever the number of checks, unsealed or sealed', async () => {
    let status = sealed({ sealed: false, recoverySeal: true, type: 'transit' });
    const run = start({ answer: () => ok(status) });
    await run.checks(20);
    status = { ...status, sealed: true };
    await run.checks(20);
    const states = run.lines().filter((l) => typeof l.state === 'string');
    expect(states.map((l) => l.state)).toEqual(['recovery-seal']);
    expect(run.unsealer.view().state).toBe('recovery-seal');
  });
});

describe('/status while paused', () => {
  it.each([
    ['unsealed', sealed({ sealed: false })],
    ['not initialised', sealed({ initialized: false, threshold: 0 })],
    ['sealed', sealed()],
    ['with a recovery seal', sealed({ sealed: false, recoverySeal: true })],
  ])('says paused when the server is %s, and what it is once resumed', async (_name, status) => {
    let paused = true;
    const run = start({ answer: () => ok(status), paused: () => paused });
    await run.checks(3);
    expect(run.unsealer.view()).toMatchObject({ state: 'paused', paused: true });
    paused = false;
    await run.checks(3);
    expect(run.unsealer.view().state).not.toBe('paused');
    // The pause and the resume are each one line; the state after it, at most one more.
    expect(run.lines().filter((l) => l.msg === 'resumed')).toHaveLength(1);
  });
});

describe('a restart of the server', () => {
  it('is a warning while expected; refusals that outlast the restart window are an error, once', async () => {
    let answer: StatusResult = ok(sealed({ sealed: false }));
    const run = start({ answer: () => answer });
    await run.checks(2);
    answer = refused;
    run.unsealer.connectionLost();
    await run.checks(10);
    const refusals = () => run.lines().filter((l) => /cannot reach/.test(String(l.msg)));
    expect(refusals().map((l) => l.level)).toEqual(['warn']);
    expect(run.unsealer.view().lastError).toMatchObject({ code: 'unreachable' });
    // Back: lastError is over.
    answer = ok(sealed({ sealed: false }));
    await run.checks(2);
    expect(run.unsealer.view().lastError).toBeNull();
    // Down again, now for longer than the window: the first refusal past it is an error.
    answer = refused;
    await run.checks(5);
    run.skip(RESTART_GRACE_MS * 2);
    await run.checks(10);
    expect(refusals().map((l) => l.level)).toEqual(['warn', 'warn', 'error']);
    expect(JSON.stringify(refusals())).not.toContain(TOKEN);
  });

  it('is an error at once when it does not look like a restart (a timeout)', async () => {
    const run = start({
      answer: () => ({ ok: false, failure: { code: 'timeout', message: 'no answer in time' } }),
    });
    await run.checks(3);
    const lines = run.lines().filter((l) => /no answer/.test(String(l.msg)));
    expect(lines.map((l) => l.level)).toEqual(['error']);
  });
});

describe('key files that hold a token', () => {
  it('are named in one warning, /status and the gauge; all three clear when the files change', async () => {
    let keys = keySnapshot(['/keys/init.json']);
    const run = start({ answer: () => ok(sealed({ sealed: false })), keys: () => keys });
    await run.checks(3);
    const warnings = () => run.lines().filter((l) => Array.isArray(l.rootTokenFiles));
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ level: 'warn', rootTokenFiles: ['/keys/init.json'] });
    expect(run.unsealer.view().keys.rootTokenFiles).toEqual(['/keys/init.json']);
    expect(await run.metric('vault_autounseal_key_files_root_token')).toBe(1);
    keys = keySnapshot();
    await run.checks(3);
    expect(run.unsealer.view().keys.rootTokenFiles).toEqual([]);
    expect(await run.metric('vault_autounseal_key_files_root_token')).toBe(0);
    expect(warnings()).toHaveLength(1);
  });
});
