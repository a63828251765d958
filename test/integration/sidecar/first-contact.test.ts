// What a newcomer meets first, run as the built program: `--help`, every bad setting in one
// message (a bad CA path included), absurd durations refused with their range, and a missing keys
// directory called what it is.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSecretVolume } from '../../harness/key-volume.js';
import { startOpenBao } from '../../harness/openbao.js';
import { runSidecarToExit } from '../../harness/sidecar-process.js';
import { waitFor } from '../../harness/ports.js';
import { sidecarFor, tempDir, track } from './context.js';

const SETTINGS = [
  'VAULT_ADDR',
  'VAULT_CACERT',
  'VAULT_CLIENT_CERT',
  'VAULT_CLIENT_KEY',
  'VAULT_TLS_SERVER_NAME',
  'VAULT_SKIP_VERIFY',
  'UNSEAL_KEYS_DIR',
  'UNSEAL_INTERVAL',
  'UNSEAL_RETRY_INTERVAL',
  'UNSEAL_MAX_BACKOFF',
  'UNSEAL_REQUEST_TIMEOUT',
  'UNSEAL_HTTP_ADDR',
  'UNSEAL_PODINFO_DIR',
  'LOG_LEVEL',
];

describe('the sidecar, met for the first time', () => {
  it('--help lists every setting, its flag and its default, and exits 0', async () => {
    const { code, stdout } = await runSidecarToExit({}, ['--help']);
    expect(code).toBe(0);
    for (const name of SETTINGS) {
      expect(stdout).toContain(name);
      expect(stdout).toContain(`--${name.toLowerCase().replaceAll('_', '-')}=`);
    }
    expect(stdout).toContain('default: 5s, 100ms to 1h');
  });

  it('reports a bad CA path together with every other bad setting, exit 2', async () => {
    const { code, stderr } = await runSidecarToExit({
      VAULT_CACERT: '/nonexistent/ca.pem',
      UNSEAL_INTERVAL: '720h',
      UNSEAL_RETRY_INTERVAL: '1ms',
      LOG_LEVEL: 'loud',
    });
    expect(code).toBe(2);
    expect(stderr).toContain('4 problems');
    expect(stderr).toContain('VAULT_CACERT: cannot read /nonexistent/ca.pem (ENOENT)');
    expect(stderr).toContain(
      'UNSEAL_INTERVAL: "720h" is out of range: a duration from 100ms to 1h',
    );
    expect(stderr).toContain('UNSEAL_RETRY_INTERVAL: "1ms" is out of range');
    expect(stderr).toContain('LOG_LEVEL');
  });

  it('says a missing keys directory is missing, not "keys reloaded"', async () => {
    const server = track(await startOpenBao({ storage: 'dev-uninit' }));
    const missing = join(tempDir('keys'), 'not-mounted');
    const sidecar = await sidecarFor(server.addr, missing);
    const line = await waitFor('the key report', async () =>
      sidecar.logs().find((l) => /keys|key directory/.test(String(l.msg))),
    );
    expect(line.msg).toBe('no keys loaded: a key directory is missing or unreadable');
    expect(line.level).toBe('warn');
    expect(sidecar.logs().some((l) => l.msg === 'keys reloaded')).toBe(false);
  });

  it('still says "keys reloaded" when keys are there', async () => {
    const server = track(await startOpenBao({ storage: 'dev-uninit' }));
    const init = await server.init(5, 3);
    const keysDir = tempDir('keys');
    writeSecretVolume(keysDir, { 'init.json': init.rawJson });
    const sidecar = await sidecarFor(server.addr, keysDir);
    await waitFor('the key report', async () =>
      sidecar.logs().find((l) => l.msg === 'keys reloaded' && l.loaded === 5),
    );
  });
});
