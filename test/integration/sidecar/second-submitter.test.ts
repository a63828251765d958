// Someone else submitting shares to the same server (issue 21, items 2 and 3): an operator with the
// CLI while the sidecar holds the wrong keys, or a second submitter racing the sidecar's rounds.
// The sidecar takes no credit for an unseal it did not complete, gives no verdict on a round that
// held someone else's shares, and keeps a rejected key set visible until its own shares unseal.
import { describe, expect, it } from 'vitest';
import { writeSecretVolume } from '../../harness/key-volume.js';
import { startOpenBao, type OpenBaoServer } from '../../harness/openbao.js';
import { sleep, waitFor } from '../../harness/ports.js';
import { expectNoLeaks, metricValue, sidecarFor, tempDir, track } from './context.js';

const checksOk = async (sidecar: { metrics(): Promise<string> }): Promise<number> =>
  metricValue(await sidecar.metrics(), 'vault_autounseal_checks_total{result="ok"}');

/** Waits until the sidecar has checked `count` more times (so it has seen what just changed). */
async function moreChecks(sidecar: { metrics(): Promise<string> }, count: number): Promise<void> {
  const before = await checksOk(sidecar);
  await waitFor(`${count} more checks`, async () =>
    (await checksOk(sidecar)) >= before + count ? true : undefined,
  );
}

/**
 * A second submitter, slower than the sidecar (a person with the CLI, another sidecar's rounds):
 * one of `keys` every few milliseconds for `ms`, whatever the server answers.
 */
async function trickle(server: OpenBaoServer, keys: readonly string[], ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (let i = 0; Date.now() < until; i++) {
    await server.submitShare(keys[i % keys.length]!);
    await sleep(5);
  }
}

/** Unseals as a human would, retrying a round that someone else's share spoilt. */
async function unsealByHand(server: OpenBaoServer, keys: readonly string[]): Promise<void> {
  await waitFor(
    'the server unsealed by hand',
    async () => {
      for (const key of keys) {
        const answer = await server.submitShare(key);
        if ((answer.body as { sealed?: boolean }).sealed === false) return true;
      }
      return (await server.sealStatus()).sealed === false ? true : undefined;
    },
    { timeoutMs: 30_000 },
  );
}

describe('an operator unsealing by hand while the sidecar holds a rejected key set', () => {
  it('is "unsealed by someone else": no success, no credit, and the rejection stays visible until the files change', async () => {
    const server = track(await startOpenBao({ storage: 'persistent' }));
    const init = await server.init(5, 3);
    const other = track(await startOpenBao({ storage: 'persistent' }));
    const wrong = await other.init(5, 3);
    const keysDir = tempDir('keys');
    const files = (keys: readonly string[]) =>
      Object.fromEntries(keys.map((k, i) => [`key-${i}`, k]));
    writeSecretVolume(keysDir, files(wrong.keysHex.slice(0, 3)));
    const sidecar = await sidecarFor(server.addr, keysDir, { UNSEAL_MAX_BACKOFF: '60s' });
    await waitFor('the key set rejected', async () =>
      (await sidecar.status()).state === 'wrong-keys' ? true : undefined,
    );

    await server.unsealWith(init.keysHex.slice(0, 3));
    await moreChecks(sidecar, 3);
    const status = await sidecar.status();
    expect(status.vault.sealed).toBe(false);
    expect(status.state).toBe('wrong-keys');
    expect(status.keys.rejected).toBe(true);
    expect(status.lastUnseal).toBeNull();
    expect(status.lastError.code).toBe('wrong-keys');
    let metrics = await sidecar.metrics();
    expect(metricValue(metrics, 'vault_autounseal_unseals_total{result="success"}')).toBe(0);
    expect(metricValue(metrics, 'vault_autounseal_key_set_rejected')).toBe(1);
    const logs = sidecar.logs();
    expect(logs.some((l) => l.msg === 'server is unsealed')).toBe(false);
    expect(
      logs.some((l) => l.level === 'warn' && /unsealed by someone else/.test(String(l.msg))),
    ).toBe(true);

    // The next restart stays sealed, and says why.
    await server.restart();
    await moreChecks(sidecar, 3);
    expect((await sidecar.status()).keys.rejected).toBe(true);
    expect((await server.sealStatus()).sealed).toBe(true);

    // Fixed files: the sidecar's own shares unseal it, and the rejection is gone.
    writeSecretVolume(keysDir, files(init.keysHex.slice(2, 5)));
    await server.waitUntil('unsealed by the sidecar', (s) => s.sealed === false, 30_000);
    await waitFor('the sidecar to see its own unseal', async () =>
      (await sidecar.status()).state === 'unsealed' ? true : undefined,
    );
    metrics = await sidecar.metrics();
    expect(metricValue(metrics, 'vault_autounseal_unseals_total{result="success"}')).toBe(1);
    expect(metricValue(metrics, 'vault_autounseal_key_set_rejected')).toBe(0);
    expect((await sidecar.status()).keys.rejected).toBe(false);
    await expectNoLeaks(sidecar, init, wrong);
  });
});

describe('a second submitter racing the sidecar', () => {
  it('with wrong shares: the sidecar with exactly t right ones gives no "key set rejected" verdict and never backs off', async () => {
    const server = track(await startOpenBao({ storage: 'persistent' }));
    const init = await server.init(5, 3);
    const other = track(await startOpenBao({ storage: 'persistent' }));
    const wrong = await other.init(5, 3);
    const keysDir = tempDir('keys');
    writeSecretVolume(
      keysDir,
      Object.fromEntries(init.keysHex.slice(0, 3).map((k, i) => [`key-${i}`, k])),
    );
    const sidecar = await sidecarFor(server.addr, keysDir, { UNSEAL_RETRY_INTERVAL: '50ms' });
    await server.waitUntil('first unseal', (s) => s.sealed === false, 30_000);

    for (let cycle = 0; cycle < 4; cycle++) {
      await server.seal(init.rootToken);
      await trickle(server, wrong.keysHex, 2_000);
      await server.waitUntil(`unsealed after cycle ${cycle}`, (s) => s.sealed === false, 30_000);
    }
    const metrics = await sidecar.metrics();
    // The race happened: rounds that held the other submitter's shares failed.
    expect(
      metricValue(metrics, 'vault_autounseal_key_submissions_total{result="foreign-rejected"}'),
    ).toBeGreaterThan(0);
    const logs = sidecar.logs();
    expect(logs.filter((l) => /key set rejected/.test(String(l.msg)))).toEqual([]);
    expect(logs.filter((l) => l.state === 'wrong-keys')).toEqual([]);
    expect(metricValue(metrics, 'vault_autounseal_key_submissions_total{result="rejected"}')).toBe(
      0,
    );
    expect((await sidecar.status()).keys).toMatchObject({ rejected: false, suspectFiles: [] });
    await expectNoLeaks(sidecar, init, wrong);
  });

  it('with right shares: the sidecar whose shares are all wrong counts no success and names no suspect file', async () => {
    const server = track(await startOpenBao({ storage: 'persistent' }));
    const init = await server.init(5, 3);
    const other = track(await startOpenBao({ storage: 'persistent' }));
    const wrong = await other.init(5, 3);
    const keysDir = tempDir('keys');
    writeSecretVolume(keysDir, Object.fromEntries(wrong.keysHex.map((k, i) => [`key-${i}`, k])));
    const sidecar = await sidecarFor(server.addr, keysDir, {
      UNSEAL_RETRY_INTERVAL: '50ms',
      UNSEAL_MAX_BACKOFF: '1s',
    });
    await waitFor('the sidecar submitting', async () =>
      metricValue(await sidecar.metrics(), 'vault_autounseal_unseals_total{result="failure"}') > 0
        ? true
        : undefined,
    );

    for (let cycle = 0; cycle < 6; cycle++) {
      await unsealByHand(server, init.keysHex);
      await sleep(300);
      await server.seal(init.rootToken);
      await sleep(300);
    }
    await unsealByHand(server, init.keysHex);
    await moreChecks(sidecar, 2);
    const metrics = await sidecar.metrics();
    expect(metricValue(metrics, 'vault_autounseal_unseals_total{result="success"}')).toBe(0);
    expect(metricValue(metrics, 'vault_autounseal_key_files_suspect')).toBe(0);
    const status = await sidecar.status();
    expect(status.keys.suspectFiles).toEqual([]);
    expect(status.lastUnseal).toBeNull();
    expect(sidecar.logs().filter((l) => l.suspectFiles !== undefined)).toEqual([]);
    await expectNoLeaks(sidecar, init, wrong);
  });
});
