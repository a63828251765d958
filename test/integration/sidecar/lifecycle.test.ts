// Requirements f and g of issue 2: a rekey delivered by a Secret update, and the pause switch.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeAnnotationsVolume, writeSecretVolume } from '../../harness/key-volume.js';
import { startOpenBao } from '../../harness/openbao.js';
import { sleep, waitFor } from '../../harness/ports.js';
import { expectNoLeaks, metricValue, sidecarFor, submissions, tempDir, track } from './context.js';

describe('after a rekey', () => {
  it('uses the new shares, swapped in atomically, on the next restart, without a sidecar restart', async () => {
    const server = track(await startOpenBao({ storage: 'persistent' }));
    const init = await server.init(5, 3);
    const keysDir = tempDir('keys');
    writeSecretVolume(keysDir, { 'init.json': init.rawJson });
    const sidecar = await sidecarFor(server.addr, keysDir);
    await server.waitUntil('first unseal', (s) => s.sealed === false);

    const rekeyed = await server.rekey(init.rootToken, init.keysHex.slice(0, 3), 4, 2);
    expect(rekeyed.keysHex).toHaveLength(4);
    writeSecretVolume(
      keysDir,
      Object.fromEntries(rekeyed.keysBase64.map((k, i) => [`key-${i}`, k])),
    );
    await waitFor('the new key set to be loaded', async () => {
      const status = await sidecar.status();
      return status.keys.loaded === 4 ? status : undefined;
    });

    await server.restart();
    // The sidecar sees the restart at once (the dropped connection) and may have unsealed the
    // server before this line reads it: wait for unsealed, then check it was the new key set.
    await server.waitUntil('unsealed with the new shares', (s) => s.sealed === false);
    expect(await server.sealStatus()).toMatchObject({ sealed: false, t: 2, n: 4 });
    const metrics = await sidecar.metrics();
    expect(metricValue(metrics, 'vault_autounseal_unseals_total{result="success"}')).toBe(2);
    expect(submissions(metrics).rejected).toBe(0);
    expect(sidecar.logs().filter((l) => l.msg === 'keys reloaded')).toHaveLength(2);
    await expectNoLeaks(sidecar, init, rekeyed);
  });
});

describe('the pause switch', () => {
  it('keeps a server sealed on purpose sealed, submitting nothing, and unseals soon after unpausing', async () => {
    const server = track(await startOpenBao({ storage: 'persistent' }));
    const init = await server.init(5, 3);
    const keysDir = tempDir('keys');
    writeSecretVolume(keysDir, { 'init.json': init.rawJson });
    const podinfo = tempDir('podinfo');
    writeAnnotationsVolume(podinfo, {
      'vault-autounseal.io/inject': 'true',
      'vault-autounseal.io/paused': 'false',
    });
    const sidecar = await sidecarFor(server.addr, keysDir, { UNSEAL_PODINFO_DIR: podinfo });
    await server.waitUntil('first unseal', (s) => s.sealed === false);

    // Incident response: the operator pauses the sidecar, then seals Vault on purpose.
    writeAnnotationsVolume(podinfo, {
      'vault-autounseal.io/inject': 'true',
      'vault-autounseal.io/paused': 'true',
    });
    await waitFor('the pause to show in /status', async () =>
      (await sidecar.status()).paused ? true : undefined,
    );
    const before = submissions(await sidecar.metrics());
    await server.seal(init.rootToken);

    await sleep(4_000);
    const seal = await server.sealStatus();
    expect(seal).toMatchObject({ sealed: true, progress: 0 });
    const metrics = await sidecar.metrics();
    expect(submissions(metrics)).toEqual(before);
    expect(metricValue(metrics, 'vault_autounseal_paused')).toBe(1);
    expect(metricValue(metrics, 'vault_autounseal_vault_sealed')).toBe(1);
    expect((await sidecar.status()).state).toBe('paused');
    expect(sidecar.logs().some((l) => l.paused === true)).toBe(true);

    writeAnnotationsVolume(podinfo, { 'vault-autounseal.io/inject': 'true' });
    await server.waitUntil('unsealed after unpausing', (s) => s.sealed === false, 10_000);
    // /metrics may serve a body rendered a moment before the resume (common/metrics-cache.ts:
    // up to 1 s on a loaded machine), so the gauge is awaited, not read once.
    await waitFor('the paused gauge back to 0', async () =>
      metricValue(await sidecar.metrics(), 'vault_autounseal_paused') === 0 ? true : undefined,
    );
    await expectNoLeaks(sidecar, init);
  });

  it('pauses from the start when the pod is created paused', async () => {
    const server = track(await startOpenBao({ storage: 'persistent' }));
    const init = await server.init(5, 3);
    const keysDir = tempDir('keys');
    writeSecretVolume(keysDir, { 'init.json': init.rawJson });
    const podinfo = tempDir('podinfo');
    writeAnnotationsVolume(podinfo, { 'vault-autounseal.io/paused': 'true' });
    const sidecar = await sidecarFor(server.addr, keysDir, { UNSEAL_PODINFO_DIR: join(podinfo) });
    await waitFor('several checks', async () =>
      metricValue(await sidecar.metrics(), 'vault_autounseal_checks_total{result="ok"}') >= 5
        ? true
        : undefined,
    );
    expect(submissions(await sidecar.metrics())).toEqual({ accepted: 0, rejected: 0, error: 0 });
    expect((await server.sealStatus()).progress).toBe(0);
    await expectNoLeaks(sidecar, init);
  });
});
