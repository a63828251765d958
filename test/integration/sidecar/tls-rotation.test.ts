// Item 1 of issue 21: the TLS files are read again when they change, against real OpenBao with a
// TLS listener. Before, they were read once at start: a rotated CA or a renewed mTLS client
// certificate left the sidecar failing TLS for good, Vault sealed, and every probe green.
//
// The sidecar's files live in Kubernetes-style volumes (test/harness/key-volume.ts): a rotation is
// a `..data` symlink swap, as cert-manager's Secret update reaches a pod through the kubelet.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import { createTlsFileSource } from '../../../sidecar/tls-files.js';
import { createVaultClient } from '../../../sidecar/vault-client.js';
import { writeSecretVolume } from '../../harness/key-volume.js';
import { startOpenBao, type InitResult, type OpenBaoServer } from '../../harness/openbao.js';
import { waitFor } from '../../harness/ports.js';
import type { SidecarProcess } from '../../harness/sidecar-process.js';
import { createTestCa, type IssuedCert, type TestCa } from '../../harness/test-ca.js';
import { expectNoLeaks, metricValue, sidecarFor, tempDir, track } from './context.js';

const SERVER_NAME = 'vault.test';

const serverCert = (ca: TestCa): Promise<IssuedCert> =>
  ca.issue({ commonName: SERVER_NAME, dnsNames: [SERVER_NAME] });
const clientCert = (ca: TestCa, notAfter?: Date): Promise<IssuedCert> =>
  ca.issue({
    commonName: 'vault-autounseal-sidecar',
    usage: 'client',
    ...(notAfter ? { notBefore: new Date(notAfter.getTime() - 3_600_000), notAfter } : {}),
  });

/** A persistent OpenBao whose TLS listener shows a certificate for SERVER_NAME issued by `ca`. */
async function serverSignedBy(ca: TestCa): Promise<OpenBaoServer> {
  const tls = { ...(await serverCert(ca)), caPem: ca.certPem, serverName: SERVER_NAME };
  return track(await startOpenBao({ storage: 'persistent', tls }));
}

/** A Secret-style volume holding `ca.crt`, as the kubelet mounts it. */
function caVolume(pem: string): { dir: string; file: string } {
  const dir = tempDir('ca');
  writeSecretVolume(dir, { 'ca.crt': pem }, 0o444);
  return { dir, file: join(dir, 'ca.crt') };
}

async function keysFor(server: OpenBaoServer): Promise<{ init: InitResult; keysDir: string }> {
  const init = await server.init(5, 3);
  const keysDir = tempDir('keys');
  writeSecretVolume(keysDir, { 'init.json': init.rawJson });
  return { init, keysDir };
}

/** Waits for a TLS error in /status, and returns its message. */
async function tlsError(sidecar: SidecarProcess, matching: RegExp): Promise<string> {
  const status = await waitFor(`a TLS error matching ${matching} in /status`, async () => {
    const s = await sidecar.status();
    return s.lastError?.code === 'tls' && matching.test(s.lastError.message) ? s : undefined;
  });
  return String(status.lastError.message);
}

describe('a rotated server CA (a self-signed issuer re-issued)', () => {
  it('is used once VAULT_CACERT is swapped: the restarted server is unsealed without restarting the sidecar', async () => {
    const ca1 = await createTestCa('server CA one');
    const server = await serverSignedBy(ca1);
    const { init, keysDir } = await keysFor(server);
    const { dir: caDir, file: caFile } = caVolume(ca1.certPem);
    const sidecar = await sidecarFor(server.addr, keysDir, {
      VAULT_CACERT: caFile,
      VAULT_TLS_SERVER_NAME: SERVER_NAME,
    });
    await server.waitUntil('unsealed', (s) => s.sealed === false);

    // A new CA and certificate; the server restarts with them (and comes back sealed).
    const ca2 = await createTestCa('server CA two');
    const cert2 = await serverCert(ca2);
    server.replaceTls({ ...cert2, caPem: ca2.certPem, serverName: SERVER_NAME });
    await server.restart();
    const message = await tlsError(sidecar, /TLS verification/);
    // The server's certificate is the trouble, and the hint says where to look.
    expect(message).toContain('VAULT_CACERT');
    expect(message).not.toContain('VAULT_CLIENT_CERT');
    expect((await server.sealStatus()).sealed).toBe(true);

    // The kubelet delivers the new CA: a `..data` swap in the mounted directory.
    writeSecretVolume(caDir, { 'ca.crt': ca2.certPem }, 0o444);
    await server.waitUntil('unsealed with the new CA', (s) => s.sealed === false, 30_000);
    expect(sidecar.child.exitCode).toBeNull();
    expect(
      sidecar
        .logs()
        .some((l) => l.msg === 'TLS files changed: new connections to the server use them'),
    ).toBe(true);
    await expectNoLeaks(sidecar, init);
  });

  it('keeps the last good CA when the file turns to junk, says so once, and still unseals', async () => {
    const ca = await createTestCa('server CA');
    const server = await serverSignedBy(ca);
    const { init, keysDir } = await keysFor(server);
    const { dir: caDir, file: caFile } = caVolume(ca.certPem);
    const sidecar = await sidecarFor(server.addr, keysDir, {
      VAULT_CACERT: caFile,
      VAULT_TLS_SERVER_NAME: SERVER_NAME,
    });
    await server.waitUntil('unsealed', (s) => s.sealed === false);

    writeSecretVolume(caDir, { 'ca.crt': 'not a certificate\n' }, 0o444);
    const complaint = (l: Record<string, any>): boolean =>
      /still using the TLS files read before/.test(String(l.msg));
    await waitFor('the complaint', async () => (sidecar.logs().some(complaint) ? true : undefined));
    // Seen again (a server restart, more watch events): still said once.
    writeSecretVolume(caDir, { 'ca.crt': 'still not a certificate\n' }, 0o444);
    await server.restart();
    await server.waitUntil('unsealed with the CA read before', (s) => s.sealed === false, 30_000);
    const complaints = sidecar.logs().filter(complaint);
    expect(complaints.map((l) => l.setting)).toEqual(['VAULT_CACERT']);
    expect(String(complaints[0]?.msg)).toContain('holds no PEM certificate');
    await expectNoLeaks(sidecar, init);
  });
});

describe('mTLS: a listener that requires client certificates', () => {
  async function mtlsServer(
    clientCa: TestCa,
  ): Promise<{ server: OpenBaoServer; serverCa: TestCa; init: InitResult; keysDir: string }> {
    const serverCa = await createTestCa('server CA');
    const cert = await serverCert(serverCa);
    const server = track(
      await startOpenBao({
        storage: 'persistent',
        tls: {
          ...cert,
          caPem: serverCa.certPem,
          serverName: SERVER_NAME,
          clientCaPem: clientCa.certPem,
          client: await clientCert(clientCa),
        },
      }),
    );
    return { server, serverCa, ...(await keysFor(server)) };
  }

  it('unseals after the client certificate is renewed and the old one is no longer trusted', async () => {
    const clientCa1 = await createTestCa('client CA one');
    const { server, serverCa, init, keysDir } = await mtlsServer(clientCa1);
    const clientDir = tempDir('client-tls');
    const client1 = await clientCert(clientCa1);
    writeSecretVolume(clientDir, { 'tls.crt': client1.certPem, 'tls.key': client1.keyPem }, 0o400);
    const sidecar = await sidecarFor(server.addr, keysDir, {
      VAULT_CACERT: server.caFile,
      VAULT_TLS_SERVER_NAME: SERVER_NAME,
      VAULT_CLIENT_CERT: join(clientDir, 'tls.crt'),
      VAULT_CLIENT_KEY: join(clientDir, 'tls.key'),
    });
    await server.waitUntil('unsealed over mTLS', (s) => s.sealed === false);

    // The client CA is rotated: the server restarts trusting only the new one.
    const clientCa2 = await createTestCa('client CA two');
    const cert = await serverCert(serverCa);
    server.replaceTls({
      ...cert,
      caPem: serverCa.certPem,
      serverName: SERVER_NAME,
      clientCaPem: clientCa2.certPem,
      client: await clientCert(clientCa2),
    });
    await server.restart();
    const message = await tlsError(sidecar, /client certificate/);
    expect(message).toContain('refused our client certificate');
    expect(message).toContain('VAULT_CLIENT_CERT');
    expect(message).not.toContain('VAULT_CACERT');

    // cert-manager renews the client certificate: both files swapped at once.
    const client2 = await clientCert(clientCa2);
    writeSecretVolume(clientDir, { 'tls.crt': client2.certPem, 'tls.key': client2.keyPem }, 0o400);
    await server.waitUntil(
      'unsealed with the renewed certificate',
      (s) => s.sealed === false,
      30_000,
    );
    expect(sidecar.child.exitCode).toBeNull();
    await expectNoLeaks(sidecar, init);
  });

  it('tells a client-certificate failure from a server-certificate one', async () => {
    const clientCa = await createTestCa('client CA');
    const { server, init, keysDir } = await mtlsServer(clientCa);
    const base = { VAULT_CACERT: server.caFile, VAULT_TLS_SERVER_NAME: SERVER_NAME };
    const filesDir = tempDir('client-files');
    const write = async (name: string, cert: IssuedCert): Promise<Record<string, string>> => {
      const dir = join(filesDir, name);
      writeSecretVolume(dir, { 'tls.crt': cert.certPem, 'tls.key': cert.keyPem }, 0o400);
      return { VAULT_CLIENT_CERT: join(dir, 'tls.crt'), VAULT_CLIENT_KEY: join(dir, 'tls.key') };
    };

    // No client certificate at all.
    const none = await sidecarFor(server.addr, keysDir, base);
    const noneMessage = await tlsError(none, /client certificate/);
    expect(noneMessage).toContain('requires a client certificate, and none is configured');
    expect(noneMessage).toContain('VAULT_CLIENT_CERT');
    expect(noneMessage).not.toContain('VAULT_CACERT');

    // One from a CA the server does not trust.
    const stranger = await sidecarFor(server.addr, keysDir, {
      ...base,
      ...(await write('stranger', await clientCert(await createTestCa('unknown client CA')))),
    });
    const strangerMessage = await tlsError(stranger, /client certificate/);
    expect(strangerMessage).toContain('refused our client certificate');
    expect(strangerMessage).toContain('VAULT_CLIENT_CERT');

    // One from the right CA, expired (cert-manager's renewal missed).
    const expired = await sidecarFor(server.addr, keysDir, {
      ...base,
      ...(await write('expired', await clientCert(clientCa, new Date(Date.now() - 60_000)))),
    });
    const expiredMessage = await tlsError(expired, /client certificate/);
    expect(expiredMessage).toMatch(/refused our client certificate, which expired at \S+Z/);

    // A good client certificate, but the server's is not verified: the server side is named.
    const otherCa = await createTestCa('some other CA');
    const caDir = tempDir('other-ca');
    writeSecretVolume(caDir, { 'ca.crt': otherCa.certPem });
    const wrongCa = await sidecarFor(server.addr, keysDir, {
      ...base,
      VAULT_CACERT: join(caDir, 'ca.crt'),
      ...(await write('good', await clientCert(clientCa))),
    });
    const wrongCaMessage = await tlsError(wrongCa, /TLS verification/);
    expect(wrongCaMessage).toContain('VAULT_CACERT');
    expect(wrongCaMessage).not.toContain('VAULT_CLIENT_CERT');

    // OpenSSL's own text reaches the operator whole (it used to read `..[redacted]_layer_s3.c`).
    for (const text of [noneMessage, strangerMessage, expiredMessage]) {
      expect(text).not.toContain('[redacted]');
    }
    expect((await server.sealStatus()).progress).toBe(0);
    for (const sidecar of [none, stranger, expired, wrongCa]) await expectNoLeaks(sidecar, init);
  });
});

describe('a rotation whose watch event was lost', () => {
  it('is picked up after the next TLS failure, by comparing the files', async () => {
    const ca1 = await createTestCa('server CA one');
    const server = await serverSignedBy(ca1);
    const { dir: caDir, file: caFile } = caVolume(ca1.certPem);
    const paths = {
      ca: { setting: 'VAULT_CACERT', path: caFile },
      cert: { setting: 'VAULT_CLIENT_CERT', path: undefined },
      key: { setting: 'VAULT_CLIENT_KEY', path: undefined },
    };
    const source = createTlsFileSource({
      paths,
      initial: { ca: ca1.certPem, cert: undefined, key: undefined },
      logger: createLogger({ name: 'test', level: 'silent' }),
      // No watch: as if every event were lost.
      watch: false,
    });
    const client = createVaultClient({
      address: server.addr,
      tls: source,
      tlsServerName: SERVER_NAME,
      skipVerify: false,
      requestTimeoutMs: 5_000,
    });
    try {
      expect((await client.sealStatus()).ok).toBe(true);
      const ca2 = await createTestCa('server CA two');
      server.replaceTls({
        ...(await serverCert(ca2)),
        caPem: ca2.certPem,
        serverName: SERVER_NAME,
      });
      await server.restart();
      writeSecretVolume(caDir, { 'ca.crt': ca2.certPem }, 0o444);
      const failed = await client.sealStatus();
      expect(!failed.ok && failed.failure.code).toBe('tls');
      expect(source.current().ca).toBe(ca2.certPem);
      expect((await client.sealStatus()).ok).toBe(true);
    } finally {
      client.close();
      await source.close();
    }
  });
});

describe('restart detection after the TLS files changed', () => {
  it('still sees the server restart through the new kept-alive connection', async () => {
    const ca = await createTestCa('server CA');
    const server = await serverSignedBy(ca);
    const { init, keysDir } = await keysFor(server);
    const { dir: caDir, file: caFile } = caVolume(ca.certPem);
    // UNSEAL_INTERVAL at its 1 h maximum: only the dropped connection explains a quick re-unseal.
    const sidecar = await sidecarFor(server.addr, keysDir, {
      VAULT_CACERT: caFile,
      VAULT_TLS_SERVER_NAME: SERVER_NAME,
      UNSEAL_INTERVAL: '1h',
    });
    await server.waitUntil('unsealed', (s) => s.sealed === false);
    await waitFor('the sidecar to see it unsealed', async () =>
      (await sidecar.status()).state === 'unsealed' ? true : undefined,
    );
    const checks = async (): Promise<number> =>
      metricValue(await sidecar.metrics(), 'vault_autounseal_checks_total{result="ok"}');
    const before = await checks();

    // A CA bundle with one more CA in it: new agents; the old kept-alive connection is dropped.
    const next = await createTestCa('the next server CA');
    writeSecretVolume(caDir, { 'ca.crt': `${ca.certPem.trim()}\n${next.certPem}` }, 0o444);
    // The change wakes a check, which opens the connection the detector watches.
    await waitFor('a check after the change', async () =>
      (await checks()) > before ? true : undefined,
    );
    await server.restart();
    await server.waitUntil('unsealed after the restart', (s) => s.sealed === false, 30_000);
    await expectNoLeaks(sidecar, init);
  });
});
