// The alert rules and the dashboard must name metrics the code really exports. This test runs the
// real thing end to end on loopback:
//   - a real OpenBao, initialised 5/3, kept unsealed by the built sidecar (node dist/sidecar/main.js)
//     reading shares from a Kubernetes-style Secret volume;
//   - the built webhook (node dist/webhook/main.js) with a test certificate, sent one real
//     AdmissionReview so its admission series exist;
//   - a real Prometheus (Debian's) scraping both under the job names the chart's monitors set, with
//     the shipped rule file loaded.
// Then every metric name read from the rule file and the dashboard must be in Prometheus'
// __name__ values, every dashboard query must evaluate without error (and return data), and every
// rule must evaluate with health "ok". The names are parsed from the files, never kept by hand.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { writeSecretVolume } from '../harness/key-volume.js';
import { startOpenBao, type OpenBaoServer } from '../harness/openbao.js';
import { freePort, waitFor } from '../harness/ports.js';
import { startSidecar, type SidecarProcess } from '../harness/sidecar-process.js';
import { createTestCa } from '../harness/test-ca.js';
import { reviewFor } from '../fixtures/webhook/fixtures.js';
import { CHART, ROOT } from './support.js';

const execFileAsync = promisify(execFile);
const RULES_FILE = join(CHART, 'files', 'prometheus-rules.yaml');
const DASHBOARD_FILE = join(CHART, 'files', 'grafana-dashboard.json');
const WEBHOOK_MAIN = join(ROOT, 'dist', 'webhook', 'main.js');

// ---- what the files use -------------------------------------------------------------------------

interface RuleFile {
  groups: { name: string; rules: { alert?: string; expr: string }[] }[];
}
interface Panel {
  title: string;
  type: string;
  targets?: { expr: string; refId: string }[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: { name: string; type: string; definition?: string }[] };
}

const rules = parseYaml(readFileSync(RULES_FILE, 'utf8')) as RuleFile;
const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;

const ruleExprs = rules.groups.flatMap((g) => g.rules.map((r) => r.expr));
const panelQueries = dashboard.panels.flatMap((p) =>
  (p.targets ?? []).map((t) => ({ panel: p.title, refId: t.refId, expr: t.expr })),
);
const variableQueries = dashboard.templating.list
  .filter((v) => v.type === 'query' && v.definition)
  .map((v) => ({ name: v.name, definition: v.definition! }));

/**
 * Metric names in PromQL text: identifiers with our prefix. PromQL identifiers are
 * [a-zA-Z_:][a-zA-Z0-9_:]*, so the match is cut at anything else (a brace, a bracket, a space).
 */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/(?<![A-Za-z0-9_:])vault_autounseal_[a-z_]+(?![A-Za-z0-9_:])/g)].map(
    (m) => m[0],
  );
}

const ruleNames = new Set(ruleExprs.flatMap(metricNames));
const dashboardNames = new Set([
  ...panelQueries.flatMap((q) => metricNames(q.expr)),
  ...variableQueries.flatMap((v) => metricNames(v.definition)),
]);
const allNames = [...new Set([...ruleNames, ...dashboardNames])].sort();

/** Grafana's variables, as "All" selects them, and its interval macro, for evaluation. */
function grafanaToPromQL(expr: string): string {
  return expr
    .replace(/\$__rate_interval|\$\{__rate_interval\}/g, '1m')
    .replace(/\$__interval|\$\{__interval\}/g, '15s')
    .replace(/\$(namespace|pod)\b|\$\{(namespace|pod)\}/g, '.*');
}

// ---- the running pieces -----------------------------------------------------------------------

interface PromResponse<T> {
  status: 'success' | 'error';
  data: T;
  error?: string;
  errorType?: string;
}

class Prometheus {
  constructor(
    readonly url: string,
    readonly child: ChildProcess,
    readonly output: () => string,
  ) {}

  async api<T>(path: string): Promise<PromResponse<T>> {
    const response = await fetch(`${this.url}${path}`);
    return (await response.json()) as PromResponse<T>;
  }

  async query(expr: string): Promise<PromResponse<{ resultType: string; result: unknown[] }>> {
    return this.api(`/api/v1/query?query=${encodeURIComponent(expr)}`);
  }
}

let work: string;
let server: OpenBaoServer | undefined;
let sidecar: SidecarProcess | undefined;
let webhook: ChildProcess | undefined;
let webhookOutput = '';
let prometheus: Prometheus | undefined;

async function startWebhook(
  dir: string,
): Promise<{ metricsAddr: string; admissionPort: number; caPem: string }> {
  const ca = await createTestCa();
  // 90 days, like a cert-manager certificate: far from the expiry alerts' thresholds.
  const cert = await ca.issue({
    commonName: 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    notAfter: new Date(Date.now() + 90 * 86_400_000),
  });
  writeFileSync(join(dir, 'tls.crt'), cert.certPem);
  writeFileSync(join(dir, 'tls.key'), cert.keyPem, { mode: 0o600 });
  const admissionPort = await freePort();
  const metricsPort = await freePort();
  const child = spawn(process.execPath, [WEBHOOK_MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      WEBHOOK_PORT: String(admissionPort),
      WEBHOOK_METRICS_PORT: String(metricsPort),
      WEBHOOK_TLS_CERT_FILE: join(dir, 'tls.crt'),
      WEBHOOK_TLS_KEY_FILE: join(dir, 'tls.key'),
      WEBHOOK_NAMESPACE: 'vault-autounseal',
      SIDECAR_IMAGE: 'vault-autounseal-sidecar:test',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  webhook = child;
  child.stdout?.on('data', (c: Buffer) => (webhookOutput += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => (webhookOutput += c.toString('utf8')));
  const metricsAddr = `127.0.0.1:${metricsPort}`;
  await waitFor(
    'the webhook /readyz',
    async () => {
      if (child.exitCode !== null)
        throw new Error(`webhook exited ${child.exitCode}:\n${webhookOutput}`);
      return (await fetch(`http://${metricsAddr}/readyz`)).status === 200 ? true : undefined;
    },
    { timeoutMs: 30_000 },
  );
  return { metricsAddr, admissionPort, caPem: ca.certPem };
}

/** One real AdmissionReview for an opted-in pod, over TLS, as the apiserver would send it. */
async function admitOnePod(port: number, caPem: string): Promise<Record<string, unknown>> {
  const review = reviewFor(
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'vault-0',
        namespace: 'vault',
        labels: { 'vault-autounseal.io/inject': 'true' },
      },
      spec: { containers: [{ name: 'vault', image: 'hashicorp/vault:1.18' }] },
    },
    { uid: '7f0b2c9e-1d3a-4c55-9a0e-2b7d6e1f8a90' },
  );
  const body = JSON.stringify(review);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/mutate?timeout=5s',
        method: 'POST',
        ca: caPem,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString('utf8')));
        res.on('end', () => {
          try {
            resolve(JSON.parse(text) as Record<string, unknown>);
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function startPrometheus(
  dir: string,
  targets: { sidecar: string; webhook: string },
): Promise<Prometheus> {
  const port = await freePort();
  const config = {
    global: { scrape_interval: '1s', evaluation_interval: '1s', scrape_timeout: '1s' },
    rule_files: [RULES_FILE],
    scrape_configs: [
      {
        // The job names the chart's PodMonitor / ServiceMonitor set; labels as the operator adds.
        job_name: 'vault-autounseal-sidecar',
        static_configs: [
          { targets: [targets.sidecar], labels: { namespace: 'vault', pod: 'vault-0' } },
        ],
      },
      {
        job_name: 'vault-autounseal-webhook',
        static_configs: [
          {
            targets: [targets.webhook],
            labels: { namespace: 'vault-autounseal', pod: 'vault-autounseal-webhook-0' },
          },
        ],
      },
    ],
  };
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, JSON.stringify(config, null, 2)); // JSON is YAML
  mkdirSync(join(dir, 'data'));
  const child = spawn(
    'prometheus',
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString('utf8')));
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (e) =>
      reject(
        new Error(`cannot start prometheus (scripts/deploy-tools.sh installs it): ${e.message}`),
      ),
    );
  });
  await spawned;
  const prom = new Prometheus(`http://127.0.0.1:${port}`, child, () => output);
  await waitFor(
    'Prometheus /-/ready',
    async () => {
      if (child.exitCode !== null)
        throw new Error(`prometheus exited ${child.exitCode}:\n${output}`);
      return (await fetch(`${prom.url}/-/ready`)).status === 200 ? true : undefined;
    },
    { timeoutMs: 60_000 },
  );
  return prom;
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

beforeAll(async () => {
  // The built programs, as `npm test` (scripts/prepare.mjs) builds them.
  await execFileAsync('npm', ['run', '--silent', 'build'], { cwd: ROOT });
  work = mkdtempSync(join(tmpdir(), 'vau-metrics-match-'));

  // A real OpenBao, initialised and sealed, and its shares as a Secret volume.
  server = await startOpenBao({ storage: 'persistent' });
  const init = await server.init(5, 3);
  const keysDir = join(work, 'keys');
  writeSecretVolume(keysDir, {
    'key-1': init.keysBase64[0]!,
    'key-2': init.keysHex[1]!,
    'key-3': init.keysBase64[2]!,
  });
  const podinfo = join(work, 'podinfo');
  mkdirSync(podinfo);
  writeFileSync(join(podinfo, 'annotations'), 'vault-autounseal.io/inject="true"\n');

  sidecar = await startSidecar({
    VAULT_ADDR: server.addr,
    UNSEAL_KEYS_DIR: keysDir,
    UNSEAL_PODINFO_DIR: podinfo,
    LOG_LEVEL: 'warn',
  });
  const s = server;
  await waitFor(
    'the sidecar to unseal OpenBao',
    async () => ((await s.sealStatus()).sealed === false ? true : undefined),
    {
      timeoutMs: 60_000,
    },
  );

  const webhookDir = join(work, 'webhook');
  mkdirSync(webhookDir);
  const hook = await startWebhook(webhookDir);
  const review = await admitOnePod(hook.admissionPort, hook.caPem);
  expect(review.response).toMatchObject({
    uid: '7f0b2c9e-1d3a-4c55-9a0e-2b7d6e1f8a90',
    allowed: true,
  });

  const promDir = join(work, 'prometheus');
  mkdirSync(promDir);
  prometheus = await startPrometheus(promDir, {
    sidecar: new URL(sidecar.httpAddr).host,
    webhook: hook.metricsAddr,
  });
  const prom = prometheus;
  // Both targets up, and enough scrapes for rate() over the dashboard's window.
  await waitFor(
    'both targets up in Prometheus',
    async () => {
      const answer = await prom.query('sum(up{job=~"vault-autounseal-(sidecar|webhook)"})');
      const value = (answer.data.result[0] as { value?: [number, string] } | undefined)?.value?.[1];
      return value === '2' ? true : undefined;
    },
    { timeoutMs: 60_000 },
  );
  await waitFor(
    'five scrapes of each target',
    async () => {
      const answer = await prom.query(
        'min(count_over_time(up{job=~"vault-autounseal-(sidecar|webhook)"}[1m]))',
      );
      const value = Number(
        (answer.data.result[0] as { value?: [number, string] } | undefined)?.value?.[1] ?? 0,
      );
      return value >= 5 ? true : undefined;
    },
    { timeoutMs: 60_000 },
  );
}, 600_000);

afterAll(async () => {
  await stopChild(prometheus?.child);
  await stopChild(webhook);
  await sidecar?.stop();
  await server?.destroy();
  if (work) rmSync(work, { recursive: true, force: true });
});

// ---- the checks ---------------------------------------------------------------------------------

describe('metric names in the alert rules and the dashboard match what the code exports', () => {
  it('finds the names by parsing the files (and the parser cuts names where PromQL does)', () => {
    expect(metricNames('rate(vault_autounseal_x_total{a="b"}[5m]) / vault_autounseal_y')).toEqual([
      'vault_autounseal_x_total',
      'vault_autounseal_y',
    ]);
    expect(metricNames('not_vault_autounseal_x + job="vault-autounseal-webhook"')).toEqual([]);
    // The contract's names, as a floor: the files do use the sidecar's and the webhook's metrics.
    expect(ruleNames.size).toBeGreaterThanOrEqual(8);
    expect(
      allNames.filter((n) => n.startsWith('vault_autounseal_webhook_')).length,
    ).toBeGreaterThanOrEqual(3);
    expect(allNames.length).toBeGreaterThanOrEqual(14);
  });

  it('every name appears in what Prometheus scraped from the running sidecar and webhook', async () => {
    const answer = await prometheus!.api<string[]>('/api/v1/label/__name__/values');
    expect(answer.status).toBe('success');
    const scraped = new Set(answer.data);
    const missing = allNames.filter((name) => !scraped.has(name));
    expect(missing, `not exported by the code: ${missing.join(', ')}`).toEqual([]);
  });

  it('a name the code does not export is reported missing (the check can fail)', async () => {
    const answer = await prometheus!.api<string[]>('/api/v1/label/__name__/values');
    expect(answer.data).not.toContain('vault_autounseal_not_a_metric');
    expect(answer.data).toContain('vault_autounseal_vault_sealed');
  });

  it('names with _bucket, _sum or _count belong to histograms the code exports', async () => {
    const suffixed = allNames.filter((n) => /_(bucket|sum|count)$/.test(n));
    expect(suffixed.length).toBeGreaterThan(0);
    for (const name of suffixed) {
      const base = name.replace(/_(bucket|sum|count)$/, '');
      const answer = await prometheus!.api<Record<string, { type: string }[]>>(
        `/api/v1/metadata?metric=${encodeURIComponent(base)}`,
      );
      expect(answer.data[base]?.[0]?.type, `${base} (from ${name})`).toBe('histogram');
    }
  });

  it('the sidecar scrape shows the OpenBao it keeps unsealed as unsealed, with its shares loaded', async () => {
    const sealed = await prometheus!.query(
      'vault_autounseal_vault_sealed{job="vault-autounseal-sidecar"}',
    );
    expect((sealed.data.result[0] as { value: [number, string] }).value[1]).toBe('0');
    const loaded = await prometheus!.query(
      'vault_autounseal_keys_loaded{job="vault-autounseal-sidecar"}',
    );
    expect((loaded.data.result[0] as { value: [number, string] }).value[1]).toBe('3');
    // The unseal it did: one successful round, timed, with its shares accepted.
    for (const expr of [
      'vault_autounseal_unseals_total{job="vault-autounseal-sidecar",result="success"}',
      'vault_autounseal_unseal_duration_seconds_count{job="vault-autounseal-sidecar"}',
      'vault_autounseal_key_submissions_total{job="vault-autounseal-sidecar",result="accepted"}',
    ]) {
      const answer = await prometheus!.query(expr);
      const value = (answer.data.result[0] as { value: [number, string] } | undefined)?.value[1];
      expect(Number(value), expr).toBeGreaterThanOrEqual(1);
    }
  });

  it('the webhook scrape counts the AdmissionReview it answered', async () => {
    const answer = await prometheus!.query(
      'vault_autounseal_webhook_admissions_total{job="vault-autounseal-webhook",result="injected"}',
    );
    const value = (answer.data.result[0] as { value: [number, string] } | undefined)?.value[1];
    expect(value).toBe('1');
  });
});

describe('every dashboard query evaluates against the real Prometheus', () => {
  it.each(panelQueries.map((q) => [`${q.panel} (${q.refId})`, q.expr]))(
    '%s',
    async (_title, expr) => {
      const answer = await prometheus!.query(grafanaToPromQL(expr));
      expect(answer.error, grafanaToPromQL(expr)).toBeUndefined();
      expect(answer.status).toBe('success');
      // And returns data: a selector with a wrong label or job name would come back empty.
      expect(answer.data.result.length, grafanaToPromQL(expr)).toBeGreaterThan(0);
    },
  );

  it.each(variableQueries.map((v) => [v.name, v.definition]))(
    'variable $%s',
    async (_name, definition) => {
      // label_values(<selector>, <label>) is Grafana's; its selector goes to /api/v1/series.
      const match = /^label_values\((.+),\s*([a-z_]+)\)$/.exec(definition);
      expect(match, definition).not.toBeNull();
      const selector = grafanaToPromQL(match![1]!);
      const answer = await prometheus!.api<Record<string, string>[]>(
        `/api/v1/series?match[]=${encodeURIComponent(selector)}`,
      );
      expect(answer.status, answer.error).toBe('success');
      expect(answer.data.map((series) => series[match![2]!])).toContain(
        match![2] === 'pod' ? 'vault-0' : 'vault',
      );
    },
  );
});

describe('the alert rules run in the real Prometheus', () => {
  it('loads every rule of the file and evaluates each with health ok', async () => {
    const prom = prometheus!;
    type Rule = { name: string; health: string; lastError?: string; lastEvaluation: string };
    const groups = await waitFor(
      'every rule evaluated once',
      async () => {
        const answer = await prom.api<{ groups: { rules: Rule[] }[] }>('/api/v1/rules');
        const all = answer.data.groups.flatMap((g) => g.rules);
        return all.length > 0 && all.every((r) => !r.lastEvaluation.startsWith('0001'))
          ? answer.data.groups
          : undefined;
      },
      { timeoutMs: 30_000 },
    );
    const loaded = groups.flatMap((g) => g.rules);
    expect(loaded.length).toBe(rules.groups.flatMap((g) => g.rules).length);
    for (const rule of loaded) {
      expect({ name: rule.name, health: rule.health, lastError: rule.lastError ?? '' }).toEqual({
        name: rule.name,
        health: 'ok',
        lastError: '',
      });
    }
  });

  it('with everything up and unsealed, no alert fires', async () => {
    const answer = await prometheus!.api<{
      alerts: { labels: { alertname: string }; state: string }[];
    }>('/api/v1/alerts');
    expect(
      answer.data.alerts.filter((a) => a.state === 'firing').map((a) => a.labels.alertname),
    ).toEqual([]);
  });
});
