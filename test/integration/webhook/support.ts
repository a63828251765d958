// A webhook on loopback for the integration tests: real HTTPS with a certificate from the test CA,
// the ops port over plain HTTP, logs captured as parsed JSON lines.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../../common/logger.js';
import { createRegistry } from '../../../common/metrics-registry.js';
import { createWebhookMetrics, type WebhookMetrics } from '../../../webhook/metrics.js';
import { buildWebhookServer, type WebhookServers } from '../../../webhook/server.js';
import type { SidecarDefaults } from '../../../webhook/sidecar-spec.js';
import type { ConnectionLimits } from '../../../webhook/config.js';
import type { Registry } from 'prom-client';
import { createTestCa, type TestCa } from '../../harness/test-ca.js';
import { testDefaults, type Json } from '../../fixtures/webhook/fixtures.js';

export interface HttpAnswer {
  readonly status: number;
  readonly text: string;
  readonly json: Json | undefined;
}

export interface RunningWebhook {
  readonly ca: TestCa;
  readonly servers: WebhookServers;
  readonly registry: Registry;
  readonly metrics: WebhookMetrics;
  readonly port: number;
  readonly opsPort: number;
  readonly logs: Json[];
  /** POST a raw body to the HTTPS port over a keep-alive connection that trusts the test CA. */
  post(path: string, body: string | Buffer, contentType?: string): Promise<HttpAnswer>;
  review(path: string, review: unknown): Promise<HttpAnswer>;
  /** Closes the client's idle keep-alive connections: the next requests open new ones. */
  dropIdleConnections(): void;
  /** GET from the plain-HTTP ops port. */
  ops(path: string): Promise<HttpAnswer>;
  close(): Promise<void>;
}

function collect(res: http.IncomingMessage): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('error', reject);
    res.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let json: Json | undefined;
      try {
        json = JSON.parse(text) as Json;
      } catch {
        json = undefined;
      }
      resolve({ status: res.statusCode ?? 0, text, json });
    });
  });
}

export async function startWebhook(
  options: {
    sidecar?: SidecarDefaults;
    maxBodyBytes?: number;
    /** Connection limits; the defaults of webhook/config.ts unless set (tests set them small). */
    limits?: Partial<ConnectionLimits>;
    namespace?: string;
    ca?: TestCa;
    cert?: { cert: string; key: string };
  } = {},
): Promise<RunningWebhook> {
  const ca = options.ca ?? (await createTestCa('webhook integration CA'));
  let issued = options.cert;
  if (!issued) {
    const leaf = await ca.issue({
      commonName: 'vault-autounseal-webhook.vault-autounseal-system.svc',
      dnsNames: ['vault-autounseal-webhook.vault-autounseal-system.svc', 'localhost'],
      ipAddresses: ['127.0.0.1'],
    });
    issued = { cert: leaf.certPem, key: leaf.keyPem };
  }
  const logs: Json[] = [];
  const logger = createLogger({
    level: 'debug',
    name: 'webhook-test',
    destination: { write: (line: string) => void logs.push(JSON.parse(line) as Json) },
  });
  const registry = createRegistry();
  const metrics = createWebhookMetrics(registry);
  const servers = buildWebhookServer({
    config: {
      namespace: options.namespace ?? 'vault-autounseal-system',
      maxBodyBytes: options.maxBodyBytes ?? 3 * 2 ** 20,
      limits: {
        handshakeTimeoutMs: 10_000,
        requestTimeoutMs: 15_000,
        maxConnections: 1000,
        ...options.limits,
      },
      sidecar: options.sidecar ?? testDefaults(),
    },
    tls: issued,
    logger,
    registry,
    metrics,
  });
  await servers.admission.listen({ host: '127.0.0.1', port: 0 });
  await servers.ops.listen({ host: '127.0.0.1', port: 0 });
  const port = (servers.admission.server.address() as AddressInfo).port;
  const opsPort = (servers.ops.server.address() as AddressInfo).port;
  const agent = new https.Agent({ keepAlive: true, ca: ca.certPem, maxSockets: 8 });

  const post = (
    path: string,
    body: string | Buffer,
    contentType = 'application/json',
  ): Promise<HttpAnswer> =>
    new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port,
          // The apiserver appends ?timeout=Ns to the configured path.
          path: `${path}?timeout=5s`,
          method: 'POST',
          agent,
          servername: 'localhost',
          headers: { 'content-type': contentType, 'content-length': Buffer.byteLength(body) },
        },
        (res) => void collect(res).then(resolve, reject),
      );
      req.on('error', reject);
      req.end(body);
    });

  return {
    ca,
    servers,
    registry,
    metrics,
    port,
    opsPort,
    logs,
    post,
    review: (path, review) => post(path, JSON.stringify(review)),
    dropIdleConnections: () => {
      for (const sockets of Object.values(agent.freeSockets)) {
        for (const socket of sockets ?? []) socket.destroy();
      }
    },
    ops: (path) =>
      new Promise((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: opsPort, path, agent: false }, (res) => {
            void collect(res).then(resolve, reject);
          })
          .on('error', reject);
      }),
    async close(): Promise<void> {
      agent.destroy();
      await servers.admission.close();
      await servers.ops.close();
    },
  };
}

/** Waits, without asserting any timing, until `check` holds; the test's own timeout bounds it. */
export async function until(check: () => Promise<boolean> | boolean, pauseMs = 50): Promise<void> {
  for (;;) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
}
