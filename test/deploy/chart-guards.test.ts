// The chart refuses what would break a cluster, and renders what the cluster can run (issue 22):
// a strict values schema (unknown keys, bad quantities, nulls), no PodDisruptionBudget that blocks
// every drain, a soft topology spread that its docs call soft, image digests, the sidecar's memory
// request, native sidecars and matchConditions gated on the Kubernetes version, a release namespace
// that would switch injection off, NOTES.txt, and the OpenShift preset, whose webhook is run with
// the rendered settings against a vault-helm `global.openshift=true` pod over HTTPS.
import https from 'node:https';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { SETTINGS, parseQuantity, parseWebhookConfig } from '../../webhook/config.js';
import { createTestCa, type TestCa } from '../harness/test-ca.js';
import { startWebhook, type Webhook } from '../e2e/harness/deploy.js';
import { applyAndValidate, type Json } from '../fixtures/webhook/fixtures.js';
import {
  CHART,
  NAMESPACE,
  ROOT,
  allSchemaProblems,
  at,
  find,
  helmTemplate,
  helmTemplateResult,
  kinds,
  requireHelm,
  run,
  runOk,
  type K8sObject,
} from './support.js';

const SCHEMA_ERROR = "values don't meet the specifications of the schema";
const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;
const OPENSHIFT_VALUES = join(CHART, 'values-openshift.yaml');

type Env = { name: string; value?: string }[];

function container(objects: readonly K8sObject[]): Json {
  return (at(find(objects, 'Deployment'), 'spec', 'template', 'spec', 'containers') as Json[])[0]!;
}

function envOf(objects: readonly K8sObject[]): Map<string, string | undefined> {
  return new Map((container(objects).env as Env).map((e) => [e.name, e.value]));
}

function webhookEntries(objects: readonly K8sObject[]): Json[] {
  return find(objects, 'MutatingWebhookConfiguration').webhooks as Json[];
}

/** The rendered NOTES.txt: helm prints it only on install, so it is rendered as a template here. */
async function notes(args: readonly string[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'vau-notes-'));
  try {
    const chart = join(dir, 'chart');
    cpSync(CHART, chart, { recursive: true });
    const text = readFileSync(join(chart, 'templates', 'NOTES.txt'), 'utf8');
    rmSync(join(chart, 'templates', 'NOTES.txt'));
    writeFileSync(
      join(chart, 'templates', '_notes.tpl'),
      `{{- define "test.notes" -}}\n${text}\n{{- end -}}\n`,
    );
    writeFileSync(
      join(chart, 'templates', 'notes.yaml'),
      'notes: {{ include "test.notes" . | toJson }}\n',
    );
    const out = await runOk(requireHelm(), [
      'template',
      'vault-autounseal',
      chart,
      '--namespace',
      NAMESPACE,
      '--show-only',
      'templates/notes.yaml',
      ...args,
    ]);
    return (parseYaml(out) as { notes: string }).notes;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every key path of values.yaml, maps and leaves alike (`a`, `a.b`, ...). */
function valuePaths(value: unknown, prefix: string[] = []): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const path = [...prefix, key];
    return [path.join('.'), ...valuePaths(child, path)];
  });
}

describe('values.schema.json refuses unknown keys at every level (a typo fails the install)', () => {
  it.each([
    [['--set', 'replicas=3'], "at '': additional properties 'replicas' not allowed"],
    [
      ['--set', 'webhook.timeoutSecond=3'],
      "at '/webhook': additional properties 'timeoutSecond' not allowed",
    ],
    [
      ['--set', 'sidecar.resources.requests.memroy=96Mi'],
      "at '/sidecar/resources/requests': additional properties 'memroy' not allowed",
    ],
    [
      ['--set', 'webhook.annotationOptIn.enable=false'],
      "at '/webhook/annotationOptIn': additional properties 'enable' not allowed",
    ],
    [
      ['--set', 'metrics.podMonitor.namespaceSelector.matchName[0]=vault'],
      "at '/metrics/podMonitor/namespaceSelector': additional properties 'matchName' not allowed",
    ],
    [
      ['--set', 'tls.certManager.issuer.name=corp'],
      "at '/tls/certManager': additional properties 'issuer' not allowed",
    ],
  ])('%j', async (args, message) => {
    const result = await helmTemplateResult(args);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(message);
  });

  it("accepts every key docs-22's alert rules read (metrics.prometheusRule.runbookBaseUrl, extraLabels)", async () => {
    const objects = await helmTemplate([
      '--set',
      'metrics.prometheusRule.runbookBaseUrl=https://wiki.example/runbooks/',
      '--set',
      'metrics.prometheusRule.extraLabels.team=platform',
    ]);
    expect(kinds(objects)).toContain('Deployment');
  });
});

describe('values.schema.json refuses invalid resource quantities', () => {
  it.each([
    ['sidecar.resources.requests.memory', '96MB'],
    ['sidecar.resources.limits.cpu', '200 m'],
    ['sidecar.resources.requests.cpu', '-1'],
    ['resources.limits.memory', '1GB'],
    ['resources.requests.cpu', 'half'],
  ])('%s=%s', async (key, value) => {
    const result = await helmTemplateResult(['--set-string', `${key}=${value}`]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`at '/${key.replaceAll('.', '/')}'`);
  });

  it.each([
    ['sidecar.resources.requests.memory', '128Mi'],
    ['sidecar.resources.limits.cpu', '0.5'],
    ['resources.limits.memory', '1Gi'],
    ['resources.requests.cpu', '250m'],
  ])('accepts %s=%s, and the webhook starts with it', async (key, value) => {
    const objects = await helmTemplate([
      '--set-string',
      `${key}=${value}`,
      '--set-string',
      'sidecar.resources.limits.memory=1Gi',
    ]);
    const env = Object.fromEntries(
      [...envOf(objects)].filter((e): e is [string, string] => e[1] !== undefined),
    );
    expect(parseWebhookConfig(env, [], { serviceAccountNamespace: NAMESPACE }).ok).toBe(true);
  });
});

describe('`--set <key>=null` for every key of values.yaml: rendered, or refused by the schema, never a template error', () => {
  const values = parseYaml(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as unknown;
  const paths = valuePaths(values);

  it('covers every key', () => {
    expect(paths.length).toBeGreaterThan(80);
  });

  it('each one', async () => {
    const outcomes: string[] = [];
    // Two at a time: a shared 2-core machine.
    for (let i = 0; i < paths.length; i += 2) {
      const batch = paths.slice(i, i + 2);
      const results = await Promise.all(
        batch.map((path) => helmTemplateResult(['--set', `${path}=null`])),
      );
      batch.forEach((path, n) => {
        const result = results[n]!;
        if (result.code === 0) return;
        // A schema refusal names the key (`missing property`); anything else is a template error.
        if (result.stderr.includes(SCHEMA_ERROR)) return;
        outcomes.push(`${path}: ${result.stderr.split('\n')[0]}`);
      });
    }
    expect(outcomes).toEqual([]);
  }, 600_000);

  it('the maps the templates read are refused with the key named', async () => {
    for (const [key, parent, name] of [
      ['sidecar.resources', '/sidecar', 'resources'],
      ['webhook.annotationOptIn', '/webhook', 'annotationOptIn'],
      ['metrics.podMonitor', '/metrics', 'podMonitor'],
      ['image', '', 'image'],
    ] as const) {
      const result = await helmTemplateResult(['--set', `${key}=null`]);
      expect(result.code, key).not.toBe(0);
      expect(result.stderr, key).toContain(`at '${parent}': missing property '${name}'`);
    }
  });
});

describe('PodDisruptionBudget: never one that blocks every node drain', () => {
  it('1 replica: no PodDisruptionBudget (minAvailable 1 of 1 would block every drain)', async () => {
    const objects = await helmTemplate(['--set', 'replicaCount=1']);
    expect(kinds(objects)).not.toContain('PodDisruptionBudget');
    expect(at(find(objects, 'Deployment'), 'spec', 'replicas')).toBe(1);
  });

  it.each([
    [2, 2],
    [3, 5],
  ])('replicaCount %i with minAvailable %i is refused, saying why', async (replicas, min) => {
    const result = await helmTemplateResult([
      '--set',
      `replicaCount=${replicas}`,
      '--set',
      `podDisruptionBudget.minAvailable=${min}`,
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(
      `podDisruptionBudget.minAvailable ${min} with replicaCount ${replicas} would block every node drain`,
    );
  });

  it('3 replicas with minAvailable 2, or a percentage: rendered as given', async () => {
    const two = await helmTemplate([
      '--set',
      'replicaCount=3',
      '--set',
      'podDisruptionBudget.minAvailable=2',
    ]);
    expect(at(find(two, 'PodDisruptionBudget'), 'spec', 'minAvailable')).toBe(2);
    const percent = await helmTemplate(['--set', 'podDisruptionBudget.minAvailable=50%']);
    expect(at(find(percent, 'PodDisruptionBudget'), 'spec', 'minAvailable')).toBe('50%');
  });
});

describe('topology spread: soft, as its docs say', () => {
  it('both default constraints are ScheduleAnyway, and values.yaml and deploy/README.md call them soft', async () => {
    const spread = at(
      find(await helmTemplate(), 'Deployment'),
      'spec',
      'template',
      'spec',
      'topologySpreadConstraints',
    ) as Json[];
    expect(spread.map((s) => [s.topologyKey, s.whenUnsatisfiable])).toEqual([
      ['kubernetes.io/hostname', 'ScheduleAnyway'],
      ['topology.kubernetes.io/zone', 'ScheduleAnyway'],
    ]);
    const values = readFileSync(join(CHART, 'values.yaml'), 'utf8');
    const comment = values.slice(
      values.lastIndexOf('\n\n', values.indexOf('\ntopologySpreadConstraints:')),
      values.indexOf('\ntopologySpreadConstraints:'),
    );
    expect(comment).toContain('both soft');
    expect(comment).not.toContain('(hard)');
    const readme = readFileSync(join(ROOT, 'deploy', 'README.md'), 'utf8');
    expect(readme).toMatch(/`topologySpreadConstraints`[^\n]*soft/);
  });
});

describe('image digests', () => {
  it('image.digest renders the webhook image as repository@digest', async () => {
    const objects = await helmTemplate([
      '--set',
      'image.repository=registry.example/vault-autounseal-webhook',
      '--set',
      `image.digest=${DIGEST}`,
    ]);
    expect(container(objects).image).toBe(`registry.example/vault-autounseal-webhook@${DIGEST}`);
  });

  it('sidecar.image.digest renders the injected image (SIDECAR_IMAGE) as repository@digest, and the webhook takes it', async () => {
    const objects = await helmTemplate([
      '--set',
      'sidecar.image.repository=registry.example/vault-autounseal-sidecar',
      '--set',
      `sidecar.image.digest=${DIGEST}`,
    ]);
    const image = envOf(objects).get('SIDECAR_IMAGE')!;
    expect(image).toBe(`registry.example/vault-autounseal-sidecar@${DIGEST}`);
    const parsed = parseWebhookConfig({ SIDECAR_IMAGE: image }, [], {
      serviceAccountNamespace: NAMESPACE,
    });
    expect(parsed.ok && parsed.value.sidecar.image).toBe(image);
  });

  it('without a digest, repository:tag as before', async () => {
    expect(container(await helmTemplate()).image).toMatch(
      /^ghcr\.io\/vault-autounseal\/vault-autounseal-webhook:\S+$/,
    );
  });

  it.each(['sha256:abc', 'md5:0123', `sha256:${'A'.repeat(64)}`])(
    'a digest that is not sha256:<64 hex> (%s) is refused',
    async (digest) => {
      const result = await helmTemplateResult(['--set', `sidecar.image.digest=${digest}`]);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain("at '/sidecar/image/digest'");
    },
  );
});

describe("the sidecar's memory request", () => {
  it('defaults to at least its measured RSS (65.3 MiB at most over a 10-minute idle under the injected limits), the same in the chart and the webhook', async () => {
    const request = envOf(await helmTemplate()).get('SIDECAR_MEMORY_REQUEST')!;
    expect(parseQuantity(request)).toBeGreaterThanOrEqual(66 * 2 ** 20);
    expect(request).toBe(SETTINGS.SIDECAR_MEMORY_REQUEST);
    // deploy/README.md's values table states it.
    const readme = readFileSync(join(ROOT, 'deploy', 'README.md'), 'utf8');
    expect(readme).toMatch(
      new RegExp(`\\| \`sidecar\\.resources\`\\s+\\| 10m / ${request} requests`),
    );
  });
});

describe('Kubernetes version gates (.Capabilities.KubeVersion)', () => {
  it.each([
    ['1.28.0', 'true', 'false'],
    ['1.29.0', 'true', 'true'],
    ['1.29.0', 'false', 'false'],
    ['1.33.2', 'true', 'true'],
  ])(
    'Kubernetes %s, sidecar.nativeSidecar=%s: DEFAULT_NATIVE_SIDECAR %s',
    async (kube, native, expected) => {
      const objects = await helmTemplate([
        '--kube-version',
        kube,
        '--set',
        `sidecar.nativeSidecar=${native}`,
      ]);
      expect(envOf(objects).get('DEFAULT_NATIVE_SIDECAR')).toBe(expected);
    },
  );

  it.each([
    ['1.29.0', false],
    ['1.30.0', true],
    ['1.36.3', true],
  ])('Kubernetes %s: matchConditions on the annotation entry: %s', async (kube, expected) => {
    const entries = webhookEntries(await helmTemplate(['--kube-version', kube]));
    for (const entry of entries) {
      if (entry.name !== 'annotation.vault-autounseal.io') {
        expect(entry.matchConditions, entry.name).toBeUndefined();
      }
    }
    const annotation = entries.find((e) => e.name === 'annotation.vault-autounseal.io')!;
    if (!expected) {
      expect(annotation.matchConditions).toBeUndefined();
      return;
    }
    expect(annotation.matchConditions).toEqual([
      {
        name: 'has-inject-annotation',
        expression:
          "has(object.metadata.annotations) && 'vault-autounseal.io/inject' in object.metadata.annotations",
      },
    ]);
  });

  it.each(['1.28.0', '1.30.0'])(
    'Kubernetes %s: helm lint --strict passes and every object validates',
    async (kube) => {
      const lint = await run(requireHelm(), [
        'lint',
        '--strict',
        CHART,
        '--namespace',
        NAMESPACE,
        '--kube-version',
        kube,
      ]);
      expect(lint.stdout + lint.stderr).toContain('1 chart(s) linted, 0 chart(s) failed');
      expect(await allSchemaProblems(await helmTemplate(['--kube-version', kube]))).toEqual([]);
    },
  );
});

describe('a release namespace where Vault pods opt in is refused', () => {
  it('one listed in webhook.vaultNamespaces: the chart fails, saying why and what to do', async () => {
    const result = await helmTemplateResult([
      '--set',
      `webhook.vaultNamespaces={vault,${NAMESPACE}}`,
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(
      `the release namespace ${NAMESPACE} is listed in webhook.vaultNamespaces: every webhook entry excludes the release namespace ${NAMESPACE}`,
    );
    expect(result.stderr).toContain('install the webhook in a namespace of its own');
  });

  it('other namespaces listed: rendered, and the webhook is told them (WEBHOOK_VAULT_NAMESPACES, for its start warning)', async () => {
    const objects = await helmTemplate(['--set', 'webhook.vaultNamespaces={vault,openbao}']);
    expect(envOf(objects).get('WEBHOOK_VAULT_NAMESPACES')).toBe('vault,openbao');
    expect(envOf(await helmTemplate()).has('WEBHOOK_VAULT_NAMESPACES')).toBe(false);
  });

  it('a name that is not a namespace name is refused by the schema', async () => {
    const result = await helmTemplateResult(['--set', 'webhook.vaultNamespaces={Vault_Prod}']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("at '/webhook/vaultNamespaces/0'");
  });
});

describe('NOTES.txt', () => {
  it('says that pods in the release namespace are never injected, and the injected-pod selector', async () => {
    const text = await notes([]);
    expect(text).toContain(`Pods in ${NAMESPACE} itself are NEVER injected`);
    expect(text).toContain('kubectl get pods -A -l vault-autounseal.io/injected=true');
  });

  it('native mode (1.29+): a sidecar that cannot start keeps Vault from starting', async () => {
    const text = await notes(['--kube-version', '1.30.0']);
    expect(text).toContain('Sidecar mode: native');
    expect(text).toContain('keeps Vault from starting');
    expect(text).not.toContain('Annotation opt-in on Kubernetes');
  });

  it('below 1.29: regular-container mode, and why; below 1.30: what the annotation entry costs', async () => {
    const text = await notes(['--kube-version', '1.28.0']);
    expect(text).toContain(
      'Sidecar mode: regular container (Kubernetes v1.28.0 is older than 1.29',
    );
    expect(text).toContain(
      'every pod\ncreated in a namespace without the injection label is sent to the webhook',
    );
  });
});

describe('OpenShift preset (values-openshift.yaml): no fixed uid, gid or fsGroup anywhere', () => {
  let objects: K8sObject[];
  let ca: TestCa;
  let webhook: Webhook;

  beforeAll(async () => {
    objects = await helmTemplate(['-f', OPENSHIFT_VALUES]);
    ca = await createTestCa('openshift preset CA');
    const env = Object.fromEntries(
      [...envOf(objects)].filter((e): e is [string, string] => e[1] !== undefined),
    );
    webhook = await startWebhook(ca, env);
  });

  afterAll(async () => {
    await webhook?.stop();
  });

  it('passes helm lint --strict, and every object validates', async () => {
    const lint = await run(requireHelm(), [
      'lint',
      '--strict',
      CHART,
      '--namespace',
      NAMESPACE,
      '-f',
      OPENSHIFT_VALUES,
    ]);
    expect(lint.stdout + lint.stderr).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(await allSchemaProblems(objects)).toEqual([]);
  });

  it("the webhook's pod and container set no runAsUser, runAsGroup or fsGroup, and keep the restricted settings", () => {
    const spec = at(find(objects, 'Deployment'), 'spec', 'template', 'spec') as Json;
    expect(spec.securityContext).toEqual({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const sc = container(objects).securityContext as Json;
    for (const key of ['runAsUser', 'runAsGroup', 'fsGroup']) expect(sc).not.toHaveProperty(key);
    expect(sc).toMatchObject({
      allowPrivilegeEscalation: false,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  it('the built webhook, started with the rendered settings, injects a vault-helm global.openshift=true pod over HTTPS without any fixed id', async () => {
    const review = JSON.parse(
      readFileSync(
        join(ROOT, 'test', 'fixtures', 'webhook', 'vault-openshift-0.review.json'),
        'utf8',
      ),
    ) as Json;
    const pod = structuredClone(review.request.object) as Json;
    expect(pod.spec.securityContext).toBeUndefined(); // the shape vault-helm renders for OpenShift
    const answer = await post(webhook.port, '/mutate', review, ca.certPem);
    expect(answer.response.allowed).toBe(true);
    const patched = applyAndValidate(pod, answer.response.patch);
    const sidecar = (patched.spec.initContainers as Json[]).find(
      (c) => c.name === 'vault-autounseal',
    )!;
    expect(sidecar).toBeDefined();
    for (const key of ['runAsUser', 'runAsGroup']) {
      expect(sidecar.securityContext).not.toHaveProperty(key);
    }
    expect(sidecar.securityContext).toMatchObject({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    // Nothing at pod level either: restricted-v2 assigns the uid and the fsGroup.
    expect(patched.spec.securityContext).toBeUndefined();
    expect(JSON.stringify(patched)).not.toMatch(/"(runAsUser|runAsGroup|fsGroup)"/);
    // No fsGroup yet at admission: the key files are mounted 0444, in the sidecar only, and said so.
    expect(answer.response.warnings).toEqual([
      expect.stringContaining('no securityContext.fsGroup'),
    ]);
    expect(patched.metadata.labels['vault-autounseal.io/injected']).toBe('true');
  });

  it('the default values, by contrast, fix uid and gid 65532 (what the preset removes)', async () => {
    const env = envOf(await helmTemplate());
    expect([env.get('SIDECAR_RUN_AS_USER'), env.get('SIDECAR_RUN_AS_GROUP')]).toEqual([
      '65532',
      '65532',
    ]);
  });
});

function post(port: number, path: string, body: unknown, ca: string): Promise<Json> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        ca,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString()) as Json);
          } catch {
            reject(new Error(`not JSON (HTTP ${res.statusCode ?? 0})`));
          }
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}
