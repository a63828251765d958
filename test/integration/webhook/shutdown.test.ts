// The built webhook (`node dist/webhook/main.js`) under a second signal: a pod being deleted gets
// SIGTERM from the kubelet, and a human or a tool may well send another. The second must not
// kill the process mid-close: an admission request still being answered is finished, then exit 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reviewForFixture, type Json } from '../../fixtures/webhook/fixtures.js';
import { freePorts } from '../../harness/ports.js';
import { repoRoot } from '../../harness/repo-root.js';
import { createTestCa, type TestCa } from '../../harness/test-ca.js';
import { until } from './support.js';

const MAIN = join(repoRoot(), 'dist', 'webhook', 'main.js');

interface Running {
  readonly child: ChildProcess;
  readonly port: number;
  logs(): string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function startWebhook(dir: string): Promise<Running> {
  const [port = 0, metricsPort = 0] = await freePorts(2);
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env['PATH'] ?? '',
      SIDECAR_IMAGE: 'sidecar:test',
      WEBHOOK_NAMESPACE: 'vault-autounseal-system',
      WEBHOOK_PORT: String(port),
      WEBHOOK_METRICS_PORT: String(metricsPort),
      WEBHOOK_TLS_CERT_FILE: join(dir, 'tls.crt'),
      WEBHOOK_TLS_KEY_FILE: join(dir, 'tls.key'),
    },
  });
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const logs = (): string[] =>
    stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => String((JSON.parse(line) as Json)['msg']));
  await until(async () => {
    try {
      return (await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status === 200;
    } catch {
      return child.exitCode !== null;
    }
  }, 100);
  expect(child.exitCode).toBeNull();
  return { child, port, logs, exited };
}

describe('dist/webhook/main.js, signalled twice', () => {
  let dir: string;
  let ca: TestCa;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'webhook-shutdown-'));
    ca = await createTestCa('shutdown test CA');
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

  it.each([
    ['SIGTERM', 'SIGTERM'], // the kubelet, then an operator or a second controller
    ['SIGTERM', 'SIGINT'],
  ] as const)(
    '%s then %s while a review is in flight: finishes it and exits 0',
    async (first, second) => {
      const webhook = await startWebhook(dir);
      try {
        // An admission request whose body is half sent keeps the listener's close waiting, so the
        // second signal surely lands while the webhook is shutting down.
        const body = Buffer.from(JSON.stringify(reviewForFixture('vault-0')));
        let status = 0;
        const answered = new Promise<void>((resolve, reject) => {
          const req = https.request(
            {
              host: '127.0.0.1',
              port: webhook.port,
              path: '/mutate?timeout=10s',
              method: 'POST',
              ca: ca.certPem,
              agent: false,
              headers: {
                'content-type': 'application/json',
                'content-length': body.length,
                connection: 'close',
              },
            },
            (res) => {
              status = res.statusCode ?? 0;
              res.resume();
              res.on('end', resolve);
            },
          );
          req.on('error', reject);
          req.write(body.subarray(0, 10), () => {
            webhook.child.kill(first);
            void until(() => webhook.logs().includes('shutting down')).then(() => {
              webhook.child.kill(second);
              // Give the second signal time to land before the close can complete.
              setTimeout(() => req.end(body.subarray(10)), 500);
            });
          });
        });
        await answered;
        expect(status).toBe(200);
        const { code, signal } = await webhook.exited;
        expect({ code, signal }).toEqual({ code: 0, signal: null });
        expect(webhook.logs()).toEqual(expect.arrayContaining(['shutting down', 'stopped']));
      } finally {
        webhook.child.kill('SIGKILL');
      }
    },
  );
});
