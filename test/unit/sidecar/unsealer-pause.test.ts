// The check loop and the pause switch (the downward-API annotations file), over a scripted server:
// what the operator sees in the log, /status and the metrics as the switch is unreadable, read,
// mistyped, lost again and released, and that no share goes out until it is released. The real
// kubelet file and OpenBao are in test/integration/sidecar/lifecycle.test.ts.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import { createRegistry } from '../../../common/metrics-registry.js';
import type { KeySnapshot } from '../../../sidecar/key-files.js';
import { createSidecarMetrics } from '../../../sidecar/metrics.js';
import type { PauseRead } from '../../../sidecar/pause.js';
import type { SealStatus } from '../../../sidecar/seal-round.js';
import { createUnsealer, type Unsealer } from '../../../sidecar/unsealer.js';
import type { VaultPort } from '../../../sidecar/vault-client.js';
import { sealed as sealedStatus } from './fixtures.js';

const sealed = (progress: number): SealStatus =>
  sealedStatus({ progress, nonce: progress > 0 ? 'n' : '', version: 'test' });

/** A sealed server that unseals once it has 3 distinct shares; counts what it was sent. */
function server(): VaultPort & { submitted: () => number } {
  let status = sealed(0);
  const round = new Set<string>();
  let submitted = 0;
  return {
    submitted: () => submitted,
    sealStatus: async () => ({ ok: true, status }),
    submitShare: async (hex) => {
      submitted += 1;
      round.add(hex);
      status = round.size >= 3 ? { ...sealed(0), sealed: false } : sealed(round.size);
      return { kind: 'status', status };
    },
    resetRound: async () => ({ ok: true }),
  };
}

const running: Unsealer[] = [];
afterEach(async () => {
  for (const unsealer of running.splice(0)) await unsealer.stop();
});

function start(firstRead: PauseRead) {
  const shares = Array.from({ length: 3 }, () => randomBytes(33).toString('hex'));
  const keys: KeySnapshot = {
    shares: shares.map((hex, i) => ({ hex, origin: `/keys/key-${i}` })),
    sources: shares.map((_, i) => ({ path: `/keys/key-${i}`, shares: 1 })),
    invalid: [],
    fingerprint: shares.join(','),
  };
  let text = '';
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString('utf8');
      done();
    },
  });
  const registry = createRegistry({ defaultMetrics: false });
  const vault = server();
  let read = firstRead;
  let reads = 0;
  const unsealer = createUnsealer({
    vault,
    readKeys: async () => keys,
    readPause: async () => {
      reads += 1;
      return read;
    },
    logger: createLogger({ name: 'test', level: 'info', destination }),
    metrics: createSidecarMetrics(registry),
    clock: { now: () => Date.now(), monotonic: () => performance.now() },
    // Sealed, the loop looks again every millisecond: each look reads the switch again.
    timing: { intervalMs: 60_000, retryIntervalMs: 1, maxBackoffMs: 10, requestTimeoutMs: 5_000 },
  });
  running.push(unsealer);
  unsealer.start();
  const messages = (): string[] =>
    text
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => String((JSON.parse(line) as { msg: string }).msg));
  return {
    unsealer,
    vault,
    messages,
    lines: () => text.split('\n').filter((line) => line.startsWith('{')),
    /** Resolves once the loop has read the switch `n` more times. */
    looks: async (n: number): Promise<void> => {
      const until = reads + n;
      await vi.waitFor(() => expect(reads).toBeGreaterThanOrEqual(until));
    },
    metric: async (name: string): Promise<number> =>
      Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await registry.metrics())?.[1]),
    /** The switch as the next read will find it; resolves once the loop has logged `message`. */
    set: async (next: PauseRead, message: string): Promise<void> => {
      read = next;
      await vi.waitFor(() => expect(messages()).toContain(message));
    },
  };
}

const paused = (value: string): PauseRead => {
  const state =
    value === 'true'
      ? { paused: true, unrecognisedValue: undefined }
      : value === 'false'
        ? { paused: false, unrecognisedValue: undefined }
        : { paused: true, unrecognisedValue: value };
  return { kind: 'read', state };
};

describe('the pause switch as the loop reports it', () => {
  it('never read: paused to be safe, then held, mistyped, lost and released, each said once', async () => {
    const run = start({ kind: 'unreadable', problem: 'missing' });
    await vi.waitFor(() =>
      expect(run.messages()).toContain(
        'the pause switch cannot be read and was never read; paused to be safe',
      ),
    );
    expect(run.unsealer.view()).toMatchObject({
      state: 'paused',
      paused: true,
      pauseSwitch: { source: 'unreadable', problem: 'missing' },
    });
    expect(await run.metric('vault_autounseal_paused')).toBe(1);
    expect(await run.metric('vault_autounseal_pause_switch_unreadable')).toBe(1);

    // The file appears, saying "paused": readable again, and still paused (no "resumed").
    await run.set(paused('true'), 'the pause switch can be read again');
    expect(await run.metric('vault_autounseal_pause_switch_unreadable')).toBe(0);
    expect(run.messages()).not.toContain('resumed');

    // A typo pauses too, and says which value it did not understand.
    await run.set(
      paused('ture'),
      'pause annotation vault-autounseal.io/paused has an unrecognised value; pausing to be safe',
    );
    expect(run.unsealer.view().pauseAnnotationUnrecognised).toBe('ture');

    // Lost after it was read: the last known state (paused) is kept.
    await run.set(
      { kind: 'unreadable', problem: 'permission denied' },
      'the pause switch cannot be read; keeping its last known state',
    );
    expect(run.unsealer.view()).toMatchObject({
      paused: true,
      pauseSwitch: { source: 'unreadable', problem: 'permission denied' },
    });
    expect(run.vault.submitted()).toBe(0);

    // Released: readable again, resumed, and the server is unsealed.
    await run.set(paused('false'), 'resumed');
    await vi.waitFor(() => expect(run.unsealer.view().state).toBe('unsealed'));
    expect(run.vault.submitted()).toBe(3);
    expect(await run.metric('vault_autounseal_paused')).toBe(0);

    // Each transition was said once, though the loop read the switch on every look.
    const counts = new Map<string, number>();
    for (const message of run.messages()) counts.set(message, (counts.get(message) ?? 0) + 1);
    expect(counts.get('the pause switch can be read again')).toBe(2);
    expect(counts.get('the pause switch cannot be read; keeping its last known state')).toBe(1);
    expect(counts.get('resumed')).toBe(1);
  });

  it('read "paused" at the first look: says "paused" once, submits nothing', async () => {
    const run = start(paused('true'));
    await vi.waitFor(() => expect(run.messages()).toContain('paused: no shares will be submitted'));
    expect(run.messages()).not.toContain('the pause switch can be read again');
    expect(run.vault.submitted()).toBe(0);
    expect(run.unsealer.view().state).toBe('paused');
  });

  it('another problem while unreadable is a new line; the same problem again is not', async () => {
    const run = start(paused('true'));
    await run.looks(1);
    await run.set(
      { kind: 'unreadable', problem: 'missing' },
      'the pause switch cannot be read; keeping its last known state',
    );
    await run.set(
      { kind: 'unreadable', problem: 'not a regular file' },
      'the pause switch cannot be read; keeping its last known state',
    );
    await vi.waitFor(() =>
      expect(
        run.lines().filter((line) => line.includes('"problem":"not a regular file"')),
      ).toHaveLength(1),
    );
    await run.looks(5);
    const unreadable = run
      .lines()
      .filter((line) => line.includes('keeping its last known state'))
      .map((line) => (JSON.parse(line) as { problem: string }).problem);
    expect(unreadable).toEqual(['missing', 'not a regular file']);
  });
});
