// The test CA must produce certificates a strict TLS client accepts, and only when given the CA.
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestCa, type IssuedCert } from '../../harness/test-ca.js';

const servers: https.Server[] = [];

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(async (server) => {
      server.close();
      server.closeAllConnections();
      await once(server, 'close');
    }),
  );
});

async function serve(cert: IssuedCert): Promise<number> {
  const server = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (_req, res) => {
    res.end('hello over tls');
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** Resolves with the body, or rejects with the TLS error code the client saw. */
async function fetchOver(
  port: number,
  options: { ca?: string; servername?: string },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      {
        host: '127.0.0.1',
        port,
        path: '/',
        agent: false,
        ...(options.ca === undefined ? {} : { ca: options.ca }),
        ...(options.servername === undefined ? {} : { servername: options.servername }),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(body));
      },
    );
    req.on('error', reject);
  });
}

describe('createTestCa', () => {
  it('creates a CA certificate with basicConstraints CA and a PKCS#8 key', async () => {
    const ca = await createTestCa('unit test CA');
    const cert = new X509Certificate(ca.certPem);
    expect(cert.ca).toBe(true);
    expect(cert.subject).toContain('CN=unit test CA');
    expect(cert.keyUsage ?? []).toBeDefined();
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it('issues a server certificate with SANs and the serverAuth EKU, signed by the CA', async () => {
    const ca = await createTestCa();
    const issued = await ca.issue({
      commonName: 'webhook.example.svc',
      dnsNames: ['webhook.example.svc', 'localhost'],
      ipAddresses: ['127.0.0.1'],
    });
    const leaf = new X509Certificate(issued.certPem);
    expect(leaf.ca).toBe(false);
    expect(leaf.subjectAltName).toBe(
      'DNS:webhook.example.svc, DNS:localhost, IP Address:127.0.0.1',
    );
    expect(leaf.keyUsage).toContain('1.3.6.1.5.5.7.3.1');
    expect(leaf.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    expect(leaf.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(issued.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it('honours notBefore and notAfter', async () => {
    const ca = await createTestCa();
    const notBefore = new Date('2030-01-01T00:00:00Z');
    const notAfter = new Date('2030-02-01T00:00:00Z');
    const leaf = new X509Certificate(
      (await ca.issue({ commonName: 'x', dnsNames: ['x'], notBefore, notAfter })).certPem,
    );
    expect(new Date(leaf.validFrom).toISOString()).toBe(notBefore.toISOString());
    expect(new Date(leaf.validTo).toISOString()).toBe(notAfter.toISOString());
  });

  describe('served by a Node https server', () => {
    it('is trusted by a client given the CA, by IP SAN', async () => {
      const ca = await createTestCa();
      const port = await serve(
        await ca.issue({ commonName: '127.0.0.1', ipAddresses: ['127.0.0.1'] }),
      );
      await expect(fetchOver(port, { ca: ca.certPem })).resolves.toBe('hello over tls');
    });

    it('is trusted by a client given the CA, by DNS SAN', async () => {
      const ca = await createTestCa();
      const port = await serve(await ca.issue({ commonName: 'svc', dnsNames: ['webhook.test'] }));
      await expect(fetchOver(port, { ca: ca.certPem, servername: 'webhook.test' })).resolves.toBe(
        'hello over tls',
      );
    });

    it('is refused by a client that does not have the CA', async () => {
      const ca = await createTestCa();
      const port = await serve(await ca.issue({ commonName: 'x', ipAddresses: ['127.0.0.1'] }));
      await expect(fetchOver(port, {})).rejects.toMatchObject({
        code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      });
    });

    it('is refused by a client given another CA', async () => {
      const ca = await createTestCa();
      const other = await createTestCa('other CA');
      const port = await serve(await ca.issue({ commonName: 'x', ipAddresses: ['127.0.0.1'] }));
      await expect(fetchOver(port, { ca: other.certPem })).rejects.toMatchObject({
        code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      });
    });

    it('is refused when the name is not among the SANs', async () => {
      const ca = await createTestCa();
      const port = await serve(await ca.issue({ commonName: 'x', dnsNames: ['right.test'] }));
      await expect(
        fetchOver(port, { ca: ca.certPem, servername: 'wrong.test' }),
      ).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    });

    it('is refused once expired', async () => {
      const ca = await createTestCa();
      const port = await serve(
        await ca.issue({
          commonName: 'x',
          ipAddresses: ['127.0.0.1'],
          notBefore: new Date(Date.now() - 2 * 86_400_000),
          notAfter: new Date(Date.now() - 86_400_000),
        }),
      );
      await expect(fetchOver(port, { ca: ca.certPem })).rejects.toMatchObject({
        code: 'CERT_HAS_EXPIRED',
      });
    });
  });

  it('gives a key and certificate that tls.createSecureContext accepts as a pair', async () => {
    const ca = await createTestCa();
    const issued = await ca.issue({ commonName: 'x', dnsNames: ['x'] });
    expect(() =>
      tls.createSecureContext({ cert: issued.certPem, key: issued.keyPem }),
    ).not.toThrow();
    const other = await ca.issue({ commonName: 'y', dnsNames: ['y'] });
    expect(() => tls.createSecureContext({ cert: issued.certPem, key: other.keyPem })).toThrow();
  });
});
