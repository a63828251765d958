// Item 13 of issue 21: credentials in VAULT_ADDR (`https://user:password@host`) are shown nowhere:
// not on the unauthenticated /status, not in the start line or the VAULT_SKIP_VERIFY warning, not
// in an error message built from the address, not in a metric.
import { describe, expect, it } from 'vitest';
import { writeSecretVolume } from '../../harness/key-volume.js';
import { everythingPrinted } from '../../harness/leaks.js';
import { startOpenBao } from '../../harness/openbao.js';
import { freePort, waitFor } from '../../harness/ports.js';
import { expectNoLeaks, sidecarFor, tempDir, track } from './context.js';

const USER = 'proxy-user';
const PASSWORD = 'Tr0ub4dor-and-3';

function withUserinfo(addr: string): string {
  return addr.replace('://', `://${USER}:${PASSWORD}@`);
}

function expectNoCredentials(printed: string): void {
  expect(printed).not.toContain(PASSWORD);
  expect(printed).not.toContain(`${USER}:`);
  expect(printed).not.toContain(`${USER}@`);
}

describe('VAULT_ADDR with userinfo', () => {
  it('unseals, and the start line, the warning, /status and /metrics show the address without it', async () => {
    const server = track(await startOpenBao({ storage: 'persistent' }));
    const init = await server.init(5, 3);
    const keysDir = tempDir('keys');
    writeSecretVolume(keysDir, { 'init.json': init.rawJson });
    const sidecar = await sidecarFor(withUserinfo(server.addr), keysDir, {
      // Off for plain http too, so the warning that names the address is printed.
      VAULT_SKIP_VERIFY: 'true',
    });
    await server.waitUntil('unsealed', (s) => s.sealed === false);

    expect((await sidecar.status()).address).toBe(server.addr);
    const started = sidecar.logs().find((l) => l.msg === 'started');
    expect(started?.address).toBe(server.addr);
    const warning = sidecar.logs().find((l) => /NOT verified/.test(String(l.msg)));
    expect(warning?.address).toBe(server.addr);
    expectNoCredentials(await everythingPrinted(sidecar));
    await expectNoLeaks(sidecar, init);
  });

  it('names the server without it in the errors built from the address', async () => {
    const port = await freePort();
    const keysDir = tempDir('keys');
    const sidecar = await sidecarFor(withUserinfo(`http://127.0.0.1:${port}`), keysDir, {
      UNSEAL_REQUEST_TIMEOUT: '1s',
    });
    const status = await waitFor('an unreachable error in /status', async () => {
      const s = await sidecar.status();
      return s.lastError?.code === 'unreachable' ? s : undefined;
    });
    expect(status.lastError.message).toContain(`http://127.0.0.1:${port}`);
    expect(sidecar.logs().some((l) => String(l.msg).includes(`127.0.0.1:${port}`))).toBe(true);
    expectNoCredentials(await everythingPrinted(sidecar));
  });
});
