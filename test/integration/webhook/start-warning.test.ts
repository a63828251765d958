// The built webhook warns at start when it runs in a namespace it is told holds Vault pods
// (WEBHOOK_VAULT_NAMESPACES, the chart's webhook.vaultNamespaces): every webhook entry excludes its
// own namespace, so injection would silently be off there. It still starts: the warning is for the
// operator reading `kubectl logs`, and a webhook that refused to start would block nothing less.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../../harness/ports.js';
import { repoRoot } from '../../harness/repo-root.js';
import { createTestCa } from '../../harness/test-ca.js';
import type { Json } from '../../fixtures/webhook/fixtures.js';
import { until } from './support.js';

const MAIN = join(repoRoot(), 'dist', 'webhook', 'main.js');

/** Starts the webhook, waits until it is ready, stops it, and returns its parsed log lines. */
async function startAndStop(dir: string, env: Record<string, string>): Promise<Json[]> {
  const [port, metricsPort] = await freePorts(2);
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env['PATH'] ?? '',
      SIDECAR_IMAGE: 'sidecar:test',
      WEBHOOK_HOST: '127.0.0.1',
      WEBHOOK_PORT: String(port),
      WEBHOOK_METRICS_PORT: String(metricsPort),
      WEBHOOK_TLS_CERT_FILE: join(dir, 'tls.crt'),
      WEBHOOK_TLS_KEY_FILE: join(dir, 'tls.key'),
      ...env,
    },
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    await until(async () => {
      try {
        return (await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status === 200;
      } catch {
        return false;
      }
    }, 100);
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Json);
}

describe('dist/webhook/main.js in a Vault namespace', () => {
  let dir: string;

  beforeAll(async () => {
    expect(existsSync(MAIN), `${MAIN} is missing: run npm run build`).toBe(true);
    dir = await mkdtemp(join(tmpdir(), 'webhook-start-warning-'));
    const ca = await createTestCa('start warning CA');
    const leaf = await ca.issue({ commonName: 'webhook', ipAddresses: ['127.0.0.1'] });
    await writeFile(join(dir, 'tls.crt'), leaf.certPem);
    await writeFile(join(dir, 'tls.key'), leaf.keyPem, { mode: 0o600 });
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('logs one warning at start naming the namespace, and still serves', async () => {
    const logs = await startAndStop(dir, {
      WEBHOOK_NAMESPACE: 'vault',
      WEBHOOK_VAULT_NAMESPACES: 'openbao,vault',
    });
    const warnings = logs.filter((l) => l['level'] === 'warn');
    expect(warnings).toEqual([
      expect.objectContaining({
        namespace: 'vault',
        msg: expect.stringContaining(
          'the webhook runs in namespace vault, which WEBHOOK_VAULT_NAMESPACES names as a Vault namespace',
        ),
      }),
    ]);
    expect(logs.map((l) => l['msg'])).toContain('webhook listening');
  });

  it('logs no warning when it runs in a namespace of its own', async () => {
    const logs = await startAndStop(dir, {
      WEBHOOK_NAMESPACE: 'vault-autounseal',
      WEBHOOK_VAULT_NAMESPACES: 'openbao,vault',
    });
    expect(logs.filter((l) => l['level'] === 'warn')).toEqual([]);
  });
});
