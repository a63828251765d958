// The Helm chart (deploy/helm/vault-autounseal): `helm lint` and `helm template` with the default
// values and each variant, every rendered object validated against its schema, and the facts an
// admission webhook must get right (sideEffects, timeouts, failurePolicy, selectors) checked on what helm actually renders.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { SETTINGS, parseWebhookConfig } from '../../webhook/config.js';
import { SIDECAR_PORT_NAME } from '../../webhook/sidecar-spec.js';
import {
  CHART,
  NAMESPACE,
  allSchemaProblems,
  at,
  find,
  helmTemplate,
  helmTemplateResult,
  kinds,
  requireHelm,
  run,
  type K8sObject,
} from './support.js';

const TEST_CA_PEM = readFileSync(join(import.meta.dirname, 'fixtures', 'test-ca.pem'), 'utf8');

/** The variants the issue asks for, plus the two other TLS and observability switches. */
const VARIANTS: Record<string, string[]> = {
  // default values: cert-manager mode, native sidecar on
  default: [],
  'cert-manager with an existing ClusterIssuer': [
    '--set',
    'tls.certManager.issuerRef.name=corp-ca',
    '--set',
    'tls.certManager.issuerRef.kind=ClusterIssuer',
  ],
  'no cert-manager: chart-generated certificate': ['--set', 'tls.mode=generate'],
  'no cert-manager: your own Secret': [
    '--set',
    'tls.mode=secret',
    '--set',
    'tls.secret.name=my-webhook-tls',
    '--set-file',
    `tls.secret.caBundle=${join(import.meta.dirname, 'fixtures', 'test-ca.pem')}`,
  ],
  'native sidecar off': ['--set', 'sidecar.nativeSidecar=false'],
  'OpenShift preset (values-openshift.yaml)': ['-f', join(CHART, 'values-openshift.yaml')],
  'observability on': [
    '--set',
    'metrics.serviceMonitor.enabled=true',
    '--set',
    'metrics.podMonitor.enabled=true',
    '--set',
    'metrics.prometheusRule.enabled=true',
    '--set',
    'metrics.grafanaDashboard.enabled=true',
  ],
};

const FULLNAME = 'vault-autounseal-webhook';

function variant(name: string): string[] {
  const args = VARIANTS[name];
  if (!args) throw new Error(`no variant ${name}`);
  return args;
}

type Env = { name: string; value?: string; valueFrom?: unknown }[];

function webhookContainer(objects: readonly K8sObject[]): Record<string, unknown> {
  const deployment = find(objects, 'Deployment');
  const containers = at(deployment, 'spec', 'template', 'spec', 'containers') as Record<
    string,
    unknown
  >[];
  expect(containers).toHaveLength(1);
  return containers[0]!;
}

function envOf(objects: readonly K8sObject[]): Map<string, string | undefined> {
  const env = webhookContainer(objects).env as Env;
  return new Map(env.map((e) => [e.name, e.value]));
}

/** The webhook's own verdict on the environment the chart gives it, as webhook/main.ts reads it. */
function webhookProblems(objects: readonly K8sObject[]): string[] {
  const env = Object.fromEntries([...envOf(objects)].filter(([, value]) => value !== undefined));
  // WEBHOOK_NAMESPACE comes from the downward API; in the pod the service account's file says it.
  const parsed = parseWebhookConfig(env, [], { serviceAccountNamespace: NAMESPACE });
  return parsed.ok ? [] : parsed.problems.map((p) => `${p.setting}: ${p.message}`);
}

function podLabels(objects: readonly K8sObject[]): Record<string, string> {
  return at(find(objects, 'Deployment'), 'spec', 'template', 'metadata', 'labels') as Record<
    string,
    string
  >;
}

function matchesLabels(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

describe('helm chart', () => {
  it('has helm built by scripts/deploy-tools.sh', () => {
    expect(() => requireHelm()).not.toThrow();
  });

  describe.each(Object.entries(VARIANTS))('with values: %s', (_name, args) => {
    it('passes helm lint --strict', async () => {
      const result = await run(requireHelm(), [
        'lint',
        '--strict',
        CHART,
        '--namespace',
        NAMESPACE,
        ...args,
      ]);
      expect(result.stderr + result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
      expect(result.code).toBe(0);
    });

    it('renders objects that all validate against their schemas', async () => {
      const objects = await helmTemplate(args);
      expect(objects.length).toBeGreaterThan(5);
      expect(await allSchemaProblems(objects)).toEqual([]);
    });

    it('runs 2 restricted replicas, spread, with a PDB, a Service and a NetworkPolicy that select them', async () => {
      const objects = await helmTemplate(args);
      const deployment = find(objects, 'Deployment', FULLNAME);
      expect(at(deployment, 'spec', 'replicas')).toBe(2);
      const labels = podLabels(objects);
      const selector = at(deployment, 'spec', 'selector', 'matchLabels') as Record<string, string>;
      expect(matchesLabels(selector, labels)).toBe(true);

      const podSpec = at(deployment, 'spec', 'template', 'spec') as Record<string, unknown>;
      expect(at(podSpec, 'securityContext', 'runAsNonRoot')).toBe(true);
      expect(at(podSpec, 'securityContext', 'seccompProfile', 'type')).toBe('RuntimeDefault');
      const container = webhookContainer(objects);
      expect(container.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(at(container, 'resources', 'requests')).toBeTruthy();
      expect(at(container, 'resources', 'limits')).toBeTruthy();

      const spread = podSpec.topologySpreadConstraints as {
        topologyKey: string;
        labelSelector: { matchLabels: Record<string, string> };
      }[];
      expect(spread.map((s) => s.topologyKey)).toContain('kubernetes.io/hostname');
      for (const s of spread) expect(matchesLabels(s.labelSelector.matchLabels, labels)).toBe(true);

      const pdb = find(objects, 'PodDisruptionBudget');
      expect(at(pdb, 'spec', 'minAvailable')).toBe(1);
      expect(
        matchesLabels(at(pdb, 'spec', 'selector', 'matchLabels') as Record<string, string>, labels),
      ).toBe(true);

      const service = find(objects, 'Service', FULLNAME);
      expect(matchesLabels(at(service, 'spec', 'selector') as Record<string, string>, labels)).toBe(
        true,
      );
      const containerPorts = container.ports as { name: string; containerPort: number }[];
      const servicePorts = at(service, 'spec', 'ports') as {
        name: string;
        port: number;
        targetPort: string;
      }[];
      for (const port of servicePorts) {
        expect(containerPorts.map((p) => p.name)).toContain(port.targetPort);
      }

      const netpol = find(objects, 'NetworkPolicy');
      expect(
        matchesLabels(
          at(netpol, 'spec', 'podSelector', 'matchLabels') as Record<string, string>,
          labels,
        ),
      ).toBe(true);
      const allowed = (at(netpol, 'spec', 'ingress') as { ports: { port: string }[] }[]).flatMap(
        (r) => r.ports.map((p) => p.port),
      );
      expect(allowed.sort()).toEqual(['https', 'metrics']);
      expect(at(netpol, 'spec', 'policyTypes')).toEqual(['Ingress', 'Egress']);
    });

    it('never injects its own pods and gives its service account no token and no RBAC', async () => {
      const objects = await helmTemplate(args);
      expect(podLabels(objects)['vault-autounseal.io/inject']).toBe('false');
      expect(at(find(objects, 'ServiceAccount'), 'automountServiceAccountToken')).toBe(false);
      expect(
        at(find(objects, 'Deployment'), 'spec', 'template', 'spec', 'automountServiceAccountToken'),
      ).toBe(false);
      expect(objects.filter((o) => /Role/.test(o.kind))).toEqual([]);
    });

    it('configures the webhook only with settings webhook/config.ts knows, ports matching', async () => {
      const objects = await helmTemplate(args);
      const env = envOf(objects);
      const known = new Set(Object.keys(SETTINGS));
      for (const name of env.keys()) expect(known, `unknown setting ${name}`).toContain(name);
      expect(env.get('SIDECAR_IMAGE')).toMatch(
        /^ghcr\.io\/vault-autounseal\/vault-autounseal-sidecar:\S+$/,
      );
      const ports = webhookContainer(objects).ports as { name: string; containerPort: number }[];
      expect(ports.find((p) => p.name === 'https')?.containerPort).toBe(
        Number(env.get('WEBHOOK_PORT')),
      );
      expect(ports.find((p) => p.name === 'metrics')?.containerPort).toBe(
        Number(env.get('WEBHOOK_METRICS_PORT')),
      );
      // The TLS files the webhook reads live in the mounted Secret volume.
      const mount = (webhookContainer(objects).volumeMounts as { mountPath: string }[])[0]!;
      expect(env.get('WEBHOOK_TLS_CERT_FILE')).toBe(`${mount.mountPath}/tls.crt`);
      expect(env.get('WEBHOOK_TLS_KEY_FILE')).toBe(`${mount.mountPath}/tls.key`);
    });

    it('has a MutatingWebhookConfiguration that is safe for an admission webhook', async () => {
      const objects = await helmTemplate(args);
      const mwc = find(objects, 'MutatingWebhookConfiguration');
      const webhooks = mwc.webhooks as Record<string, unknown>[];
      expect(webhooks.length).toBeGreaterThan(0);
      const service = find(objects, 'Service', FULLNAME);
      const httpsPort = (at(service, 'spec', 'ports') as { name: string; port: number }[]).find(
        (p) => p.name === 'https',
      )!.port;
      for (const webhook of webhooks) {
        expect(webhook.admissionReviewVersions).toEqual(['v1']);
        expect(webhook.sideEffects).toBe('None');
        expect(webhook.timeoutSeconds).toBeLessThanOrEqual(5);
        expect(webhook.matchPolicy).toBe('Equivalent');
        expect(webhook.reinvocationPolicy).toBe('Never');
        expect(webhook.rules).toEqual([
          {
            operations: ['CREATE'],
            apiGroups: [''],
            apiVersions: ['v1'],
            resources: ['pods'],
            scope: 'Namespaced',
          },
        ]);
        expect(at(webhook, 'clientConfig', 'service')).toMatchObject({
          name: service.metadata.name,
          namespace: NAMESPACE,
          port: httpsPort,
        });
        const excluded = (
          at(webhook, 'namespaceSelector', 'matchExpressions') as {
            key: string;
            operator: string;
            values?: string[];
          }[]
        ).find((e) => e.key === 'kubernetes.io/metadata.name');
        expect(excluded?.operator).toBe('NotIn');
        expect(excluded?.values).toEqual(
          expect.arrayContaining(['kube-system', 'kube-public', NAMESPACE]),
        );
      }
    });
  });

  describe('TLS', () => {
    it('cert-manager mode: a Certificate with the Service DNS names, in the Secret the pods mount, its CA injected', async () => {
      const objects = await helmTemplate();
      const certificate = find(objects, 'Certificate', FULLNAME);
      expect(at(certificate, 'spec', 'dnsNames')).toEqual(
        expect.arrayContaining([
          `${FULLNAME}.${NAMESPACE}.svc`,
          `${FULLNAME}.${NAMESPACE}.svc.cluster.local`,
        ]),
      );
      const volumes = at(find(objects, 'Deployment'), 'spec', 'template', 'spec', 'volumes') as {
        secret?: { secretName: string };
      }[];
      expect(volumes.map((v) => v.secret?.secretName)).toContain(
        at(certificate, 'spec', 'secretName'),
      );
      const mwc = find(objects, 'MutatingWebhookConfiguration');
      expect(mwc.metadata.annotations?.['cert-manager.io/inject-ca-from']).toBe(
        `${NAMESPACE}/${FULLNAME}`,
      );
      // The issuer chain resolves inside the chart: serving cert <- CA Issuer <- CA cert <- self-signed.
      const issuer = find(objects, 'Issuer', String(at(certificate, 'spec', 'issuerRef', 'name')));
      const caCert = find(objects, 'Certificate', String(at(issuer, 'spec', 'ca', 'secretName')));
      expect(at(caCert, 'spec', 'isCA')).toBe(true);
      expect(
        at(
          find(objects, 'Issuer', String(at(caCert, 'spec', 'issuerRef', 'name'))),
          'spec',
          'selfSigned',
        ),
      ).toEqual({});
      expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    });

    it('cert-manager mode with your issuer: no chart issuers, your issuerRef used', async () => {
      const objects = await helmTemplate(variant('cert-manager with an existing ClusterIssuer'));
      expect(kinds(objects).filter((k) => k === 'Issuer')).toEqual([]);
      expect(at(find(objects, 'Certificate'), 'spec', 'issuerRef')).toEqual({
        name: 'corp-ca',
        kind: 'ClusterIssuer',
      });
    });

    it('generate mode: a CA and a serving certificate for the Service names, the CA in every caBundle', async () => {
      const objects = await helmTemplate(variant('no cert-manager: chart-generated certificate'));
      expect(kinds(objects)).not.toContain('Certificate');
      const secret = find(objects, 'Secret');
      expect(secret.type).toBe('kubernetes.io/tls');
      const data = secret.data as Record<string, string>;
      const ca = new X509Certificate(Buffer.from(data['ca.crt']!, 'base64'));
      const leaf = new X509Certificate(Buffer.from(data['tls.crt']!, 'base64'));
      expect(ca.ca).toBe(true);
      expect(leaf.verify(ca.publicKey)).toBe(true);
      expect(leaf.checkIssued(ca)).toBe(true);
      // Go's TLS in the apiserver dials <service>.<namespace>.svc and checks SANs only.
      expect(leaf.checkHost(`${FULLNAME}.${NAMESPACE}.svc`)).toBe(`${FULLNAME}.${NAMESPACE}.svc`);
      expect(leaf.subjectAltName).toContain(`DNS:${FULLNAME}.${NAMESPACE}.svc.cluster.local`);
      const days = (Date.parse(leaf.validTo) - Date.now()) / 86_400_000;
      expect(days).toBeGreaterThan(360);
      expect(days).toBeLessThan(366);
      expect(
        leaf.checkPrivateKey(
          await import('node:crypto').then((c) =>
            c.createPrivateKey(Buffer.from(data['tls.key']!, 'base64')),
          ),
        ),
      ).toBe(true);
      const mwc = find(objects, 'MutatingWebhookConfiguration');
      for (const webhook of mwc.webhooks as Record<string, unknown>[]) {
        expect(at(webhook, 'clientConfig', 'caBundle')).toBe(data['ca.crt']);
      }
      const volumes = at(find(objects, 'Deployment'), 'spec', 'template', 'spec', 'volumes') as {
        secret?: { secretName: string };
      }[];
      expect(volumes.map((v) => v.secret?.secretName)).toContain(secret.metadata.name);
    });

    it('secret mode: your Secret mounted and your CA in every caBundle, nothing generated', async () => {
      const objects = await helmTemplate(variant('no cert-manager: your own Secret'));
      expect(kinds(objects).filter((k) => ['Secret', 'Certificate', 'Issuer'].includes(k))).toEqual(
        [],
      );
      const volumes = at(find(objects, 'Deployment'), 'spec', 'template', 'spec', 'volumes') as {
        secret?: { secretName: string };
      }[];
      expect(volumes.map((v) => v.secret?.secretName)).toContain('my-webhook-tls');
      for (const webhook of find(objects, 'MutatingWebhookConfiguration').webhooks as Record<
        string,
        unknown
      >[]) {
        expect(
          Buffer.from(String(at(webhook, 'clientConfig', 'caBundle')), 'base64').toString(),
        ).toBe(TEST_CA_PEM);
      }
    });
  });

  describe('values that would break a cluster are refused at render time', () => {
    // [values, what values.schema.json says, what the templates say when schema checks are skipped]
    it.each([
      // the apiserver waits this long on every matching pod (vault-helm#366)
      [
        ['--set', 'webhook.timeoutSeconds=10'],
        "at '/webhook/timeoutSeconds': maximum",
        'timeoutSeconds must be at most 5',
      ],
      // the annotation entry matches every pod of unlabelled namespaces
      [
        ['--set', 'webhook.annotationOptIn.timeoutSeconds=6'],
        "at '/webhook/annotationOptIn/timeoutSeconds': maximum",
        'annotationOptIn.timeoutSeconds must be at most 5',
      ],
      [
        ['--set', 'tls.mode=selfsigned'],
        "at '/tls/mode': value must be one of",
        'tls.mode must be cert-manager, generate or secret',
      ],
      [
        ['--set', 'webhook.failurePolicy=Retry'],
        "at '/webhook/failurePolicy': value must be one of",
        'failurePolicy must be Fail or Ignore',
      ],
      // secret mode without the CA: the apiserver could not verify the webhook
      [
        ['--set', 'tls.mode=secret', '--set', 'tls.secret.name=x'],
        'tls.secret.caBundle',
        'tls.secret.caBundle',
      ],
    ])('%j', async (args, schemaMessage, templateMessage) => {
      const checked = await helmTemplateResult(args);
      expect(checked.code).not.toBe(0);
      expect(checked.stderr).toContain(schemaMessage);
      const unchecked = await helmTemplateResult([...args, '--skip-schema-validation']);
      expect(unchecked.code).not.toBe(0);
      expect(unchecked.stderr).toContain(templateMessage);
    });

    it('a keys Secret name that is not a DNS name is refused by the schema', async () => {
      const result = await helmTemplateResult(['--set', 'sidecar.keysSecret=Vault_Keys']);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain("at '/sidecar/keysSecret'");
    });
  });

  describe("the sidecar's uid and gid: the schema refuses what the webhook would refuse at start", () => {
    // The webhook (webhook/config.ts) takes a uid from 1 (0 is root), a gid from 0, both up to
    // 2147483647, or "" to inherit the pod's; anything else and it exits 2. The chart passes the
    // value as its digits, so `--set` gives a number and `--set-string` a string.
    type IdCase = [
      value: string,
      setting: 'runAsUser' | 'runAsGroup',
      flag: '--set' | '--set-string',
    ];
    const ACCEPTED: IdCase[] = [
      ['1', 'runAsUser', '--set'],
      ['2147483647', 'runAsUser', '--set'],
      ['', 'runAsUser', '--set-string'],
      ['1000680000', 'runAsUser', '--set-string'],
      ['0', 'runAsGroup', '--set'],
      ['0', 'runAsGroup', '--set-string'],
      ['', 'runAsGroup', '--set-string'],
    ];
    const REFUSED: IdCase[] = [
      ['0', 'runAsUser', '--set'],
      ['0', 'runAsUser', '--set-string'],
      ['2147483648', 'runAsUser', '--set'],
      ['2147483648', 'runAsUser', '--set-string'],
      ['nobody', 'runAsUser', '--set-string'],
      ['-1', 'runAsGroup', '--set'],
      ['2147483648', 'runAsGroup', '--set-string'],
    ];
    const envName = (setting: string): string =>
      setting === 'runAsUser' ? 'SIDECAR_RUN_AS_USER' : 'SIDECAR_RUN_AS_GROUP';

    it('the defaults render, and the webhook starts with them', async () => {
      const objects = await helmTemplate();
      expect(envOf(objects).get('SIDECAR_RUN_AS_USER')).toBe('65532');
      expect(envOf(objects).get('SIDECAR_RUN_AS_GROUP')).toBe('65532');
      expect(webhookProblems(objects)).toEqual([]);
    });

    it.each(ACCEPTED)(
      '%j as sidecar.%s (%s) renders, and the webhook starts with it',
      async (value, setting, flag) => {
        const objects = await helmTemplate([flag, `sidecar.${setting}=${value}`]);
        expect(envOf(objects).get(envName(setting))).toBe(value);
        expect(webhookProblems(objects)).toEqual([]);
      },
    );

    it('large numbers from a values file reach the webhook as digits, not in exponent form', async () => {
      // A values file's numbers are floats to helm; `toString` printed 1000680000 (an OpenShift
      // uid) as "1.00068e+09", and the webhook exited 2 on it.
      const dir = mkdtempSync(join(tmpdir(), 'vau-values-'));
      try {
        const file = join(dir, 'values.yaml');
        writeFileSync(
          file,
          'sidecar:\n  runAsUser: 1000680000\n  runAsGroup: 2147483647\nwebhook:\n  maxConnections: 100000\n',
        );
        const objects = await helmTemplate(['-f', file]);
        expect(envOf(objects).get('SIDECAR_RUN_AS_USER')).toBe('1000680000');
        expect(envOf(objects).get('SIDECAR_RUN_AS_GROUP')).toBe('2147483647');
        expect(envOf(objects).get('WEBHOOK_MAX_CONNECTIONS')).toBe('100000');
        expect(webhookProblems(objects)).toEqual([]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it.each(REFUSED)(
      '%j as sidecar.%s (%s) is refused by the schema, naming the value; the webhook would refuse it too',
      async (value, setting, flag) => {
        const checked = await helmTemplateResult([flag, `sidecar.${setting}=${value}`]);
        expect(checked.code).not.toBe(0);
        expect(checked.stderr).toContain(`at '/sidecar/${setting}'`);
        // Without the schema the chart renders it, and the webhook would exit at start.
        const objects = await helmTemplate([
          flag,
          `sidecar.${setting}=${value}`,
          '--skip-schema-validation',
        ]);
        expect(webhookProblems(objects)).toEqual([
          expect.stringMatching(new RegExp(`^${envName(setting)}: `)),
        ]);
      },
    );
    it('null (helm drops the key) is refused by the schema as a missing runAsUser', async () => {
      const checked = await helmTemplateResult(['--set', 'sidecar.runAsUser=null']);
      expect(checked.code).not.toBe(0);
      expect(checked.stderr).toContain("at '/sidecar': missing property 'runAsUser'");
      // Past the schema the chart renders "", which the webhook takes as the pod's own uid.
      const objects = await helmTemplate([
        '--set',
        'sidecar.runAsUser=null',
        '--skip-schema-validation',
      ]);
      expect(envOf(objects).get('SIDECAR_RUN_AS_USER')).toBe('');
      expect(webhookProblems(objects)).toEqual([]);
    });
  });

  describe('sidecar defaults reach the webhook', () => {
    it('native sidecar on by default, off when asked', async () => {
      expect(envOf(await helmTemplate()).get('DEFAULT_NATIVE_SIDECAR')).toBe('true');
      expect(
        envOf(await helmTemplate(variant('native sidecar off'))).get('DEFAULT_NATIVE_SIDECAR'),
      ).toBe('false');
    });

    it('image, keys Secret and resources come from values', async () => {
      const env = envOf(
        await helmTemplate([
          '--set',
          'sidecar.image.repository=registry.example/sidecar',
          '--set',
          'sidecar.image.tag=1.2.3',
          '--set',
          'sidecar.keysSecret=vault-keys-a\\,vault-keys-b',
          '--set',
          'sidecar.resources.limits.memory=256Mi',
        ]),
      );
      expect(env.get('SIDECAR_IMAGE')).toBe('registry.example/sidecar:1.2.3');
      expect(env.get('DEFAULT_KEYS_SECRET')).toBe('vault-keys-a,vault-keys-b');
      expect(env.get('SIDECAR_MEMORY_LIMIT')).toBe('256Mi');
    });
  });

  describe('observability objects', () => {
    const rulesFile = parseYaml(
      readFileSync(join(CHART, 'files', 'prometheus-rules.yaml'), 'utf8'),
    ) as unknown;
    const jobsInRules = [
      ...readFileSync(join(CHART, 'files', 'prometheus-rules.yaml'), 'utf8').matchAll(
        /job="([^"]+)"/g,
      ),
    ].map((m) => m[1]);

    it('the PrometheusRule carries exactly the rule file that promtool tests', async () => {
      const objects = await helmTemplate(variant('observability on'));
      expect(find(objects, 'PrometheusRule').spec).toEqual(rulesFile);
    });

    it('the dashboard ConfigMap carries exactly the dashboard file', async () => {
      const objects = await helmTemplate(variant('observability on'));
      const configMap = find(objects, 'ConfigMap');
      expect(configMap.metadata.labels?.grafana_dashboard).toBe('1');
      const json = (configMap.data as Record<string, string>)['vault-autounseal.json']!;
      expect(JSON.parse(json)).toEqual(
        JSON.parse(readFileSync(join(CHART, 'files', 'grafana-dashboard.json'), 'utf8')),
      );
    });

    it('the monitors scrape the named ports under the job names the alerts use', async () => {
      const objects = await helmTemplate(variant('observability on'));
      const serviceMonitor = find(objects, 'ServiceMonitor');
      const endpoint = (at(serviceMonitor, 'spec', 'endpoints') as Record<string, unknown>[])[0]!;
      const servicePorts = at(find(objects, 'Service'), 'spec', 'ports') as { name: string }[];
      expect(servicePorts.map((p) => p.name)).toContain(endpoint.port);
      expect(
        matchesLabels(
          at(serviceMonitor, 'spec', 'selector', 'matchLabels') as Record<string, string>,
          find(objects, 'Service').metadata.labels!,
        ),
      ).toBe(true);
      const podMonitor = find(objects, 'PodMonitor');
      const podEndpoint = (
        at(podMonitor, 'spec', 'podMetricsEndpoints') as Record<string, unknown>[]
      )[0]!;
      // The port the webhook gives the injected container (webhook/sidecar-spec.ts).
      expect(podEndpoint.port).toBe(SIDECAR_PORT_NAME);
      const jobs = [endpoint, podEndpoint].map(
        (e) =>
          (e.relabelings as { targetLabel: string; replacement: string }[]).find(
            (r) => r.targetLabel === 'job',
          )?.replacement,
      );
      expect(jobs).toEqual(['vault-autounseal-webhook', 'vault-autounseal-sidecar']);
      expect(new Set(jobsInRules)).toEqual(new Set(jobs));
    });

    it('none of them is rendered by default (they need the Prometheus Operator CRDs)', async () => {
      const objects = await helmTemplate();
      expect(
        kinds(objects).filter((k) =>
          ['ServiceMonitor', 'PodMonitor', 'PrometheusRule', 'ConfigMap'].includes(k),
        ),
      ).toEqual([]);
    });
  });
});
