// Requirements a, b, j and l of issue 2, against a real OpenBao on loopback.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSecretVolume } from '../../harness/key-volume.js';
import { startOpenBao } from '../../harness/openbao.js';
import { sleep, waitFor } from '../../harness/ports.js';
import { runSidecarToExit } from '../../harness/sidecar-process.js';
import { expectNoLeaks, metricValue, sidecarFor, submissions, tempDir, track } from './context.js';

describe('a freshly initialised 5/3 server', () => {
  it('is unsealed from one file per share (hex and base64 mixed) in an atomic-writer layout', async () => {
    const server = track(await startOpenBao({ storage: 'persistent' }));
    const init = await server.init(5, 3);
    const keysDir = tempDir('keys');
    writeSecretVolume(keysDir, {
      'unseal-key-0': init.keysHex[0]!,
      'unseal-key-1': `${init.keysBase64[1]!}\n`,
      'unseal-key-2': `  ${init.keysHex[2]!.toUpperCase()}\n`,
    });
    // Junk beside the shares: a dot-file is skipped silently, a junk file is named and skipped.
    writeFileSync(join(keysDir, '.hidden-editor-swap'), 'not a key');
    writeFileSync(join(keysDir, 'README.txt'), 'shares live here');

    const sidecar = await sidecarFor(server.addr, keysDir);
    await server.waitUntil('unsealed', (s) => s.sealed === false);

    const status = await waitFor('/status to show unsealed', async () => {
      const s = await sidecar.status();
      return s.state === 'unsealed' ? s : undefined;
    });
    expect(status.vault).toMatchObject({
      reachable: true,
      initialized: true,
      sealed: false,
      threshold: 3,
      shares: 5,
    });
    expect(status.keys.loaded).toBe(3);
    expect(status.keys.sources.map((s: { path: string }) => s.path).sort()).toEqual(
      ['unseal-key-0', 'unseal-key-1', 'unseal-key-2'].map((n) => join(keysDir, n)),
    );
    expect(status.keys.invalidFiles).toEqual([
      { path: join(keysDir, 'README.txt'), reason: 'not a hex or base64 share' },
    ]);
    expect(status.lastUnseal.durationSeconds).toBeGreaterThanOrEqual(0);

    const metrics = await sidecar.metrics();
    expect(metricValue(metrics, 'vault_autounseal_vault_sealed')).toBe(0);
    expect(metricValue(metrics, 'vault_autounseal_vault_up')).toBe(1);
    expect(metricValue(metrics, 'vault_autounseal_vault_initialized')).toBe(1);
    expect(metricValue(metrics, 'vault_autounseal_unseal_threshold')).toBe(3);
    expect(metricValue(metrics, 'vault_autounseal_keys_loaded')).toBe(3);
    expect(metricValue(metrics, 'vault_autounseal_key_files_invalid')).toBe(1);
    expect(metricValue(metrics, 'vault_autounseal_unseals_total{result="success"}')).toBe(1);
    expect(metricValue(metrics, 'vault_autounseal_unseal_duration_seconds_count')).toBe(1);
    expect(metricValue(metrics, 'vault_autounseal_last_unseal_timestamp_seconds')).toBeGreaterThan(
      1e9,
    );
    expect(submissions(metrics)).toEqual({ accepted: 3, rejected: 0, error: 0 });
    expect(metrics).toContain('process_cpu_seconds_total');
    await expectNoLeaks(sidecar, init);
  });

  it('is unsealed from a single `bao operator init -format=json` file', async () => {
    const server = track(await startOpenBao({ storage: 'persistent' }));
    const init = await server.initWithCli(5, 3);
    expect(init.rawJson).toContain('unseal_keys_b64');
    const keysDir = tempDir('keys');
    writeSecretVolume(keysDir, { 'init.json': init.rawJson });

    const sidecar = await sidecarFor(server.addr, keysDir);
    await server.waitUntil('unsealed', (s) => s.sealed === false);
    const status = await waitFor('/status unsealed', async () => {
      const s = await sidecar.status();
      return s.state === 'unsealed' ? s : undefined;
    });
    expect(status.keys.loaded).toBe(5);
    // Exactly t shares are needed and sent: never more than the round asks for.
    expect(submissions(await sidecar.metrics())).toEqual({ accepted: 3, rejected: 0, error: 0 });
    await expectNoLeaks(sidecar, init);
  });
});

describe('split custody', () => {
  it('unseals from two key directories that each hold fewer than t shares', async () => {
    const server = track(await startOpenBao({ storage: 'persistent' }));
    const init = await server.init(5, 3);
    const teamA = tempDir('keys-a');
    const teamB = tempDir('keys-b');
    writeSecretVolume(teamA, { 'share-a1': init.keysHex[0]!, 'share-a2': init.keysHex[1]! });
    writeSecretVolume(teamB, { 'share-b1': init.keysBase64[1]!, 'share-b2': init.keysBase64[3]! });
    const sidecar = await sidecarFor(server.addr, `${teamA},${teamB}`);
    await server.waitUntil('unsealed', (s) => s.sealed === false);
    // The base64 of share 1 in team B's directory is the same share as team A's hex: 3 distinct.
    expect((await sidecar.status()).keys.loaded).toBe(3);
    await expectNoLeaks(sidecar, init);
  });
});

describe('an unreachable server', () => {
  it('keeps the sidecar live and ready, says what is wrong, warns while it may be starting, and logs the lasting error once', async () => {
    const sidecar = await sidecarFor('http://127.0.0.1:1', tempDir('keys'));
    await waitFor('several failed checks', async () =>
      metricValue(await sidecar.metrics(), 'vault_autounseal_checks_total{result="error"}') >= 10
        ? true
        : undefined,
    );
    expect((await sidecar.get('/healthz')).status).toBe(200);
    expect((await sidecar.get('/readyz')).status).toBe(200);
    const status = await sidecar.status();
    expect(status.state).toBe('unreachable');
    expect(status.vault.reachable).toBe(false);
    expect(status.lastError).toMatchObject({
      code: 'unreachable',
      message: 'cannot reach http://127.0.0.1:1: ECONNREFUSED',
    });
    expect(metricValue(await sidecar.metrics(), 'vault_autounseal_vault_up')).toBe(0);
    // In a pod the server starts next to the sidecar and refuses until it listens: a warning for
    // the first 30 s (sidecar/outage-level.ts), then an error, once, as the refusals last.
    const message = 'seal-status: cannot reach http://127.0.0.1:1: ECONNREFUSED';
    const lines = () => sidecar.logs().filter((l) => l.msg === message);
    expect(lines()[0]).toMatchObject({ level: 'warn' });
    const errorLines = await waitFor(
      'the refusals to outlast the start window and be logged as an error',
      () => {
        const errors = sidecar.logs().filter((l) => l.level === 'error');
        return errors.length > 0 ? errors : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]!.msg).toBe(message);
    expect(lines().filter((l) => l.level === 'warn')).toHaveLength(1);
  }, 90_000);
});

describe('an unsealed server that goes down or is sealed', () => {
  it('is unsealed again after SIGKILL and a restart on the same storage, and after an API seal, without restarting the sidecar', async () => {
    const server = track(await startOpenBao({ storage: 'persistent' }));
    const init = await server.init(5, 3);
    const keysDir = tempDir('keys');
    writeSecretVolume(keysDir, Object.fromEntries(init.keysBase64.map((k, i) => [`key-${i}`, k])));
    const sidecar = await sidecarFor(server.addr, keysDir);
    await server.waitUntil('first unseal', (s) => s.sealed === false);
    const pid = sidecar.child.pid;

    await server.restart();
    await server.waitUntil('unseal after restart', (s) => s.sealed === false);

    await server.seal(init.rootToken);
    await server.waitUntil('unseal after API seal', (s) => s.sealed === false);

    expect(sidecar.child.pid).toBe(pid);
    expect(sidecar.child.exitCode).toBeNull();
    const metrics = await waitFor('three successful unseals', async () => {
      const text = await sidecar.metrics();
      return metricValue(text, 'vault_autounseal_unseals_total{result="success"}') === 3
        ? text
        : undefined;
    });
    expect(
      metricValue(metrics, 'vault_autounseal_checks_total{result="ok"}'),
    ).toBeGreaterThanOrEqual(3);
    const logs = sidecar.logs();
    expect(
      logs.filter((l) => l.msg === 'server is unsealed' && typeof l.durationSeconds === 'number'),
    ).toHaveLength(3);
    await expectNoLeaks(sidecar, init);
  });
});

describe('an uninitialised server', () => {
  it('is waited for: nothing is submitted and it stays uninitialised', async () => {
    const server = track(await startOpenBao({ storage: 'dev-uninit' }));
    // Shares of some other server: there must be no attempt to use them.
    const other = track(await startOpenBao({ storage: 'persistent' }));
    const otherInit = await other.init(5, 3);
    const keysDir = tempDir('keys');
    writeSecretVolume(keysDir, { 'init.json': otherInit.rawJson });

    const sidecar = await sidecarFor(server.addr, keysDir);
    await waitFor('five checks', async () =>
      metricValue(await sidecar.metrics(), 'vault_autounseal_checks_total{result="ok"}') >= 5
        ? true
        : undefined,
    );
    const status = await sidecar.status();
    expect(status.state).toBe('not-initialized');
    expect(status.vault).toMatchObject({ initialized: false, sealed: true });
    const metrics = await sidecar.metrics();
    expect(submissions(metrics)).toEqual({ accepted: 0, rejected: 0, error: 0 });
    expect(metricValue(metrics, 'vault_autounseal_vault_initialized')).toBe(0);
    expect((await server.sealStatus()).initialized).toBe(false);
    expect((await server.sealStatus()).progress).toBe(0);
    await expectNoLeaks(sidecar, otherInit);
  });
});

describe('bad configuration', () => {
  it('exits 2 naming every bad setting, and never starts half-configured', async () => {
    const result = await runSidecarToExit({
      VAULT_ADDR: 'ftp://vault',
      UNSEAL_INTERVAL: '5',
      UNSEAL_RETRY_INTERVAL: 'soon',
      VAULT_SKIP_VERIFY: 'maybe',
      UNSEAL_HTTP_ADDR: 'nowhere',
      LOG_LEVEL: 'loud',
      VAULT_CLIENT_CERT: '/tmp/cert.pem',
    });
    expect(result.code).toBe(2);
    for (const setting of [
      'VAULT_ADDR',
      'UNSEAL_INTERVAL',
      'UNSEAL_RETRY_INTERVAL',
      'VAULT_SKIP_VERIFY',
      'UNSEAL_HTTP_ADDR',
      'LOG_LEVEL',
      'VAULT_CLIENT_CERT/VAULT_CLIENT_KEY',
    ]) {
      expect(result.stderr).toContain(`- ${setting}:`);
    }
    // The client certificate file does not exist either: reported in the same message (item 18).
    expect(result.stderr).toContain('- VAULT_CLIENT_CERT: cannot read /tmp/cert.pem');
    expect(result.stderr).toContain('8 problems');
    expect(result.stdout).toBe('');
  });

  it('exits 2 when a named CA file cannot be read, and when a flag is unknown', async () => {
    const result = await runSidecarToExit({ VAULT_CACERT: '/nonexistent/ca.pem' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/VAULT_CACERT: cannot read \/nonexistent\/ca.pem \(ENOENT\)/);
    const flags = await runSidecarToExit({}, ['--unseal-interval=0s', '--no-such-flag=1']);
    expect(flags.code).toBe(2);
    expect(flags.stderr).toContain('--unseal-interval');
    expect(flags.stderr).toContain('--no-such-flag: unknown flag');
  });

  it('exits 0 within the shutdown deadline on SIGTERM', async () => {
    const server = track(await startOpenBao({ storage: 'dev-uninit' }));
    const sidecar = await sidecarFor(server.addr, tempDir('keys'));
    await sleep(300);
    expect(await sidecar.stop('SIGTERM')).toBe(0);
    expect(sidecar.logs().map((l) => l.msg)).toContain('stopped');
  });
});
