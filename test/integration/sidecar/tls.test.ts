// Requirement i of issue 2: a TLS listener whose certificate names `vault.test`, not 127.0.0.1.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSecretVolume } from '../../harness/key-volume.js';
import { startOpenBao, type InitResult, type OpenBaoServer } from '../../harness/openbao.js';
import { waitFor } from '../../harness/ports.js';
import { createTestCa } from '../../harness/test-ca.js';
import { expectNoLeaks, metricValue, sidecarFor, submissions, tempDir, track } from './context.js';

const SERVER_NAME = 'vault.test';

async function tlsServer(): Promise<{ server: OpenBaoServer; init: InitResult; keysDir: string }> {
  const ca = await createTestCa('vault-autounseal test CA');
  const cert = await ca.issue({ commonName: SERVER_NAME, dnsNames: [SERVER_NAME] });
  const server = track(
    await startOpenBao({
      storage: 'persistent',
      tls: {
        certPem: cert.certPem,
        keyPem: cert.keyPem,
        caPem: ca.certPem,
        serverName: SERVER_NAME,
      },
    }),
  );
  const init = await server.init(5, 3);
  const keysDir = tempDir('keys');
  writeSecretVolume(keysDir, { 'init.json': init.rawJson });
  return { server, init, keysDir };
}

let otherCaFile = '';
let otherCaDir = '';
beforeAll(async () => {
  const other = await createTestCa('some other CA');
  otherCaDir = mkdtempSync(join(tmpdir(), 'vau-other-ca-'));
  otherCaFile = join(otherCaDir, 'ca.pem');
  writeFileSync(otherCaFile, other.certPem);
});
afterAll(() => rmSync(otherCaDir, { recursive: true, force: true }));

async function expectTlsRefusal(
  env: Record<string, string>,
  server: OpenBaoServer,
  keysDir: string,
  init: InitResult,
): Promise<void> {
  const sidecar = await sidecarFor(server.addr, keysDir, env);
  const status = await waitFor('a TLS error in /status', async () => {
    const s = await sidecar.status();
    return s.lastError?.code === 'tls' ? s : undefined;
  });
  expect(status.lastError.message).toMatch(
    /TLS verification of https:\/\/127\.0\.0\.1:\d+ failed: .+/,
  );
  expect(status.lastError.message).toContain('VAULT_CACERT');
  expect(status.vault.reachable).toBe(false);
  const metrics = await sidecar.metrics();
  expect(submissions(metrics)).toEqual({ accepted: 0, rejected: 0, error: 0 });
  expect(metricValue(metrics, 'vault_autounseal_vault_up')).toBe(0);
  expect((await server.sealStatus()).progress).toBe(0);
  const errorLines = sidecar
    .logs()
    .filter((l) => l.level === 'error' && /TLS verification/.test(String(l.msg)));
  expect(errorLines.length).toBe(1);
  await expectNoLeaks(sidecar, init);
}

describe('a TLS listener', () => {
  it('is unsealed with the right VAULT_CACERT and VAULT_TLS_SERVER_NAME', async () => {
    const { server, init, keysDir } = await tlsServer();
    const sidecar = await sidecarFor(server.addr, keysDir, {
      VAULT_CACERT: server.caFile,
      VAULT_TLS_SERVER_NAME: SERVER_NAME,
    });
    await server.waitUntil('unsealed over TLS', (s) => s.sealed === false);
    expect((await sidecar.status()).lastError).toBeNull();
    await expectNoLeaks(sidecar, init);
  });

  it('takes BAO_ADDR, BAO_CACERT and BAO_TLS_SERVER_NAME over their VAULT_ twins', async () => {
    const { server, init, keysDir } = await tlsServer();
    const sidecar = await sidecarFor('https://127.0.0.1:1', keysDir, {
      BAO_ADDR: server.addr,
      VAULT_CACERT: otherCaFile,
      BAO_CACERT: server.caFile,
      VAULT_TLS_SERVER_NAME: 'wrong.example',
      BAO_TLS_SERVER_NAME: SERVER_NAME,
    });
    await server.waitUntil('unsealed over TLS', (s) => s.sealed === false);
    expect((await sidecar.status()).address).toBe(server.addr);
    await expectNoLeaks(sidecar, init);
  });

  it('refuses a server whose certificate the CA did not sign: a clear error and zero submissions', async () => {
    const { server, init, keysDir } = await tlsServer();
    await expectTlsRefusal(
      { VAULT_CACERT: otherCaFile, VAULT_TLS_SERVER_NAME: SERVER_NAME },
      server,
      keysDir,
      init,
    );
  });

  it('still verifies with VAULT_SKIP_VERIFY=false (node-vault alone would read the string as "skip")', async () => {
    const { server, init, keysDir } = await tlsServer();
    await expectTlsRefusal(
      { VAULT_SKIP_VERIFY: 'false', VAULT_TLS_SERVER_NAME: SERVER_NAME },
      server,
      keysDir,
      init,
    );
  });

  it('refuses a certificate that does not name the address when no server name is given', async () => {
    const { server, init, keysDir } = await tlsServer();
    await expectTlsRefusal({ VAULT_CACERT: server.caFile }, server, keysDir, init);
  });

  it('unseals without verification when VAULT_SKIP_VERIFY=true, and warns at start', async () => {
    const { server, init, keysDir } = await tlsServer();
    const sidecar = await sidecarFor(server.addr, keysDir, { VAULT_SKIP_VERIFY: 'true' });
    await server.waitUntil('unsealed without verification', (s) => s.sealed === false);
    expect(
      sidecar.logs().some((l) => l.level === 'warn' && /NOT verified/.test(String(l.msg))),
    ).toBe(true);
    await expectNoLeaks(sidecar, init);
  });
});
