// What an operator sees of issue 22's sidecar items, against a real server: a key file that holds
// the root token is named (never shown); `/status` says paused whatever the seal state; paused time
// is not unseal time; a server restart is a warning, not an error; and a server with an auto-unseal
// seal is announced once, not on every check.
import { describe, expect, it } from 'vitest';
import { writeAnnotationsVolume, writeSecretVolume } from '../../harness/key-volume.js';
import { startOpenBao, startTransitSealed } from '../../harness/openbao.js';
import { sleep, waitFor } from '../../harness/ports.js';
import { expectNoLeaks, metricValue, sidecarFor, tempDir, track } from './context.js';

const ROOT_TOKEN_GAUGE = 'vault_autounseal_key_files_root_token';

describe('a key file that holds the root token', () => {
  it('is used for its shares and named in a warning, /status and a gauge, never shown', async () => {
    const server = track(await startOpenBao({ storage: 'persistent' }));
    const init = await server.init(5, 3);
    const keysDir = tempDir('keys');
    // The whole `operator init -format=json` output, and the token alone in a second file.
    writeSecretVolume(keysDir, { 'init.json': init.rawJson, token: init.rootToken });
    expect(init.rawJson).toContain(init.rootToken);
    const sidecar = await sidecarFor(server.addr, keysDir);
    await server.waitUntil('unsealed with the shares of init.json', (s) => s.sealed === false);

    const status = await sidecar.status();
    expect(status.keys.rootTokenFiles).toEqual([`${keysDir}/init.json`, `${keysDir}/token`]);
    expect(status.keys.loaded).toBe(5);
    expect(status.keys.invalidFiles).toEqual([
      { path: `${keysDir}/token`, reason: 'holds a Vault token, not an unseal share' },
    ]);
    expect(metricValue(await sidecar.metrics(), ROOT_TOKEN_GAUGE)).toBe(2);
    const warnings = sidecar.logs().filter((l) => Array.isArray(l.rootTokenFiles));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      level: 'warn',
      rootTokenFiles: [`${keysDir}/init.json`, `${keysDir}/token`],
    });
    await expectNoLeaks(sidecar, init);

    // Only the shares now: the token is named no more.
    writeSecretVolume(keysDir, Object.fromEntries(init.keysHex.map((key, i) => [`key-${i}`, key])));
    await waitFor('the gauge to clear', async () =>
      metricValue(await sidecar.metrics(), ROOT_TOKEN_GAUGE) === 0 ? true : undefined,
    );
    expect((await sidecar.status()).keys.rootTokenFiles).toEqual([]);
    await expectNoLeaks(sidecar, init);
  });
});

describe('a routine restart of the server', () => {
  it('is logged as a warning, not an error, and lastError clears once it answers again', async () => {
    const server = track(await startOpenBao({ storage: 'persistent' }));
    const init = await server.init(5, 3);
    const keysDir = tempDir('keys');
    writeSecretVolume(keysDir, Object.fromEntries(init.keysHex.map((key, i) => [`key-${i}`, key])));
    const sidecar = await sidecarFor(server.addr, keysDir);
    const startedAt = Date.now();
    await server.waitUntil('unsealed', (s) => s.sealed === false);
    // A routine restart of the server, past the sidecar's own start window (30 s): refused
    // connections for a moment, then the server again. The log-based pager must stay quiet.
    await sleep(Math.max(0, startedAt + 31_000 - Date.now()));
    await server.restart();
    await server.waitUntil('unsealed after the restart', (s) => s.sealed === false, 30_000);
    await waitFor('the sidecar to see it unsealed', async () =>
      (await sidecar.status()).state === 'unsealed' ? true : undefined,
    );
    const refusals = sidecar.logs().filter((l) => /cannot reach/.test(String(l.msg)));
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals.every((l) => l.level === 'warn')).toBe(true);
    expect(sidecar.logs().filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual([]);
    // The refusal is over: /status no longer shows it.
    expect((await sidecar.status()).lastError).toBeNull();

    await expectNoLeaks(sidecar, init);
  }, 120_000);
});

describe('/status while paused', () => {
  /** A sidecar paused from its start, and a way to flip the switch. */
  async function pausedSidecar(addr: string, keysDir: string) {
    const podinfo = tempDir('podinfo');
    const pause = (paused: boolean): void =>
      writeAnnotationsVolume(podinfo, { 'vault-autounseal.io/paused': String(paused) });
    pause(true);
    const sidecar = await sidecarFor(addr, keysDir, { UNSEAL_PODINFO_DIR: podinfo });
    const stateWhen = async (what: string, check: (view: any) => boolean): Promise<string> =>
      waitFor(what, async () => {
        const view = await sidecar.status();
        return check(view) ? String(view.state) : undefined;
      });
    return { sidecar, pause, stateWhen };
  }

  it('says paused when the server is not initialised, sealed or unsealed', async () => {
    const server = track(await startOpenBao({ storage: 'persistent' }));
    const keysDir = tempDir('keys');
    const { sidecar, pause, stateWhen } = await pausedSidecar(server.addr, keysDir);
    expect(
      await stateWhen(
        'not initialised, and a state for it',
        // 'starting' until the first check's step has run.
        (v) => v.vault.initialized === false && v.state !== 'starting',
      ),
    ).toBe('paused');
    const init = await server.init(5, 3);
    writeSecretVolume(keysDir, { 'init.json': init.rawJson });
    expect(
      await stateWhen('sealed, keys loaded', (v) => v.vault.sealed === true && v.keys.loaded === 5),
    ).toBe('paused');
    pause(false);
    await server.waitUntil('unsealed once resumed', (s) => s.sealed === false);
    expect(await stateWhen('unsealed', (v) => v.vault.sealed === false)).toBe('unsealed');
    pause(true);
    expect(await stateWhen('paused again', (v) => v.paused === true)).toBe('paused');
    expect((await sidecar.status()).vault).toMatchObject({ sealed: false, initialized: true });
    pause(false);
    await waitFor('unsealed again once resumed', async () =>
      (await sidecar.status()).state === 'unsealed' ? true : undefined,
    );
    await expectNoLeaks(sidecar, init);
  });

  it('leaves the time paused out of the unseal duration', async () => {
    const server = track(await startOpenBao({ storage: 'persistent' }));
    const init = await server.init(5, 3);
    const keysDir = tempDir('keys');
    writeSecretVolume(keysDir, { 'init.json': init.rawJson });
    const { sidecar, pause, stateWhen } = await pausedSidecar(server.addr, keysDir);
    expect(
      await stateWhen(
        'sealed, keys loaded, and a state for it',
        (v) => v.vault.sealed === true && v.keys.loaded === 5 && v.state !== 'starting',
      ),
    ).toBe('paused');
    // Paused on a sealed server for a while: the operator's time, not the sidecar's.
    await sleep(2_000);
    const resumedAt = Date.now();
    pause(false);
    await stateWhen('unsealed', (v) => v.state === 'unsealed');
    const seenAt = Date.now();
    const metrics = await sidecar.metrics();
    expect(metricValue(metrics, 'vault_autounseal_unseal_duration_seconds_count')).toBe(1);
    const observed = metricValue(metrics, 'vault_autounseal_unseal_duration_seconds_sum');
    // Paused since it was first seen sealed: what counts began when the sidecar read the switch
    // released (after resumedAt) and ended when it saw the server unsealed (before seenAt).
    expect(observed).toBeLessThanOrEqual((seenAt - resumedAt) / 1000);
    expect((await sidecar.status()).lastUnseal.durationSeconds).toBe(observed);
    await expectNoLeaks(sidecar, init);
  });
});

describe('a server with a transit (auto-unseal) seal', () => {
  it('is announced once as recovery-seal, with no line per check after that', async () => {
    const { node } = await startTransitSealed(track);
    await node.waitUntil('auto-unsealed after init', (s) => s.sealed === false);
    expect(await node.sealStatus()).toMatchObject({ recovery_seal: true, type: 'transit' });

    const sidecar = await sidecarFor(node.addr, tempDir('keys'));
    await waitFor('the recovery seal reported', async () =>
      (await sidecar.status()).state === 'recovery-seal' ? true : undefined,
    );
    const checks = async (): Promise<number> =>
      metricValue(await sidecar.metrics(), 'vault_autounseal_checks_total{result="ok"}');
    const from = await checks();
    // UNSEAL_INTERVAL is 1 s here: several checks of an unsealed, auto-unsealed server.
    await waitFor(
      'five more checks',
      async () => ((await checks()) >= from + 5 ? true : undefined),
      {
        timeoutMs: 60_000,
      },
    );
    const stateLines = sidecar.logs().filter((l) => typeof l.state === 'string');
    expect(stateLines.map((l) => l.state)).toEqual(['recovery-seal']);
    expect((await sidecar.status()).state).toBe('recovery-seal');
  });
});
