// The built program, as the image runs it: `node dist/webhook/main.js` (built by `npm test`'s
// prepare step, or `npm run build`).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../../harness/ports.js';
import { repoRoot } from '../../harness/repo-root.js';
import { createTestCa, type TestCa } from '../../harness/test-ca.js';
import { reviewForFixture, type Json } from '../../fixtures/webhook/fixtures.js';
import { SETTINGS } from '../../../webhook/config.js';
import { until } from './support.js';

const MAIN = join(repoRoot(), 'dist', 'webhook', 'main.js');

interface Exit {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(
  env: Record<string, string>,
  args: readonly string[] = [],
): { child: ChildProcess; exited: Promise<Exit> } {
  // Only what the test sets: no KUBERNETES_* or WEBHOOK_* from the developer's shell.
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<Exit>((resolve) => {
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, exited };
}

function get(url: string, ca?: string): Promise<number> {
  return new Promise((resolve) => {
    const req = https.get(url, { ca, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
  });
}

async function fetchStatus(url: string): Promise<number> {
  try {
    return (await fetch(url)).status;
  } catch {
    return 0;
  }
}

describe('dist/webhook/main.js', () => {
  let dir: string;
  let ca: TestCa;

  beforeAll(async () => {
    expect(existsSync(MAIN), `${MAIN} is missing: run npm run build`).toBe(true);
    dir = await mkdtemp(join(tmpdir(), 'webhook-main-'));
    ca = await createTestCa('main test CA');
    const leaf = await ca.issue({
      commonName: 'webhook',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
    });
    await writeFile(join(dir, 'tls.crt'), leaf.certPem);
    await writeFile(join(dir, 'tls.key'), leaf.keyPem, { mode: 0o600 });
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('exits 2 on bad configuration, naming every bad setting', async () => {
    const { exited } = run({
      WEBHOOK_PORT: 'https',
      LOG_LEVEL: 'chatty',
      WEBHOOK_NAMESPACE: 'Not_A_Namespace',
    });
    const { code, stderr } = await exited;
    expect(code).toBe(2);
    expect(stderr).toContain('vault-autounseal-webhook: invalid configuration');
    for (const setting of ['WEBHOOK_PORT', 'LOG_LEVEL', 'SIDECAR_IMAGE', 'WEBHOOK_NAMESPACE']) {
      expect(stderr).toContain(`  - ${setting}:`);
    }
  });

  it.each([['--help'], ['-h']])(
    '%s prints every setting with its flag and default, and exits 0 without starting',
    async (flag) => {
      // No SIDECAR_IMAGE, no namespace: help needs no valid configuration.
      const { code, stdout, stderr } = await run({}, [flag]).exited;
      expect(code).toBe(0);
      expect(stderr).toBe('');
      expect(stdout).toMatch(/^Usage: vault-autounseal-webhook /);
      for (const [name, fallback] of Object.entries(SETTINGS)) {
        const flagName = name.toLowerCase().replaceAll('_', '-');
        expect(stdout).toContain(`${name}, --${flagName}  (default: ${fallback || 'none'})`);
      }
    },
  );

  it('exits 2 on a listen host that is not an IP address', async () => {
    const { code, stderr } = await run({
      SIDECAR_IMAGE: 'sidecar:test',
      WEBHOOK_NAMESPACE: 'vault-autounseal-system',
      WEBHOOK_HOST: 'all-interfaces',
    }).exited;
    expect(code).toBe(2);
    expect(stderr).toContain('  - WEBHOOK_HOST: is "all-interfaces"; accepted: an IP address');
  });

  it('listens on WEBHOOK_HOST only, both the HTTPS and the ops port', async () => {
    // 127.0.0.2 is loopback too on Linux, and lets the test see that 127.0.0.1 is not bound.
    const [port, metricsPort] = await freePorts(2);
    const { child, exited } = run({
      SIDECAR_IMAGE: 'sidecar:test',
      WEBHOOK_NAMESPACE: 'vault-autounseal-system',
      WEBHOOK_HOST: '127.0.0.2',
      WEBHOOK_PORT: String(port),
      WEBHOOK_METRICS_PORT: String(metricsPort),
      WEBHOOK_TLS_CERT_FILE: join(dir, 'tls.crt'),
      WEBHOOK_TLS_KEY_FILE: join(dir, 'tls.key'),
    });
    try {
      await until(
        async () => (await fetchStatus(`http://127.0.0.2:${metricsPort}/readyz`)) === 200,
        100,
      );
      expect(await fetchStatus(`http://127.0.0.1:${metricsPort}/readyz`)).toBe(0);
      expect(await get(`https://127.0.0.1:${port}/healthz`, ca.certPem)).toBe(0);
    } finally {
      child.kill('SIGTERM');
    }
    expect((await exited).code).toBe(0);
  });

  it('exits 1 with a fatal log line when the certificate cannot be read', async () => {
    const [port, metricsPort] = await freePorts(2);
    const { exited } = run({
      SIDECAR_IMAGE: 'sidecar:test',
      WEBHOOK_NAMESPACE: 'vault-autounseal-system',
      WEBHOOK_PORT: String(port),
      WEBHOOK_METRICS_PORT: String(metricsPort),
      WEBHOOK_TLS_CERT_FILE: join(dir, 'missing.crt'),
      WEBHOOK_TLS_KEY_FILE: join(dir, 'missing.key'),
    });
    const { code, stdout } = await exited;
    expect(code).toBe(1);
    const fatal = stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Json)
      .find((l) => l['level'] === 'fatal');
    expect(fatal).toMatchObject({
      msg: 'cannot load the TLS certificate',
      err: { code: 'TLS_FILE_UNREADABLE' },
    });
  });

  it('serves admission over HTTPS and probes over HTTP, then stops on SIGTERM with status 0', async () => {
    const [port, metricsPort] = await freePorts(2);
    const { child, exited } = run({
      SIDECAR_IMAGE: 'sidecar:test',
      WEBHOOK_NAMESPACE: 'vault-autounseal-system',
      WEBHOOK_PORT: String(port),
      WEBHOOK_METRICS_PORT: String(metricsPort),
      WEBHOOK_TLS_CERT_FILE: join(dir, 'tls.crt'),
      WEBHOOK_TLS_KEY_FILE: join(dir, 'tls.key'),
    });
    try {
      await until(
        async () => (await fetchStatus(`http://127.0.0.1:${metricsPort}/readyz`)) === 200,
        100,
      );
      expect(await get(`https://127.0.0.1:${port}/healthz`, ca.certPem)).toBe(404);
      const answer = await new Promise<Json>((resolve, reject) => {
        const body = JSON.stringify(reviewForFixture('vault-0'));
        const req = https.request(
          {
            host: '127.0.0.1',
            port,
            path: '/mutate?timeout=5s',
            method: 'POST',
            ca: ca.certPem,
            agent: false,
            headers: { 'content-type': 'application/json' },
          },
          (res) => {
            let text = '';
            res.on('data', (chunk: Buffer) => (text += chunk.toString()));
            res.on('end', () => resolve(JSON.parse(text) as Json));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
      expect(answer['response']).toMatchObject({ allowed: true, patchType: 'JSONPatch' });
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(metrics).toMatch(
        /vault_autounseal_webhook_admissions_total\{result="injected",reason="pod-label"\} 1/,
      );
      expect(metrics).toMatch(/vault_autounseal_webhook_tls_cert_expiry_timestamp_seconds \d{10}/);
    } finally {
      child.kill('SIGTERM');
    }
    const { code, stdout } = await exited;
    expect(code).toBe(0);
    const lines = stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Json);
    expect(lines.map((l): unknown => l['msg'])).toEqual(
      expect.arrayContaining(['webhook listening', 'shutting down', 'stopped']),
    );
  });
});
