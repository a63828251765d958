// deploy/examples/: values for the official Vault chart and OpenBao's chart that opt their pods in,
// the Secret layouts for the shares, and the liveness-probe advice, tried on a real OpenBao.
//
// The two upstream charts cannot be fetched here (no chart repository is reachable), so their
// values are checked against the keys those charts read (server.extraLabels, server.annotations,
// server.livenessProbe.{enabled,path}) and against the chart's MutatingWebhookConfiguration, and
// rendered with the project's vault-helm-shaped stand-in chart (test/node/fixtures/vault-chart),
// whose schema refuses any key it does not honour; the node tests run what it renders.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { readPod } from '../../webhook/pod.js';
import { buildSidecarSpec } from '../../webhook/sidecar-spec.js';
import { startOpenBao, type OpenBaoServer } from '../harness/openbao.js';
import {
  DEPLOY,
  ROOT,
  requireHelm,
  runOk,
  allSchemaProblems,
  at,
  find,
  helmTemplate,
  parseObjects,
  type K8sObject,
} from './support.js';

const EXAMPLES = join(DEPLOY, 'examples');
const CHART_VALUES = ['vault-helm-values.yaml', 'openbao-helm-values.yaml'];
const STAND_IN = join(ROOT, 'test', 'node', 'fixtures', 'vault-chart');
/** The release name each example's retry_join addresses assume (the charts name pods after it). */
const RELEASE_OF: Record<string, string> = {
  'vault-helm-values.yaml': 'vault',
  'openbao-helm-values.yaml': 'openbao',
};

/** The stand-in chart rendered with an example's values, as the node tests install it. */
async function renderStandIn(file: string, extra: readonly string[] = []): Promise<K8sObject[]> {
  const args = ['template', 'vault', STAND_IN, '--namespace', 'vault'];
  args.push('--set', 'injector.enabled=false', '-f', join(EXAMPLES, file), ...extra);
  return parseObjects(await runOk(requireHelm(), args));
}

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
      livenessProbe: { enabled: boolean; path: string; timeoutSeconds?: number };
      ha: { replicas: number; raft: { enabled: boolean; config?: string } };
    };
  };
  const release = RELEASE_OF[file]!;

  it("followers join by retry_join, one block per pod, on the chart's own per-pod DNS names", () => {
    // Without retry_join, pods 1 and 2 stay uninitialised for ever (their sidecars wait in
    // not-initialized): the node test zero-to-unsealed shows it on a real cluster.
    const config = values.server.ha.raft.config ?? '';
    const storage = /storage\s+"raft"\s*\{([\s\S]*?)\n\}/.exec(config)?.[1] ?? '';
    const joined = [...storage.matchAll(/retry_join\s*\{\s*leader_api_addr\s*=\s*"([^"]+)"/g)];
    const wanted = Array.from(
      { length: values.server.ha.replicas },
      (_, n) => `http://${release}-${n}.${release}-internal:8200`,
    );
    expect(joined.map((m) => m[1])).toEqual(wanted);
  });

  it('names a -previous keys Secret from day one, and the webhook mounts both optional', () => {
    const names = values.server.annotations['vault-autounseal.io/keys-secret']!.split(',');
    expect(names).toEqual(['vault-unseal-keys', 'vault-unseal-keys-previous']);
    const pod = readPod(
      {
        metadata: { name: `${release}-0`, annotations: values.server.annotations },
        spec: { containers: [{ name: release === 'openbao' ? 'openbao' : 'vault', image: 'x' }] },
      },
      'vault',
    );
    const built = buildSidecarSpec(pod!, {
      image: 'sidecar',
      imagePullPolicy: 'IfNotPresent',
      resources: {
        requests: { cpu: '10m', memory: '64Mi' },
        limits: { cpu: '200m', memory: '128Mi' },
      },
      keysSecret: 'vault-unseal-keys',
      nativeSidecar: true,
      runAsUser: undefined,
      runAsGroup: undefined,
    });
    if (!built.ok) throw new Error(built.message);
    const secrets = built.spec.volumes
      .map((v) => v['secret'] as { secretName: string; optional?: boolean } | undefined)
      .filter((v) => v !== undefined);
    expect(secrets.map((v) => [v.secretName, v.optional])).toEqual([
      ['vault-unseal-keys', true],
      ['vault-unseal-keys-previous', true],
    ]);
  });

  it('sets paused "false", so `kubectl annotate --overwrite` always replaces a value', () => {
    expect(values.server.annotations['vault-autounseal.io/paused']).toBe('false');
  });

  it('gives the liveness probe at least 10 s (a busy node answers health slowly during init)', () => {
    expect(values.server.livenessProbe.timeoutSeconds).toBeGreaterThanOrEqual(10);
  });

  it('renders with the stand-in chart, which refuses any key it does not honour', async () => {
    const objects = await renderStandIn(file, ['--set', 'server.affinity=']);
    const sts = find(objects, 'StatefulSet');
    expect(at(sts, 'spec', 'template', 'metadata', 'labels', 'vault-autounseal.io/inject')).toBe(
      'true',
    );
    const probe = at(sts, 'spec', 'template', 'spec', 'containers', 0, 'livenessProbe');
    expect(at(probe, 'httpGet', 'path')).toBe(values.server.livenessProbe.path);
    expect(at(probe, 'timeoutSeconds')).toBe(values.server.livenessProbe.timeoutSeconds);
    const config = at(find(objects, 'ConfigMap'), 'data', 'extraconfig-from-values.hcl');
    expect(config).toContain('retry_join');
    // A key the stand-in does not know fails the render instead of being ignored.
    await expect(renderStandIn(file, ['--set', 'server.ha.raft.unknownKey=1'])).rejects.toThrow(
      /unknownKey/,
    );
  });

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
