// The TLS file source (sidecar/tls-files.ts) with real files in a Kubernetes-style volume: what it
// accepts, what it keeps when the files go bad, and what it says about it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import {
  certificateProblem,
  createTlsFileSource,
  expiredAt,
  materialProblem,
  type TlsFileSource,
} from '../../../sidecar/tls-files.js';
import { writeSecretVolume } from '../../harness/key-volume.js';
import { waitFor } from '../../harness/ports.js';
import { createTestCa, type IssuedCert, type TestCa } from '../../harness/test-ca.js';

let ca: TestCa;
let pair: IssuedCert;
let other: IssuedCert;
beforeAll(async () => {
  ca = await createTestCa('unit CA');
  pair = await ca.issue({ commonName: 'client', usage: 'client' });
  other = await ca.issue({ commonName: 'other', usage: 'client' });
});

describe('certificateProblem', () => {
  it.each([
    ['nothing', '', 'holds no PEM certificate'],
    ['junk', 'not a certificate\n', 'holds no PEM certificate'],
    [
      'a block that does not parse',
      '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
      'holds a certificate that does not parse',
    ],
  ])('%s: %s', (_what, pem, problem) => {
    expect(certificateProblem(pem)).toBe(problem);
  });

  it('accepts a certificate and a bundle, and refuses two files joined without a newline', () => {
    expect(certificateProblem(ca.certPem)).toBeUndefined();
    expect(certificateProblem(`${ca.certPem.trim()}\n${pair.certPem}`)).toBeUndefined();
    expect(certificateProblem(`${ca.certPem.trim()}${pair.certPem}`)).toBe(
      'holds a PEM block that does not start on a line of its own',
    );
  });
});

describe('materialProblem', () => {
  it('names the file that is wrong', () => {
    const none = { ca: undefined, cert: undefined, key: undefined };
    expect(materialProblem(none)).toBeUndefined();
    expect(materialProblem({ ...none, ca: 'junk' })).toEqual({
      part: 'ca',
      reason: 'holds no PEM certificate',
    });
    expect(materialProblem({ ca: ca.certPem, cert: 'junk', key: pair.keyPem })).toEqual({
      part: 'cert',
      reason: 'holds no PEM certificate',
    });
    expect(
      materialProblem({ ca: ca.certPem, cert: pair.certPem, key: pair.keyPem }),
    ).toBeUndefined();
    // Read half-way through a swap: the new certificate with the old key.
    const mismatch = materialProblem({ ca: undefined, cert: pair.certPem, key: other.keyPem });
    expect(mismatch?.part).toBe('key');
    expect(mismatch?.reason).toMatch(/^is not the key of the client certificate \(.+\)$/);
    expect(mismatch?.reason).not.toContain(other.keyPem.slice(30, 60));
  });
});

describe('expiredAt', () => {
  it('says when a certificate expired, and nothing for one in date or none', async () => {
    const notAfter = new Date('2026-01-02T03:04:05.000Z');
    const old = await ca.issue({
      commonName: 'old',
      notBefore: new Date('2026-01-01T00:00:00Z'),
      notAfter,
    });
    expect(expiredAt(old.certPem, notAfter.getTime() + 1_000)).toBe('2026-01-02T03:04:05.000Z');
    expect(expiredAt(old.certPem, notAfter.getTime() - 1_000)).toBeUndefined();
    expect(expiredAt(undefined, Date.now())).toBeUndefined();
    expect(expiredAt('junk', Date.now())).toBeUndefined();
  });
});

describe('createTlsFileSource', () => {
  let dir: string;
  let lines: Record<string, unknown>[];
  let source: TlsFileSource | undefined;
  const logger = () =>
    createLogger({
      name: 'test',
      level: 'info',
      destination: new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
          done();
        },
      }),
    });
  const paths = () => ({
    ca: { setting: 'VAULT_CACERT', path: join(dir, 'ca.crt') },
    cert: { setting: 'VAULT_CLIENT_CERT', path: join(dir, 'tls.crt') },
    key: { setting: 'VAULT_CLIENT_KEY', path: join(dir, 'tls.key') },
  });
  const open = (watch: boolean): TlsFileSource => {
    writeSecretVolume(dir, {
      'ca.crt': ca.certPem,
      'tls.crt': pair.certPem,
      'tls.key': pair.keyPem,
    });
    source = createTlsFileSource({
      paths: paths(),
      initial: { ca: ca.certPem, cert: pair.certPem, key: pair.keyPem },
      logger: logger(),
      watch,
    });
    return source;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vau-tlsfiles-'));
    lines = [];
  });
  afterEach(async () => {
    await source?.close();
    source = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('changes nothing while the files are the same', async () => {
    const files = open(false);
    const seen: unknown[] = [];
    files.onChange((m) => seen.push(m));
    expect(await files.refresh()).toBe(false);
    expect(seen).toEqual([]);
    expect(lines).toEqual([]);
  });

  it('takes a renewed pair, tells its listeners, and logs which settings changed', async () => {
    const files = open(false);
    const seen: unknown[] = [];
    files.onChange((m) => seen.push(m));
    writeSecretVolume(dir, {
      'ca.crt': ca.certPem,
      'tls.crt': other.certPem,
      'tls.key': other.keyPem,
    });
    expect(await files.refresh()).toBe(true);
    expect(files.current()).toEqual({ ca: ca.certPem, cert: other.certPem, key: other.keyPem });
    expect(seen).toEqual([files.current()]);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'info',
        changed: ['VAULT_CLIENT_CERT', 'VAULT_CLIENT_KEY'],
        msg: 'TLS files changed: new connections to the server use them',
      }),
    ]);
  });

  it('keeps the last good files when they go bad, and says so once per problem', async () => {
    const files = open(false);
    // A certificate without its key (a swap read half-way).
    writeSecretVolume(dir, {
      'ca.crt': ca.certPem,
      'tls.crt': other.certPem,
      'tls.key': pair.keyPem,
    });
    expect(await files.refresh()).toBe(false);
    expect(await files.refresh()).toBe(false);
    // Then gone.
    writeSecretVolume(dir, { 'ca.crt': ca.certPem });
    expect(await files.refresh()).toBe(false);
    expect(await files.refresh()).toBe(false);
    expect(files.current()).toEqual({ ca: ca.certPem, cert: pair.certPem, key: pair.keyPem });
    expect(lines.map((l) => [l.level, l.setting, l.msg])).toEqual([
      [
        'error',
        'VAULT_CLIENT_KEY',
        expect.stringMatching(
          /^TLS file VAULT_CLIENT_KEY \(.+\/tls\.key\) is not the key of the client certificate \(.+\); still using the TLS files read before$/,
        ),
      ],
      [
        'error',
        'VAULT_CLIENT_CERT',
        `TLS file VAULT_CLIENT_CERT (${join(dir, 'tls.crt')}) cannot be read (ENOENT); still using the TLS files read before`,
      ],
    ]);
    // Back to the files in use: said once too.
    writeSecretVolume(dir, {
      'ca.crt': ca.certPem,
      'tls.crt': pair.certPem,
      'tls.key': pair.keyPem,
    });
    expect(await files.refresh()).toBe(false);
    expect(await files.refresh()).toBe(false);
    expect(lines.slice(2).map((l) => l.msg)).toEqual(['TLS files usable again, and unchanged']);
  });

  it('re-reads by itself when the directory changes (a `..data` swap)', async () => {
    const files = open(true);
    const seen: unknown[] = [];
    files.onChange((m) => seen.push(m));
    // Give the watcher a moment to start, then swap; the change arrives through the watch alone.
    await new Promise((r) => setTimeout(r, 200));
    writeSecretVolume(dir, {
      'ca.crt': ca.certPem,
      'tls.crt': other.certPem,
      'tls.key': other.keyPem,
    });
    await waitFor('the swap to be seen', async () => (seen.length > 0 ? true : undefined), {
      timeoutMs: 10_000,
      intervalMs: 50,
    });
    expect(files.current().cert).toBe(other.certPem);
  });

  it('reads one file at a time: overlapping refreshes see one change', async () => {
    const files = open(false);
    writeSecretVolume(dir, {
      'ca.crt': ca.certPem,
      'tls.crt': other.certPem,
      'tls.key': other.keyPem,
    });
    const results = await Promise.all([files.refresh(), files.refresh(), files.refresh()]);
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('watches nothing when no TLS file is set', async () => {
    source = createTlsFileSource({
      paths: {
        ca: { setting: 'VAULT_CACERT', path: undefined },
        cert: { setting: 'VAULT_CLIENT_CERT', path: undefined },
        key: { setting: 'VAULT_CLIENT_KEY', path: undefined },
      },
      initial: { ca: undefined, cert: undefined, key: undefined },
      logger: logger(),
    });
    expect(await source.refresh()).toBe(false);
    expect(source.current()).toEqual({ ca: undefined, cert: undefined, key: undefined });
  });
});
