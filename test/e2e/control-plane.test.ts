// A real kube-apiserver (v1.36.3, with etcd 3.6.4) admits what deploy/ renders and calls the
// webhook through the MutatingWebhookConfiguration users install. Only clientConfig differs: a
// loopback url instead of the Service (no kube-proxy here). Pod Security runs on the mutated pod.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from './harness/control-plane.js';
import {
  CHART,
  deploymentEnv,
  findObject,
  forLoopback,
  HELM,
  helmTemplate,
  kustomizeBuilds,
  NAMESPACE,
  ROOT,
  run,
  startWebhook,
  type K8sObject,
  type Webhook,
} from './harness/deploy.js';
import {
  createNamespace,
  createPod,
  getPod,
  sidecars,
  vaultChartTemplate,
  vaultPod,
  type Pod,
} from './harness/pods.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
/** Kinds backed by CRDs that are not installed here (cert-manager, Prometheus Operator). */
const CRD_KINDS = new Set([
  'Certificate',
  'Issuer',
  'ClusterIssuer',
  'ServiceMonitor',
  'PodMonitor',
  'PrometheusRule',
]);

/** The chart's values variants, as test/deploy/helm-chart.test.ts renders them. */
const HELM_VARIANTS: Record<string, string[]> = {
  defaults: [],
  'cert-manager with an existing ClusterIssuer': [
    '--set',
    'tls.certManager.issuerRef.name=corp-ca',
    '--set',
    'tls.certManager.issuerRef.kind=ClusterIssuer',
  ],
  'chart-generated certificate': ['--set', 'tls.mode=generate'],
  'your own Secret': [
    '--set',
    'tls.mode=secret',
    '--set',
    'tls.secret.name=my-webhook-tls',
    '--set-file',
    `tls.secret.caBundle=${join(import.meta.dirname, '..', 'deploy', 'fixtures', 'test-ca.pem')}`,
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

let cp: ControlPlane;

beforeAll(async () => {
  cp = await startControlPlane();
});

afterAll(async () => {
  await cp?.stop();
});

/** Server-side dry run of the objects; returns kubectl's result and the kinds left out. */
async function dryRun(objects: readonly K8sObject[]) {
  const kept = objects.filter((o) => !CRD_KINDS.has(o.kind));
  const skipped = objects.filter((o) => CRD_KINDS.has(o.kind)).map((o) => o.kind);
  const list = { apiVersion: 'v1', kind: 'List', items: kept };
  const result = await cp.kubectl(
    ['apply', '--dry-run=server', '-o', 'name', '-f', '-'],
    JSON.stringify(list),
  );
  return { result, kept, skipped: [...new Set(skipped)].sort() };
}

describe('kubectl apply --dry-run=server of everything deploy/ renders', () => {
  beforeAll(async () => {
    // Namespaced objects need their namespace to exist for real (a dry-run Namespace does not).
    await createNamespace(cp, NAMESPACE);
  });

  it.each(Object.entries(HELM_VARIANTS))('helm template, %s', async (_name, args) => {
    const objects = await helmTemplate(args);
    const { result, kept, skipped } = await dryRun(objects);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toHaveLength(kept.length);
    console.log(
      `[e2e] helm ${_name}: ${kept.length} objects accepted; CRDs not installed, skipped: ${skipped.join(', ') || 'none'}`,
    );
  });

  it('kubectl kustomize, every overlay', async () => {
    const builds = await kustomizeBuilds();
    expect(Object.keys(builds).sort()).toEqual([
      'base',
      'cert-manager',
      'observability',
      'without-cert-manager',
    ]);
    for (const [overlay, objects] of Object.entries(builds)) {
      const { result, kept, skipped } = await dryRun(objects);
      expect(result.stderr, overlay).toBe('');
      expect(result.code, overlay).toBe(0);
      expect(result.stdout.trim().split('\n').filter(Boolean), overlay).toHaveLength(kept.length);
      console.log(
        `[e2e] kustomize ${overlay}: ${kept.length} objects accepted; CRDs not installed, skipped: ${skipped.join(', ') || 'none'}`,
      );
    }
  });
});

describe('deploy/examples/: the objects users apply by hand', () => {
  it('the opt-in namespace is created, and the key Secrets pass a server-side dry run in it', async () => {
    const examples = join(import.meta.dirname, '..', '..', 'deploy', 'examples');
    const created = await cp.kubectl(['apply', '-f', join(examples, 'namespace-opt-in.yaml')]);
    expect(created.stderr).toBe('');
    expect(created.stdout.trim()).toBe('namespace/vault created');
    for (const file of ['unseal-keys-secret.yaml', 'unseal-keys-split-custody.yaml']) {
      const result = await cp.kubectl(['apply', '--dry-run=server', '-f', join(examples, file)]);
      expect(result.stderr, file).toBe('');
      expect(result.stdout, file).toMatch(/^secret\/\S+ created \(server dry run\)$/m);
    }
  });
});

const SOURCES = {
  'helm template (chart defaults)': async () => helmTemplate(),
  'kustomize (base)': async () => (await kustomizeBuilds())['base'] ?? [],
};

describe.each(Object.entries(SOURCES))(
  'admission through the webhook configuration of %s',
  (source, render) => {
    let webhook: Webhook;
    const ns = (suffix: string): string => `${source.startsWith('helm') ? 'h' : 'k'}-${suffix}`;

    beforeAll(async () => {
      const objects = await render();
      const mwc = findObject(objects, 'MutatingWebhookConfiguration');
      webhook = await startWebhook(cp.ca, deploymentEnv(objects));
      await cp.kubectlOk(
        ['apply', '-f', '-'],
        JSON.stringify(forLoopback(mwc, webhook.port, cp.ca.certPem)),
      );
      await createNamespace(cp, ns('enabled'), { 'vault-autounseal.io/injection': 'enabled' });
      await createNamespace(cp, ns('plain'));
      await createNamespace(cp, ns('disabled'), { 'vault-autounseal.io/injection': 'disabled' });
    });

    afterAll(async () => {
      await webhook?.stop();
    });

    it('the apiserver stores the webhook configuration as rendered, but for clientConfig', async () => {
      const rendered = findObject(await render(), 'MutatingWebhookConfiguration');
      const stored = JSON.parse(
        await cp.kubectlOk([
          'get',
          'mutatingwebhookconfiguration',
          rendered.metadata.name,
          '-o',
          'json',
        ]),
      ) as K8sObject;
      const withoutClientConfig = (o: K8sObject): unknown[] =>
        (o['webhooks'] as Record<string, unknown>[]).map(({ clientConfig: _, ...rest }) => rest);
      expect(withoutClientConfig(stored)).toEqual(withoutClientConfig(rendered));
    });

    it('a pod in a namespace labelled for injection is stored with the sidecar (native mode)', async () => {
      const created = await createPod(cp, ns('enabled'), vaultPod('native', { optInLabel: false }));
      expect(created.stderr).toBe('');
      const pod = await getPod(cp, ns('enabled'), 'native');
      const [sidecar] = sidecars(pod);
      expect(sidecars(pod)).toHaveLength(1);
      expect(pod.spec.initContainers?.map((c) => c.name)).toContain('vault-autounseal');
      expect(sidecar?.restartPolicy).toBe('Always');
      expect(sidecar?.ports?.map((p) => p.containerPort)).toEqual([8210]);
    });

    it('… and in regular-sidecar mode (annotation native-sidecar: "false")', async () => {
      const created = await createPod(
        cp,
        ns('enabled'),
        vaultPod('regular', {
          optInLabel: false,
          annotations: { 'vault-autounseal.io/native-sidecar': 'false' },
        }),
      );
      expect(created.code, created.stderr).toBe(0);
      const pod = await getPod(cp, ns('enabled'), 'regular');
      expect(pod.spec.containers.map((c) => c.name)).toEqual(['vault', 'vault-autounseal']);
      expect(pod.spec.initContainers ?? []).toEqual([]);
    });

    it('a pod that opts in by annotation in an unlabelled namespace gets the sidecar', async () => {
      const created = await createPod(
        cp,
        ns('plain'),
        vaultPod('by-annotation', {
          optInLabel: false,
          annotations: { 'vault-autounseal.io/inject': 'true' },
        }),
      );
      expect(created.code, created.stderr).toBe(0);
      expect(sidecars(await getPod(cp, ns('plain'), 'by-annotation'))).toHaveLength(1);
    });

    it('an opted-out pod, a pod in a disabled namespace and a pod in kube-system are stored untouched', async () => {
      const optedOut = vaultPod('opted-out', { labels: { 'vault-autounseal.io/inject': 'false' } });
      expect((await createPod(cp, ns('enabled'), optedOut)).code).toBe(0);
      expect(sidecars(await getPod(cp, ns('enabled'), 'opted-out'))).toEqual([]);

      expect((await createPod(cp, ns('disabled'), vaultPod('in-disabled'))).code).toBe(0);
      expect(sidecars(await getPod(cp, ns('disabled'), 'in-disabled'))).toEqual([]);

      const system = vaultPod(`${ns('system')}`);
      await cp.kubectlOk(
        ['apply', '-f', '-'],
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: { name: 'default', namespace: 'kube-system' },
        }),
      );
      expect((await createPod(cp, 'kube-system', system)).code).toBe(0);
      expect(sidecars(await getPod(cp, 'kube-system', system.metadata.name))).toEqual([]);
    });

    it('an invalid opt-in value makes kubectl create fail with the webhook’s message', async () => {
      const typo = vaultPod('typo', { labels: { 'vault-autounseal.io/inject': 'yes' } });
      const result = await createPod(cp, ns('plain'), typo);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(
        'admission webhook "pod.vault-autounseal.io" denied the request',
      );
      expect(result.stderr).toContain(
        'pod label vault-autounseal.io/inject is "yes"; accepted values: "true" or "false"',
      );
      expect((await cp.kubectl(['get', 'pod', '-n', ns('plain'), 'typo'])).code).not.toBe(0);
    });

    it('a server-side dry-run create returns the mutated pod and stores nothing', async () => {
      const result = await cp.kubectl(
        ['create', '--dry-run=server', '-n', ns('enabled'), '-f', '-', '-o', 'json'],
        JSON.stringify(vaultPod('dry', { optInLabel: false })),
      );
      expect(result.code, result.stderr).toBe(0);
      expect(sidecars(JSON.parse(result.stdout) as Pod)).toHaveLength(1);
      expect((await cp.kubectl(['get', 'pod', '-n', ns('enabled'), 'dry'])).code).not.toBe(0);
    });

    it('the official chart’s StatefulSet (HA, TLS): its pod template, created as a pod, is injected', async () => {
      const template = vaultChartTemplate();
      const statefulSet = {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'vault' },
        spec: {
          serviceName: 'vault-internal',
          podManagementPolicy: 'Parallel',
          replicas: 3,
          updateStrategy: { type: 'OnDelete' },
          selector: {
            matchLabels: {
              'app.kubernetes.io/name': 'vault',
              'app.kubernetes.io/instance': 'vault',
              component: 'server',
            },
          },
          template,
        },
      };
      await cp.kubectlOk(['apply', '-n', ns('plain'), '-f', '-'], JSON.stringify(statefulSet));
      // What the StatefulSet controller would create (there is none here): vault-N from the template.
      for (const index of [0, 1]) {
        const pod: Pod = {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            name: `vault-${index}`,
            labels: {
              ...template.metadata.labels,
              'statefulset.kubernetes.io/pod-name': `vault-${index}`,
            },
          },
          spec: { ...template.spec, hostname: `vault-${index}`, subdomain: 'vault-internal' },
        };
        const created = await createPod(cp, ns('plain'), pod);
        expect(created.code, created.stderr).toBe(0);
        const stored = await getPod(cp, ns('plain'), `vault-${index}`);
        const [sidecar] = sidecars(stored);
        expect(sidecars(stored)).toHaveLength(1);
        // The TLS settings reach the sidecar: it verifies Vault with the chart's CA.
        expect(sidecar?.env).toEqual(
          expect.arrayContaining([
            { name: 'VAULT_ADDR', value: 'https://127.0.0.1:8200' },
            { name: 'VAULT_CACERT', value: '/vault/userconfig/vault-ha-tls/vault.ca' },
          ]),
        );
      }
    });

    it('updating a stored, injected pod never adds a second sidecar', async () => {
      await cp.kubectlOk(['label', 'pod', '-n', ns('enabled'), 'native', 'touched=yes']);
      await cp.kubectlOk([
        'annotate',
        'pod',
        '-n',
        ns('enabled'),
        'native',
        'vault-autounseal.io/paused=true',
      ]);
      await cp.kubectlOk([
        'set',
        'image',
        '-n',
        ns('enabled'),
        'pod/native',
        'vault=hashicorp/vault:1.18.2',
      ]);
      const stored = await getPod(cp, ns('enabled'), 'native');
      expect(stored.metadata.labels?.['touched']).toBe('yes');
      expect(stored.spec.containers.find((c) => c.name === 'vault')?.image).toBe(
        'hashicorp/vault:1.18.2',
      );
      expect(sidecars(stored)).toHaveLength(1);
    });

    it('every injected pod carries vault-autounseal.io/injected=true, whatever the opt-in: one selector lists exactly them', async () => {
      const listed = await cp.kubectlOk([
        'get',
        'pods',
        '-A',
        '-l',
        'vault-autounseal.io/injected=true',
        '-o',
        'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{"\\n"}{end}',
      ]);
      const ours = listed
        .split('\n')
        .filter((line) => line.startsWith(ns('')))
        .sort();
      expect(ours).toEqual(
        [
          `${ns('enabled')}/native`, // namespace label
          `${ns('enabled')}/regular`, // namespace label, regular-sidecar mode
          `${ns('plain')}/by-annotation`, // pod annotation
          `${ns('plain')}/vault-0`, // pod label
          `${ns('plain')}/vault-1`,
        ].sort(),
      );
      // ... and each of them has the sidecar; the pods left alone have neither.
      for (const entry of ours) {
        const [namespace, name] = entry.split('/') as [string, string];
        expect(sidecars(await getPod(cp, namespace, name)), entry).toHaveLength(1);
      }
      const optedOut = await getPod(cp, ns('enabled'), 'opted-out');
      expect(optedOut.metadata.labels?.['vault-autounseal.io/injected']).toBeUndefined();
    });

    it('matchConditions (Kubernetes >= 1.30): a pod without the annotation in an unlabelled namespace is never sent to the webhook', async () => {
      const entry = (
        findObject(await render(), 'MutatingWebhookConfiguration')['webhooks'] as {
          name: string;
          matchConditions?: unknown[];
        }[]
      ).find((w) => w.name === 'annotation.vault-autounseal.io');
      expect(entry?.matchConditions).toHaveLength(1);
      const counted = async (reason: string): Promise<number> => {
        const text = await (await fetch(`http://127.0.0.1:${webhook.metricsPort}/metrics`)).text();
        const line = text
          .split('\n')
          .find((l) =>
            l.startsWith(
              `vault_autounseal_webhook_admissions_total{result="skipped",reason="${reason}"}`,
            ),
          );
        return line === undefined ? 0 : Number(line.split(' ').pop());
      };
      const before = {
        notOptedIn: await counted('not-opted-in'),
        optOut: await counted('pod-opt-out'),
      };
      // No label, no annotation: the CEL condition is false, the apiserver does not call.
      const plain = vaultPod('never-sent', { optInLabel: false });
      expect((await createPod(cp, ns('plain'), plain)).code).toBe(0);
      expect(await counted('not-opted-in')).toBe(before.notOptedIn);
      // The annotation, even "false": sent, and skipped by the webhook (so the counter is live).
      const annotated = vaultPod('sent', {
        optInLabel: false,
        annotations: { 'vault-autounseal.io/inject': 'false' },
      });
      expect((await createPod(cp, ns('plain'), annotated)).code).toBe(0);
      expect(await counted('pod-opt-out')).toBe(before.optOut + 1);
      expect(await counted('not-opted-in')).toBe(before.notOptedIn);
    });
  },
);

describe('the chart refuses to install into a namespace where Vault pods opt in (lookup, against this apiserver)', () => {
  /** `helm template --dry-run=server`: the templates' lookup calls reach the apiserver. */
  const helmInto = async (namespace: string) =>
    run(
      HELM,
      ['template', 'vault-autounseal', CHART, '--namespace', namespace, '--dry-run=server'],
      { env: { KUBECONFIG: cp.kubeconfig, HELM_CACHE_HOME: join(ROOT, '.cache', 'helm') } },
    );

  it('a namespace labelled vault-autounseal.io/injection=enabled', async () => {
    await createNamespace(cp, 'lookup-labelled', { 'vault-autounseal.io/injection': 'enabled' });
    const result = await helmInto('lookup-labelled');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(
      'namespace lookup-labelled carries the label vault-autounseal.io/injection=enabled: every webhook entry excludes the release namespace lookup-labelled',
    );
  });

  it('a namespace holding a StatefulSet whose pods opt in (Vault installed first)', async () => {
    await createNamespace(cp, 'lookup-vault');
    const template = vaultChartTemplate();
    await cp.kubectlOk(
      ['apply', '-n', 'lookup-vault', '-f', '-'],
      JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'vault' },
        spec: {
          serviceName: 'vault-internal',
          replicas: 1,
          selector: { matchLabels: { 'app.kubernetes.io/name': 'vault', component: 'server' } },
          template,
        },
      }),
    );
    const result = await helmInto('lookup-vault');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(
      'statefulset/vault in namespace lookup-vault opt in to injection (vault-autounseal.io/inject: "true")',
    );
  });

  it('a namespace of its own renders', async () => {
    await createNamespace(cp, 'lookup-own');
    const result = await helmInto('lookup-own');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});

describe('Pod Security "restricted" runs on the mutated pod', () => {
  let webhook: Webhook;
  const namespace = 'restricted';

  beforeAll(async () => {
    const objects = await helmTemplate();
    webhook = await startWebhook(cp.ca, deploymentEnv(objects));
    const mwc = findObject(objects, 'MutatingWebhookConfiguration');
    await cp.kubectlOk(
      ['apply', '-f', '-'],
      JSON.stringify(forLoopback(mwc, webhook.port, cp.ca.certPem)),
    );
    await createNamespace(cp, namespace, {
      'pod-security.kubernetes.io/enforce': 'restricted',
      'vault-autounseal.io/injection': 'enabled',
    });
  });

  afterAll(async () => {
    await webhook?.stop();
  });

  it('a compliant Vault pod is admitted with the injected sidecar', async () => {
    const created = await createPod(
      cp,
      namespace,
      vaultPod('compliant', { restricted: true, optInLabel: false }),
    );
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(sidecars(await getPod(cp, namespace, 'compliant'))).toHaveLength(1);
  });

  it('the check is live: the same pod with a non-compliant Vault container is refused, and only that container is named', async () => {
    const pod = vaultPod('vault-not-compliant', { restricted: true, optInLabel: false });
    delete pod.spec.containers[0]!.securityContext;
    const created = await createPod(cp, namespace, pod);
    expect(created.code).not.toBe(0);
    expect(created.stderr).toContain('violates PodSecurity "restricted:latest"');
    expect(created.stderr).toContain(
      'container "vault" must set securityContext.allowPrivilegeEscalation=false',
    );
    // Pod Security lists every offending container; the injected one is not among them.
    expect(created.stderr).not.toContain('"vault-autounseal"');
  });

  it('the chart cannot make the sidecar run as root: the values schema refuses runAsUser 0, and the webhook refuses to start with it', async () => {
    // The way to a non-compliant sidecar through the chart would be uid 0 (the sidecar's
    // securityContext is not a chart value). The chart's schema refuses it; rendered past the
    // schema, the webhook itself refuses it.
    const rootValues = join(FIXTURES, 'values-sidecar-root.yaml');
    expect(readFileSync(rootValues, 'utf8')).toContain('runAsUser: 0');
    await expect(helmTemplate(['-f', rootValues])).rejects.toThrow(/\/sidecar\/runAsUser/);
    const env = deploymentEnv(await helmTemplate(['-f', rootValues, '--skip-schema-validation']));
    expect(env['SIDECAR_RUN_AS_USER']).toBe('0');
    await expect(startWebhook(cp.ca, env)).rejects.toThrow(
      /the webhook exited 2:[\s\S]*SIDECAR_RUN_AS_USER: is "0"; accepted: an integer id from 1/,
    );
  });
});

/** The stored pod's containers (init ones included) by name, and what each mounts at `path`. */
function mountsAt(pod: Pod, path: string): Record<string, string | undefined> {
  return Object.fromEntries(
    [...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c) => [
      c.name,
      c.volumeMounts?.find((m) => m.mountPath === path)?.name,
    ]),
  );
}

describe('the ServiceAccount token stays out of the sidecar (issue 21, item 17)', () => {
  // The apiserver's ServiceAccount admission plugin mounts the pod's token into every container
  // with no mount at this path; it runs before the webhooks, and once more after a webhook changed
  // the pod. The webhook's empty directory takes the path in the sidecar, so the plugin skips it.
  const TOKEN_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
  const namespace = 'sa-token';
  let webhook: Webhook;

  beforeAll(async () => {
    const objects = await helmTemplate();
    webhook = await startWebhook(cp.ca, deploymentEnv(objects));
    const mwc = findObject(objects, 'MutatingWebhookConfiguration');
    await cp.kubectlOk(
      ['apply', '-f', '-'],
      JSON.stringify(forLoopback(mwc, webhook.port, cp.ca.certPem)),
    );
    // Restricted too: the extra emptyDir must keep the pod within Pod Security "restricted".
    await createNamespace(cp, namespace, {
      'pod-security.kubernetes.io/enforce': 'restricted',
      'vault-autounseal.io/injection': 'enabled',
    });
  });

  afterAll(async () => {
    await webhook?.stop();
  });

  it.each([
    ['native', {}],
    ['regular', { 'vault-autounseal.io/native-sidecar': 'false' }],
  ])(
    '%s sidecar: Vault gets the token, the sidecar an empty directory',
    async (name, annotations) => {
      const pod = vaultPod(`token-${name}`, { restricted: true, optInLabel: false, annotations });
      // As in vault-helm with service registration: the token is mounted.
      delete pod.spec['automountServiceAccountToken'];
      const created = await createPod(cp, namespace, pod);
      expect(created.stderr).toBe('');
      expect(created.code).toBe(0);
      const stored = await getPod(cp, namespace, pod.metadata.name);
      expect(sidecars(stored)).toHaveLength(1);
      const tokenVolume = (stored.spec.volumes ?? []).find((v) =>
        String(v['name']).startsWith('kube-api-access-'),
      );
      expect(tokenVolume, 'the ServiceAccount plugin ran').toBeDefined();
      expect(mountsAt(stored, TOKEN_DIR)).toEqual({
        vault: tokenVolume?.['name'],
        'vault-autounseal': 'vault-autounseal-no-token',
      });
      // Nothing of the token volume anywhere in the sidecar.
      const [sidecar] = sidecars(stored);
      expect(sidecar?.volumeMounts?.map((m) => m.name)).not.toContain(tokenVolume?.['name']);
      console.log(
        `[e2e] ${name} sidecar: token volume ${String(tokenVolume?.['name'])} mounted in vault only; sidecar mounts ${JSON.stringify(sidecar?.volumeMounts?.map((m) => m.name))}`,
      );
    },
  );
});

describe('the webhook down', () => {
  beforeAll(async () => {
    const objects = await helmTemplate();
    const webhook = await startWebhook(cp.ca, deploymentEnv(objects));
    const mwc = findObject(objects, 'MutatingWebhookConfiguration');
    await cp.kubectlOk(
      ['apply', '-f', '-'],
      JSON.stringify(forLoopback(mwc, webhook.port, cp.ca.certPem)),
    );
    await createNamespace(cp, 'down-enabled', { 'vault-autounseal.io/injection': 'enabled' });
    await createNamespace(cp, 'down-plain');
    // Up: a labelled pod is injected (so the failures below are the outage, not the setup).
    expect(
      sidecars(JSON.parse((await createPod(cp, 'down-plain', vaultPod('before'))).stdout) as Pod),
    ).toHaveLength(1);
    await webhook.stop();
  });

  it('opted-in pods that reach a failurePolicy Fail entry are refused, as deploy/README.md documents', async () => {
    const byLabel = await createPod(cp, 'down-plain', vaultPod('label-down'));
    expect(byLabel.code).not.toBe(0);
    expect(byLabel.stderr).toContain('failed calling webhook "pod.vault-autounseal.io"');
    const byNamespace = await createPod(
      cp,
      'down-enabled',
      vaultPod('ns-down', { optInLabel: false }),
    );
    expect(byNamespace.code).not.toBe(0);
    expect(byNamespace.stderr).toContain('failed calling webhook "namespace.vault-autounseal.io"');
  });

  it('an annotation-only opt-in (failurePolicy Ignore) starts without the sidecar', async () => {
    const created = await createPod(
      cp,
      'down-plain',
      vaultPod('annotation-down', {
        optInLabel: false,
        annotations: { 'vault-autounseal.io/inject': 'true' },
      }),
    );
    expect(created.code, created.stderr).toBe(0);
    expect(sidecars(await getPod(cp, 'down-plain', 'annotation-down'))).toEqual([]);
  });

  it('pods that do not opt in are still created', async () => {
    for (const [namespace, pod] of [
      ['down-plain', vaultPod('not-opted-in', { optInLabel: false })],
      [
        'down-enabled',
        vaultPod('opted-out', { labels: { 'vault-autounseal.io/inject': 'false' } }),
      ],
    ] as const) {
      const created = await createPod(cp, namespace, pod);
      expect(created.code, created.stderr).toBe(0);
      expect(sidecars(await getPod(cp, namespace, pod.metadata.name))).toEqual([]);
    }
  });
});
