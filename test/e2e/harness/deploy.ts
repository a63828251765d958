// What deploy/ renders, as users get it, and the webhook run as a local process from it.
//
// - helmTemplate / kustomizeBuild: the chart (`helm template`, helm from scripts/deploy-tools.sh)
//   and the kustomize overlays (`kubectl kustomize`, offline).
// - forLoopback: the rendered MutatingWebhookConfiguration with each entry's clientConfig changed
//   to a `url` on 127.0.0.1 (there is no kube-proxy, so no Service can be reached) and the test
//   CA's caBundle. Nothing else changes: selectors, failurePolicy, timeouts, sideEffects and
//   matchConditions are what users get.
// - startWebhook: `node dist/webhook/main.js` with the environment of the rendered Deployment's
//   container (so the injected sidecar is the one the chart configures), on 127.0.0.1 with a
//   certificate from the test CA.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { runMarker } from '../../harness/orphans.js';
import { freePorts, sleep } from '../../harness/ports.js';
import { repoRoot } from '../../harness/repo-root.js';
import type { TestCa } from '../../harness/test-ca.js';
import { run, runOk } from './run.js';

export const ROOT = repoRoot();
export const CHART = join(ROOT, 'deploy', 'helm', 'vault-autounseal');
export const KUSTOMIZE = join(ROOT, 'deploy', 'kustomize');
export const HELM = join(ROOT, '.cache', 'tools', 'bin', 'helm');
export const RELEASE = 'vault-autounseal';
export const NAMESPACE = 'vault-autounseal';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [field: string]: unknown };
  [field: string]: unknown;
}

export function parseObjects(text: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text, { version: '1.1' })) {
    if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors[0]?.message ?? ''}`);
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) objects.push(value as K8sObject);
  }
  return objects;
}

export async function helmTemplate(args: readonly string[] = []): Promise<K8sObject[]> {
  if (!existsSync(HELM)) throw new Error(`${HELM} is missing: run bash scripts/e2e-tools.sh`);
  const out = await runOk(HELM, ['template', RELEASE, CHART, '--namespace', NAMESPACE, ...args], {
    env: { HELM_CACHE_HOME: join(ROOT, '.cache', 'helm') },
  });
  return parseObjects(out);
}

/**
 * `kubectl kustomize` of every overlay. without-cert-manager needs the files its make-certs.sh
 * writes: that overlay is built from a copy, where the script runs, so the tree stays clean.
 */
export async function kustomizeBuilds(): Promise<Record<string, K8sObject[]>> {
  const builds: Record<string, K8sObject[]> = {};
  for (const overlay of ['base', 'cert-manager', 'observability']) {
    builds[overlay] = parseObjects(await runOk('kubectl', ['kustomize', join(KUSTOMIZE, overlay)]));
  }
  const copy = await mkdtemp(join(tmpdir(), 'vau-e2e-kustomize-'));
  try {
    await cp(KUSTOMIZE, copy, { recursive: true });
    await runOk('bash', [join(copy, 'without-cert-manager', 'make-certs.sh')]);
    builds['without-cert-manager'] = parseObjects(
      await runOk('kubectl', ['kustomize', join(copy, 'without-cert-manager')]),
    );
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
  return builds;
}

export function findObject(objects: readonly K8sObject[], kind: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0]!;
}

interface WebhookEntry {
  name: string;
  clientConfig: { service?: { path?: string }; url?: string; caBundle?: string };
  [field: string]: unknown;
}

/**
 * The rendered MutatingWebhookConfiguration, with only each entry's clientConfig changed: the
 * Service's path on a loopback url, and the test CA. Everything else is kept as rendered.
 */
export function forLoopback(mwc: K8sObject, port: number, caPem: string): K8sObject {
  const webhooks = (mwc['webhooks'] as WebhookEntry[]).map((entry) => {
    const path = entry.clientConfig.service?.path ?? '/';
    return {
      ...entry,
      clientConfig: {
        url: `https://127.0.0.1:${port}${path}`,
        caBundle: Buffer.from(caPem).toString('base64'),
      },
    };
  });
  return { ...mwc, webhooks };
}

interface EnvEntry {
  name: string;
  value?: string;
  valueFrom?: unknown;
}

/** The webhook container's literal env from the rendered Deployment (valueFrom entries left out). */
export function deploymentEnv(objects: readonly K8sObject[]): Record<string, string> {
  const deployment = findObject(objects, 'Deployment') as unknown as {
    spec: { template: { spec: { containers: { env?: EnvEntry[] }[] } } };
  };
  const env: Record<string, string> = {};
  for (const entry of deployment.spec.template.spec.containers[0]?.env ?? []) {
    if (entry.value !== undefined) env[entry.name] = entry.value;
  }
  return env;
}

export interface Webhook {
  readonly port: number;
  readonly metricsPort: number;
  logs(): string;
  stop(): Promise<void>;
}

/** Starts dist/webhook/main.js with `env` (from deploymentEnv), on 127.0.0.1, serving a test cert. */
export async function startWebhook(
  ca: TestCa,
  env: Record<string, string>,
  ports?: { port: number; metricsPort: number },
): Promise<Webhook> {
  const main = join(ROOT, 'dist', 'webhook', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build`);
  const dir = await mkdtemp(join(tmpdir(), 'vau-e2e-webhook-'));
  const leaf = await ca.issue({ commonName: 'webhook', ipAddresses: ['127.0.0.1'] });
  await writeFile(join(dir, 'tls.crt'), leaf.certPem);
  await writeFile(join(dir, 'tls.key'), leaf.keyPem, { mode: 0o600 });
  const [port, metricsPort] = ports
    ? [ports.port, ports.metricsPort]
    : ((await freePorts(2)) as [number, number]);
  const child: ChildProcess = spawn(process.execPath, [main], {
    env: {
      PATH: process.env['PATH'] ?? '',
      ...runMarker(),
      ...env,
      WEBHOOK_HOST: '127.0.0.1',
      WEBHOOK_PORT: String(port),
      WEBHOOK_METRICS_PORT: String(metricsPort),
      WEBHOOK_TLS_CERT_FILE: join(dir, 'tls.crt'),
      WEBHOOK_TLS_KEY_FILE: join(dir, 'tls.key'),
      WEBHOOK_NAMESPACE: NAMESPACE, // the Deployment's fieldRef: metadata.namespace
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-262_144);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`the webhook exited ${child.exitCode}:\n${output}`);
    }
    try {
      if ((await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the webhook was not ready within 30 s:\n${output}`);
    }
    await sleep(100);
  }
  return { port, metricsPort, logs: () => output, stop };
}

export { run, runOk };
