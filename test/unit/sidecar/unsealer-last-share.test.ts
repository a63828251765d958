// The check loop against a server with another submitter in between (issue 22's flake of
// second-submitter.test.ts, made deterministic): after our second share, someone else spoils the
// round (one wrong share: the server rejects it and clears it) and opens a new one with two wrong
// shares, at the progress we last saw. Our last share would complete THAT round, and a rejection
// does not say whose round it was: counted as our own, a key set of exactly t shares would be
// judged wrong. The loop reads the round's nonce again before a last share, and sees the change.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import { createRegistry } from '../../../common/metrics-registry.js';
import type { KeySnapshot } from '../../../sidecar/key-files.js';
import { createSidecarMetrics } from '../../../sidecar/metrics.js';
import type { SealStatus } from '../../../sidecar/seal-round.js';
import { createUnsealer, type Unsealer } from '../../../sidecar/unsealer.js';
import type { SubmitResult, VaultPort } from '../../../sidecar/vault-client.js';
import { sealed } from './fixtures.js';

const running: Unsealer[] = [];
afterEach(async () => {
  for (const unsealer of running.splice(0)) await unsealer.stop();
});

/** A Shamir server at threshold 3 that unseals with the `right` shares, with rounds and nonces. */
function shamirServer(right: ReadonlySet<string>) {
  let round: string[] = [];
  let nonce = '';
  let rounds = 0;
  let unsealed = false;
  const status = (): SealStatus =>
    unsealed ? sealed({ sealed: false }) : sealed({ progress: round.length, nonce });
  const submit = (hex: string): SubmitResult => {
    if (unsealed) return { kind: 'status', status: status() };
    if (round.length === 0) nonce = `round-${++rounds}`;
    if (!round.includes(hex)) round.push(hex);
    if (round.length < 3) return { kind: 'status', status: status() };
    const good = round.every((share) => right.has(share));
    round = [];
    nonce = '';
    if (!good) return { kind: 'rejected' };
    unsealed = true;
    return { kind: 'status', status: status() };
  };
  return { status, submit, progress: () => round.length };
}

describe('another submitter between our answer and our last share', () => {
  it('is seen: no "key set rejected" verdict for a key set of exactly t right shares', async () => {
    const shares = Array.from({ length: 3 }, () => randomBytes(33).toString('hex'));
    const wrong = Array.from({ length: 3 }, () => randomBytes(33).toString('hex'));
    const server = shamirServer(new Set(shares));
    let ours = 0;
    let spoilt = false;
    const vault: VaultPort = {
      sealStatus: async () => ({ ok: true, status: server.status() }),
      submitShare: async (hex) => {
        const answer = server.submit(hex);
        ours += 1;
        if (!spoilt && server.progress() === 2) {
          // Right after our answer: the round spoilt, and a new one at the same progress.
          spoilt = true;
          server.submit(wrong[0]!);
          server.submit(wrong[1]!);
          server.submit(wrong[2]!);
        }
        return answer;
      },
      resetRound: async () => ({ ok: true }),
    };
    let text = '';
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString('utf8');
        done();
      },
    });
    const registry = createRegistry({ defaultMetrics: false });
    const keys: KeySnapshot = {
      shares: shares.map((hex, i) => ({ hex, origin: `/keys/key-${i}` })),
      sources: shares.map((_, i) => ({ path: `/keys/key-${i}`, shares: 1 })),
      invalid: [],
      rootTokenFiles: [],
      counts: { sources: 3, invalidFiles: 0, notRead: 0, rootTokenFiles: 0 },
      fingerprint: shares.join(','),
    };
    const unsealer = createUnsealer({
      vault,
      readKeys: async () => keys,
      readPause: async () => ({ kind: 'no-volume' as const }),
      logger: createLogger({ name: 'test', level: 'info', destination }),
      metrics: createSidecarMetrics(registry),
      clock: { now: () => Date.now(), monotonic: () => performance.now() },
      timing: { intervalMs: 1, retryIntervalMs: 1, maxBackoffMs: 10, requestTimeoutMs: 5_000 },
    });
    running.push(unsealer);
    unsealer.start();
    await vi.waitFor(() => expect(server.status().sealed).toBe(false));
    await unsealer.stop();

    expect(spoilt, 'the other submitter acted').toBe(true);
    expect(ours).toBeGreaterThan(3);
    expect(text).not.toMatch(/key set rejected/);
    const metrics = await registry.metrics();
    expect(metrics).toContain('vault_autounseal_unseals_total{result="success"} 1');
    expect(metrics).toMatch(
      /vault_autounseal_key_submissions_total\{result="foreign-rejected"\} [1-9]/,
    );
  });
});
