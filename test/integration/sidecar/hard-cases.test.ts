// The unlucky operator's cases, against a real OpenBao: a stale share among good ones, two bad
// shares, a stranger's partial round at t − 1, a server failing every unseal, and a pause switch
// that becomes unreadable. Each failed on the sidecar before issue 9.
import { mkdirSync, rmSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeAnnotationsVolume, writeSecretVolume } from '../../harness/key-volume.js';
import { startOpenBao, type InitResult } from '../../harness/openbao.js';
import { sleep, waitFor } from '../../harness/ports.js';
import { expectNoLeaks, metricValue, sidecarFor, submissions, tempDir, track } from './context.js';

/** Shares of another, unrelated cluster: what a stale Secret or a leftover file holds. */
async function foreignShares(): Promise<InitResult> {
  const other = track(await startOpenBao({ storage: 'dev-uninit' }));
  return other.init(5, 3);
}

describe('one stale share among enough good ones (item 1)', () => {
  it('finds a working set, unseals, and names the stale file as suspect', async () => {
    const server = track(await startOpenBao({ storage: 'persistent' }));
    const init = await server.init(5, 3);
    const stale = await foreignShares();
    const keysDir = tempDir('keys');
    // The stale share sorts first; 4 good shares follow; t = 3.
    writeSecretVolume(keysDir, {
      '0-stale': stale.keysHex[0]!,
      ...Object.fromEntries(init.keysHex.slice(0, 4).map((k, i) => [`key-${i + 1}`, k])),
    });
    const sidecar = await sidecarFor(server.addr, keysDir);
    await server.waitUntil('unsealed despite the stale share', (s) => s.sealed === false);

    const status = await waitFor('the suspect file in /status', async () => {
      const s = await sidecar.status();
      return s.keys.suspectFiles.length > 0 ? s : undefined;
    });
    expect(status.keys.suspectFiles).toEqual([join(keysDir, '0-stale')]);
    const metrics = await sidecar.metrics();
    expect(metricValue(metrics, 'vault_autounseal_key_files_suspect')).toBe(1);
    expect(sidecar.logs().some((l) => l.level === 'warn' && l.suspectFiles?.length === 1)).toBe(
      true,
    );
    // It was a search, not a verdict on the key set.
    expect(sidecar.logs().some((l) => /key set rejected/.test(l.msg))).toBe(false);

    // The next restart goes straight to the set that worked: t submissions, no rejection.
    const before = submissions(await sidecar.metrics());
    await server.restart();
    await server.waitUntil('unsealed again after a restart', (s) => s.sealed === false);
    await waitFor('the sidecar to see it', async () =>
      metricValue(await sidecar.metrics(), 'vault_autounseal_unseals_total{result="success"}') === 2
        ? true
        : undefined,
    );
    const after = submissions(await sidecar.metrics());
    expect(after.rejected).toBe(before.rejected);
    expect(after.accepted - before.accepted).toBe(3);

    // The operator removes the stale file: /status and the gauge (and so the warning alert on
    // it) clear with the key change, with no restart.
    writeSecretVolume(
      keysDir,
      Object.fromEntries(init.keysHex.slice(0, 4).map((k, i) => [`key-${i + 1}`, k])),
    );
    await waitFor('the suspect gauge to clear', async () =>
      metricValue(await sidecar.metrics(), 'vault_autounseal_key_files_suspect') === 0
        ? true
        : undefined,
    );
    expect((await sidecar.status()).keys.suspectFiles).toEqual([]);
    await expectNoLeaks(sidecar, init, stale);
  });
});

describe('two bad shares among five, threshold 3 (item 1)', () => {
  it('still unseals when a working set exists, and stops searching when none does', async () => {
    const server = track(await startOpenBao({ storage: 'persistent' }));
    const init = await server.init(5, 3);
    const stale = await foreignShares();
    const keysDir = tempDir('keys');
    writeSecretVolume(keysDir, {
      a: stale.keysHex[0]!,
      b: stale.keysHex[1]!,
      c: init.keysHex[0]!,
      d: init.keysHex[1]!,
      e: init.keysHex[2]!,
    });
    const sidecar = await sidecarFor(server.addr, keysDir);
    await server.waitUntil('unsealed with the one working set', (s) => s.sealed === false);
    expect((await sidecar.status()).keys.suspectFiles.sort()).toEqual(
      [join(keysDir, 'a'), join(keysDir, 'b')].sort(),
    );
    await expectNoLeaks(sidecar, init, stale);
  });

  it('with three bad shares of five, every combination fails once, then it backs off', async () => {
    const server = track(await startOpenBao({ storage: 'persistent' }));
    const init = await server.init(5, 3);
    const stale = await foreignShares();
    const keysDir = tempDir('keys');
    writeSecretVolume(keysDir, {
      a: stale.keysHex[0]!,
      b: stale.keysHex[1]!,
      c: stale.keysHex[2]!,
      d: init.keysHex[0]!,
      e: init.keysHex[1]!,
    });
    const sidecar = await sidecarFor(server.addr, keysDir, { UNSEAL_MAX_BACKOFF: '30s' });
    const status = await waitFor('the key set to be declared wrong', async () => {
      const s = await sidecar.status();
      return s.state === 'wrong-keys' ? s : undefined;
    });
    expect(status.backoffReason).toBe('wrong-keys');
    // All C(5,3) = 10 combinations, each failing once at the threshold, then a back-off of 1 s.
    expect(submissions(await sidecar.metrics()).rejected).toBe(10);
    // After each back-off (1 s, 2 s, 4 s …) one more search: bounded, and reported only once.
    await sleep(4_000);
    const later = submissions(await sidecar.metrics()).rejected;
    expect(later % 10).toBe(0);
    expect(later).toBeLessThanOrEqual(30);
    expect(sidecar.logs().filter((l) => /key set rejected/.test(l.msg))).toHaveLength(1);
    expect((await server.sealStatus()).sealed).toBe(true);
    await expectNoLeaks(sidecar, init, stale);
  });
});

describe('the same key set rejected again in a later episode (item 4)', () => {
  it('is reported again at error level after the server was unsealed in between', async () => {
    const server = track(await startOpenBao({ storage: 'persistent' }));
    const init = await server.init(5, 3);
    const stale = await foreignShares();
    const keysDir = tempDir('keys');
    writeSecretVolume(keysDir, {
      'key-0': stale.keysHex[0]!,
      'key-1': stale.keysHex[1]!,
      'key-2': stale.keysHex[2]!,
    });
    const sidecar = await sidecarFor(server.addr, keysDir);
    const rejections = (): number =>
      sidecar.logs().filter((l) => l.level === 'error' && /key set rejected/.test(l.msg)).length;
    await waitFor('the first report', async () => (rejections() === 1 ? true : undefined));

    // A human unseals by hand, then seals again: a new episode with the same wrong files.
    await server.unsealWith(init.keysHex.slice(0, 3));
    await waitFor('the sidecar to see it unsealed', async () =>
      (await sidecar.status()).vault.sealed === false ? true : undefined,
    );
    // Unsealed by someone else: the rejection stands (issue 21, item 2).
    expect((await sidecar.status()).state).toBe('wrong-keys');
    await server.seal(init.rootToken);
    await waitFor('the second report', async () => (rejections() === 2 ? true : undefined));
    await expectNoLeaks(sidecar, init, stale);
  });
});

describe('a stranger’s partial round at t − 1 (item 2)', () => {
  it('is not taken for a rejection of our key set: a clean round follows at once', async () => {
    const server = track(await startOpenBao({ storage: 'persistent' }));
    const init = await server.init(5, 3);
    const stale = await foreignShares();
    // Someone submits 2 shares of another cluster by hand.
    await server.submitShare(stale.keysHex[0]!);
    await server.submitShare(stale.keysHex[1]!);
    expect((await server.sealStatus()).progress).toBe(2);

    const keysDir = tempDir('keys');
    writeSecretVolume(keysDir, { 'init.json': init.rawJson });
    const sidecar = await sidecarFor(server.addr, keysDir);
    await server.waitUntil('unsealed by a clean round', (s) => s.sealed === false);

    const metrics = await sidecar.metrics();
    expect(metricValue(metrics, 'vault_autounseal_key_submissions_total{result="rejected"}')).toBe(
      0,
    );
    expect(
      metricValue(metrics, 'vault_autounseal_key_submissions_total{result="foreign-rejected"}'),
    ).toBe(1);
    const logs = sidecar.logs();
    expect(logs.some((l) => /key set rejected/.test(l.msg))).toBe(false);
    expect(logs.some((l) => l.state === 'wrong-keys')).toBe(false);
    expect(logs.some((l) => /someone else/.test(l.msg))).toBe(true);
    await expectNoLeaks(sidecar, init, stale);
  });
});

/**
 * A proxy in front of the real server that answers every unseal with a 500 and passes everything
 * else through: a real server cannot be made to fail this way on its own.
 */
async function failingUnsealProxy(target: string): Promise<{
  url: string;
  unseals: () => number;
  close: () => Promise<void>;
}> {
  let unseals = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/v1/sys/unseal') {
      unseals += 1;
      req.resume();
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: ['internal error'] }));
      return;
    }
    const upstream = request(`${target}${req.url ?? '/'}`, { method: req.method }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    unseals: () => unseals,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('a server that answers 500 to every unseal (item 3)', () => {
  it('backs off instead of resubmitting every retry interval', async () => {
    const server = track(await startOpenBao({ storage: 'persistent' }));
    const init = await server.init(5, 3);
    const proxy = await failingUnsealProxy(server.addr);
    try {
      const keysDir = tempDir('keys');
      writeSecretVolume(keysDir, { 'init.json': init.rawJson });
      const sidecar = await sidecarFor(proxy.url, keysDir, { UNSEAL_RETRY_INTERVAL: '200ms' });
      await waitFor('the first failure', async () => (proxy.unseals() > 0 ? true : undefined));
      await sleep(8_000);
      // Without back-off: one request per 200 ms check, about 40 in 8 s. With it (1, 2, 4 s …): a
      // handful. The bound is loose on purpose; the point is "not every check".
      expect(proxy.unseals()).toBeLessThanOrEqual(6);
      const status = await sidecar.status();
      expect(status.state).toBe('backing-off');
      expect(status.backoffReason).toBe('errors');
      const logs = sidecar.logs();
      expect(logs.some((l) => /stayed sealed/.test(l.msg))).toBe(false);
      await expectNoLeaks(sidecar, init);
    } finally {
      await proxy.close();
    }
  });
});

describe('the pause switch fails closed (item 5)', () => {
  it('stays paused when the annotations file becomes unreadable, and says so', async () => {
    const server = track(await startOpenBao({ storage: 'persistent' }));
    const init = await server.init(5, 3);
    const keysDir = tempDir('keys');
    writeSecretVolume(keysDir, { 'init.json': init.rawJson });
    const podinfo = tempDir('podinfo');
    writeAnnotationsVolume(podinfo, { 'vault-autounseal.io/paused': 'false' });
    const sidecar = await sidecarFor(server.addr, keysDir, { UNSEAL_PODINFO_DIR: podinfo });
    await server.waitUntil('first unseal', (s) => s.sealed === false);

    writeAnnotationsVolume(podinfo, { 'vault-autounseal.io/paused': 'true' });
    await waitFor('the pause', async () => ((await sidecar.status()).paused ? true : undefined));
    await server.seal(init.rootToken);
    // The switch becomes unreadable: the annotations file is replaced by a directory.
    rmSync(join(podinfo, 'annotations'), { force: true });
    mkdirSync(join(podinfo, 'annotations'));

    const status = await waitFor('the unreadable switch in /status', async () => {
      const s = await sidecar.status();
      return s.pauseSwitch.source === 'unreadable' ? s : undefined;
    });
    await sleep(3_000);
    expect((await server.sealStatus()).sealed).toBe(true);
    expect(status.paused).toBe(true);
    expect(status.pauseSwitch.problem).toContain('directory');
    const metrics = await sidecar.metrics();
    expect(metricValue(metrics, 'vault_autounseal_pause_switch_unreadable')).toBe(1);
    expect(metricValue(metrics, 'vault_autounseal_paused')).toBe(1);
    expect(sidecar.logs().some((l) => l.msg === 'resumed')).toBe(false);
    expect(sidecar.logs().some((l) => l.level === 'error' && /pause switch/.test(l.msg))).toBe(
      true,
    );
    await expectNoLeaks(sidecar, init);
  });

  it('pauses from the start when the switch exists but cannot be read', async () => {
    const server = track(await startOpenBao({ storage: 'persistent' }));
    const init = await server.init(5, 3);
    const keysDir = tempDir('keys');
    writeSecretVolume(keysDir, { 'init.json': init.rawJson });
    const podinfo = tempDir('podinfo');
    mkdirSync(join(podinfo, 'annotations'));
    const sidecar = await sidecarFor(server.addr, keysDir, { UNSEAL_PODINFO_DIR: podinfo });
    await waitFor('several checks', async () =>
      metricValue(await sidecar.metrics(), 'vault_autounseal_checks_total{result="ok"}') >= 5
        ? true
        : undefined,
    );
    expect((await server.sealStatus()).progress).toBe(0);
    expect(submissions(await sidecar.metrics()).accepted).toBe(0);
    expect((await sidecar.status()).state).toBe('paused');
  });
});
