// The served certificate is replaced without a restart when its files change the way the kubelet
// changes a Secret volume: a new `..<timestamp>` directory, then an atomic rename of `..data`.
import { X509Certificate } from 'node:crypto';
import { mkdtemp, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import {
  TlsLoadError,
  loadTlsFiles,
  parseTlsMaterial,
  startTlsReloader,
  type TlsReloader,
} from '../../../webhook/tls-reloader.js';
import { createTestCa, type IssuedCert, type TestCa } from '../../harness/test-ca.js';
import { reviewForFixture, type Json } from '../../fixtures/webhook/fixtures.js';
import { startWebhook, until, type RunningWebhook } from './support.js';

const DAY_MS = 86_400_000;
let dir: string;
let generation = 0;

/** Writes a kubelet-style Secret volume: `tls.crt` → `..data/tls.crt` → `..<ts>/tls.crt`. */
async function publish(pair: { cert: string; key: string }): Promise<void> {
  generation += 1;
  const stamp = `..2026_11_22_08_00_00.${String(generation).padStart(9, '0')}`;
  await mkdir(join(dir, stamp));
  await writeFile(join(dir, stamp, 'tls.crt'), pair.cert, { mode: 0o644 });
  await writeFile(join(dir, stamp, 'tls.key'), pair.key, { mode: 0o600 });
  await symlink(stamp, join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  if (generation === 1) {
    await symlink('..data/tls.crt', join(dir, 'tls.crt'));
    await symlink('..data/tls.key', join(dir, 'tls.key'));
  } else {
    await rm(join(dir, `..2026_11_22_08_00_00.${String(generation - 1).padStart(9, '0')}`), {
      recursive: true,
    });
  }
}

function pair(issued: IssuedCert): { cert: string; key: string } {
  return { cert: issued.certPem, key: issued.keyPem };
}

function serialOf(pem: string): string {
  return new X509Certificate(pem).serialNumber.toUpperCase();
}

function notAfterSeconds(pem: string): number {
  return Math.floor(Date.parse(new X509Certificate(pem).validTo) / 1000);
}

/** A fresh TLS connection (no session reuse) that trusts the test CA: which certificate is served? */
function servedSerial(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      const serial = socket.getPeerCertificate().serialNumber.toUpperCase();
      socket.end();
      resolve(serial);
    });
    socket.on('error', reject);
  });
}

async function expiryMetric(webhook: RunningWebhook): Promise<number> {
  const metric = await webhook.registry.getSingleMetricAsString(
    'vault_autounseal_webhook_tls_cert_expiry_timestamp_seconds',
  );
  const line = metric
    .split('\n')
    .find((l) => l.startsWith('vault_autounseal_webhook_tls_cert_expiry_timestamp_seconds '));
  return Number(line?.split(' ')[1]);
}

async function reloadFailures(webhook: RunningWebhook): Promise<number> {
  const { values } = await webhook.metrics.tlsReloads.get();
  return values.find((v) => v.labels['result'] === 'failure')?.value ?? 0;
}

describe('TLS certificate hot reload', () => {
  let ca: TestCa;
  let webhook: RunningWebhook;
  let reloader: TlsReloader;
  const logs: Json[] = [];
  const names = { commonName: 'webhook', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'webhook-tls-'));
    ca = await createTestCa('reload test CA');
    const first = await ca.issue({ ...names, notAfter: new Date(Date.now() + 10 * DAY_MS) });
    await publish(pair(first));
    const initial = await loadTlsFiles(join(dir, 'tls.crt'), join(dir, 'tls.key'));
    webhook = await startWebhook({ ca, cert: initial });
    reloader = startTlsReloader({
      certFile: join(dir, 'tls.crt'),
      keyFile: join(dir, 'tls.key'),
      initial,
      apply: (material) => webhook.servers.setSecureContext(material),
      logger: createLogger({
        level: 'info',
        name: 'tls-test',
        destination: { write: (line: string) => void logs.push(JSON.parse(line) as Json) },
      }),
      metrics: webhook.metrics,
      // Only the directory watcher can make the swap visible within the test.
      rereadIntervalMs: 3_600_000,
    });
  });

  afterAll(async () => {
    await reloader.close();
    await webhook.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the test CA certificate and reports its expiry', async () => {
    const current = reloader.current();
    expect(await servedSerial(webhook.port, ca.certPem)).toBe(serialOf(current.cert));
    expect(await expiryMetric(webhook)).toBe(notAfterSeconds(current.cert));
  });

  it('after an atomic ..data swap, a fresh client sees the new certificate, and the metric follows', async () => {
    const before = reloader.current();
    const next = await ca.issue({ ...names, notAfter: new Date(Date.now() + 40 * DAY_MS) });
    await publish(pair(next));
    await until(
      async () => (await servedSerial(webhook.port, ca.certPem)) === serialOf(next.certPem),
    );
    expect(serialOf(next.certPem)).not.toBe(serialOf(before.cert));
    expect(await expiryMetric(webhook)).toBe(notAfterSeconds(next.certPem));
    expect(await expiryMetric(webhook)).not.toBe(notAfterSeconds(before.cert));
    // And admission still works over it.
    const answer = await webhook.review('/mutate', reviewForFixture('vault-0'));
    expect(answer.status).toBe(200);
    expect(logs.some((l) => l['msg'] === 'TLS certificate reloaded')).toBe(true);
  });

  it('keeps serving the old certificate when the new key does not match, and says so', async () => {
    const served = serialOf(reloader.current().cert);
    const failuresBefore = await reloadFailures(webhook);
    const a = await ca.issue(names);
    const b = await ca.issue(names);
    await publish({ cert: a.certPem, key: b.keyPem });
    expect(await reloader.reload()).toBe(false);
    expect(await servedSerial(webhook.port, ca.certPem)).toBe(served);
    expect(await reloadFailures(webhook)).toBeGreaterThan(failuresBefore);
    expect(
      logs.some(
        (l) => l['msg']?.includes('TLS reload failed') && l['err']?.['code'] === 'TLS_KEY_MISMATCH',
      ),
    ).toBe(true);
    // No key material in any log line.
    for (const line of logs) expect(JSON.stringify(line)).not.toContain('PRIVATE KEY');

    // A good pair afterwards is picked up.
    const good = await ca.issue(names);
    await publish(pair(good));
    await until(
      async () => (await servedSerial(webhook.port, ca.certPem)) === serialOf(good.certPem),
    );
  });
});

describe('a certificate and key that do not match, left in place', () => {
  let ca: TestCa;
  let webhook: RunningWebhook;
  let reloader: TlsReloader;
  let clock = 1_800_000_000_000;
  const logs: Json[] = [];
  const names = { commonName: 'webhook', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] };
  const failureLines = (): Json[] => logs.filter((l) => l['msg']?.includes('TLS reload failed'));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'webhook-tls-mismatch-'));
    generation = 0;
    ca = await createTestCa('mismatch test CA');
    await publish(pair(await ca.issue(names)));
    const initial = await loadTlsFiles(join(dir, 'tls.crt'), join(dir, 'tls.key'));
    webhook = await startWebhook({ ca, cert: initial });
    reloader = startTlsReloader({
      certFile: join(dir, 'tls.crt'),
      keyFile: join(dir, 'tls.key'),
      initial,
      apply: (material) => webhook.servers.setSecureContext(material),
      logger: createLogger({
        level: 'info',
        name: 'tls-test',
        destination: { write: (line: string) => void logs.push(JSON.parse(line) as Json) },
      }),
      metrics: webhook.metrics,
      rereadIntervalMs: 3_600_000,
      now: () => clock,
    });
  });

  afterAll(async () => {
    await reloader.close();
    await webhook.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('are logged once, then once a minute with a count, while every attempt is counted', async () => {
    const failuresBefore = await reloadFailures(webhook);
    const a = await ca.issue(names);
    const b = await ca.issue(names);
    await publish({ cert: a.certPem, key: b.keyPem });
    // The 2 s retries of a whole minute, and more: one line.
    for (let i = 0; i < 5; i++) expect(await reloader.reload()).toBe(false);
    expect(failureLines()).toHaveLength(1);
    expect(failureLines()[0]).toMatchObject({ err: { code: 'TLS_KEY_MISMATCH' }, suppressed: 0 });
    const attempts = (await reloadFailures(webhook)) - failuresBefore;
    expect(attempts).toBeGreaterThanOrEqual(5);

    clock += 60_000;
    expect(await reloader.reload()).toBe(false);
    expect(failureLines()).toHaveLength(2);
    // The attempts between the two lines are counted in the second (a watch event may add one).
    expect(failureLines()[1]!['suppressed']).toBeGreaterThanOrEqual(4);
  });

  it('once a good pair is served, the next bad one is logged at once', async () => {
    const good = await ca.issue(names);
    await publish(pair(good));
    await until(
      async () => (await servedSerial(webhook.port, ca.certPem)) === serialOf(good.certPem),
    );
    const before = failureLines().length;
    const a = await ca.issue(names);
    const b = await ca.issue(names);
    await publish({ cert: a.certPem, key: b.keyPem });
    expect(await reloader.reload()).toBe(false);
    expect(failureLines()).toHaveLength(before + 1);
  });
});

describe('parseTlsMaterial and loadTlsFiles', () => {
  it('refuses a certificate file without a certificate', async () => {
    const ca = await createTestCa();
    const leaf = await ca.issue({ commonName: 'x', dnsNames: ['x'] });
    expect(() => parseTlsMaterial('not a pem', leaf.keyPem)).toThrow(
      expect.objectContaining({ code: 'TLS_CERT_INVALID' }) as Error,
    );
  });

  it('names the files, never their content, when they cannot be read', async () => {
    const error: unknown = await loadTlsFiles('/nonexistent/tls.crt', '/nonexistent/tls.key').catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TlsLoadError);
    expect(error).toMatchObject({ code: 'TLS_FILE_UNREADABLE' });
    expect((error as Error).message).toContain('/nonexistent/tls.crt');
  });
});
