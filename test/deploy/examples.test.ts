// deploy/examples/: values for the official Vault chart and OpenBao's chart that opt their pods in,
// the Secret layouts for the shares, and the liveness-probe advice, tried on a real OpenBao.
//
// The two upstream charts cannot be fetched here (no chart repository is reachable), so their
// values are checked against the keys those charts read (server.extraLabels, server.annotations,
// server.livenessProbe.{enabled,path}) and against the chart's MutatingWebhookConfiguration.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startOpenBao, type OpenBaoServer } from '../harness/openbao.js';
import {
  DEPLOY,
  allSchemaProblems,
  at,
  find,
  helmTemplate,
  parseObjects,
  type K8sObject,
} from './support.js';

const EXAMPLES = join(DEPLOY, 'examples');
const CHART_VALUES = ['vault-helm-values.yaml', 'openbao-helm-values.yaml'];

function load(file: string): unknown {
  return parseYaml(readFileSync(join(EXAMPLES, file), 'utf8'), { version: '1.1' });
}

type Req = { key: string; operator: string; values?: string[] };

function selects(reqs: readonly Req[], labels: Record<string, string>): boolean {
  return reqs.every((r) => {
    const v = labels[r.key];
    if (r.operator === 'Exists') return v !== undefined;
    if (r.operator === 'DoesNotExist') return v === undefined;
    if (r.operator === 'In') return v !== undefined && (r.values ?? []).includes(v);
    return v === undefined || !(r.values ?? []).includes(v);
  });
}

/** Does a pod with these labels, in an unlabelled namespace, reach a Fail entry of the chart? */
async function reachesWebhook(podLabels: Record<string, string>): Promise<boolean> {
  const mwc = find(await helmTemplate(), 'MutatingWebhookConfiguration');
  const namespaceLabels = { 'kubernetes.io/metadata.name': 'vault' };
  return (mwc.webhooks as unknown[]).some(
    (w) =>
      selects((at(w, 'namespaceSelector', 'matchExpressions') as Req[]) ?? [], namespaceLabels) &&
      selects((at(w, 'objectSelector', 'matchExpressions') as Req[]) ?? [], podLabels) &&
      at(w, 'failurePolicy') === 'Fail',
  );
}

describe.each(CHART_VALUES)('%s', (file) => {
  const values = load(file) as {
    server: {
      extraLabels: Record<string, string>;
      annotations: Record<string, string>;
      livenessProbe: { enabled: boolean; path: string };
    };
  };

  it('labels the server pods so the webhook selects them (a label: selectors see no annotations)', async () => {
    expect(values.server.extraLabels['vault-autounseal.io/inject']).toBe('true');
    expect(await reachesWebhook(values.server.extraLabels)).toBe(true);
  });

  it('annotations are strings with keys the webhook or sidecar reads', () => {
    const known = [
      'keys-secret',
      'paused',
      'vault-container',
      'native-sidecar',
      'interval',
      'log-level',
    ];
    for (const [key, value] of Object.entries(values.server.annotations)) {
      expect(known.map((k) => `vault-autounseal.io/${k}`)).toContain(key);
      expect(typeof value).toBe('string');
    }
  });

  it('sets a liveness probe that keeps a sealed or uninitialised server alive', () => {
    expect(values.server.livenessProbe.enabled).toBe(true);
    const query = new URL(values.server.livenessProbe.path, 'http://vault').searchParams;
    expect(query.get('standbyok')).toBe('true');
    expect(query.get('sealedcode')).toBe('204');
    expect(query.get('uninitcode')).toBe('204');
  });
});

describe('Secret and namespace examples', () => {
  const files = [
    'unseal-keys-secret.yaml',
    'unseal-keys-split-custody.yaml',
    'namespace-opt-in.yaml',
  ];
  const objects: K8sObject[] = files.flatMap((f) =>
    parseObjects(readFileSync(join(EXAMPLES, f), 'utf8')),
  );

  it('validate against the Kubernetes schema', async () => {
    expect(objects.length).toBe(4);
    expect(await allSchemaProblems(objects)).toEqual([]);
  });

  it('hold shares under names the sidecar reads (not starting with ".")', () => {
    for (const secret of objects.filter((o) => o.kind === 'Secret')) {
      const keys = Object.keys(secret.stringData as Record<string, string>);
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) expect(key.startsWith('.')).toBe(false);
    }
  });

  it('the single Secret has the name the chart gives the webhook as default', async () => {
    const env = at(
      find(await helmTemplate(), 'Deployment'),
      'spec',
      'template',
      'spec',
      'containers',
      0,
      'env',
    ) as { name: string; value?: string }[];
    const name = env.find((e) => e.name === 'DEFAULT_KEYS_SECRET')?.value;
    expect(name).toBe('vault-unseal-keys');
    expect(find(objects, 'Secret', name).metadata.name).toBe(name);
  });

  it('split custody: neither Secret alone reaches the threshold of a 5/3 Vault', () => {
    const a = find(objects, 'Secret', 'vault-unseal-keys-a');
    const b = find(objects, 'Secret', 'vault-unseal-keys-b');
    const count = (s: K8sObject): number => Object.keys(s.stringData as object).length;
    expect(count(a)).toBeLessThan(3);
    expect(count(b)).toBeLessThan(3);
    expect(count(a) + count(b)).toBeGreaterThanOrEqual(3);
  });

  it('the namespace example opts in with the label the webhook entries select', () => {
    const namespace = find(objects, 'Namespace');
    expect(namespace.metadata.labels?.['vault-autounseal.io/injection']).toBe('enabled');
  });
});

describe('the liveness-probe advice, on a real OpenBao', () => {
  // The kubelet's httpGet probe succeeds on any status from 200 to 399.
  const alive = (status: number): boolean => status >= 200 && status < 400;
  const advised = (
    load('vault-helm-values.yaml') as { server: { livenessProbe: { path: string } } }
  ).server.livenessProbe.path;
  const chartDefault = '/v1/sys/health?standbyok=true';
  let server: OpenBaoServer | undefined;
  let shares: readonly string[] = [];

  async function probe(path: string): Promise<number> {
    return (await server!.request('GET', path.replace(/^\/v1\//, ''))).status;
  }

  beforeAll(async () => {
    server = await startOpenBao({ storage: 'persistent' });
  });
  afterAll(async () => {
    await server?.destroy();
  });

  it('uninitialised: the chart default fails (501), the advised path passes', async () => {
    expect(await probe(chartDefault)).toBe(501);
    expect(alive(await probe(advised))).toBe(true);
  });

  it('sealed: the chart default fails (503, a restart loop), the advised path passes', async () => {
    shares = (await server!.init(5, 3)).keysBase64;
    expect(await probe(chartDefault)).toBe(503);
    expect(alive(await probe(advised))).toBe(true);
  });

  it('unsealed and active: both pass', async () => {
    await server!.unsealWith(shares.slice(0, 3));
    expect(alive(await probe(chartDefault))).toBe(true);
    expect(alive(await probe(advised))).toBe(true);
  });
});
