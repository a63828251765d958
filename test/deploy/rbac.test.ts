// Least privilege, checked on what the chart renders: every RBAC rule it grants, in every mode,
// must be in GRANTED below with the reason it is needed. Today that list is empty: the webhook
// decides from the AdmissionReview alone and calls no Kubernetes API, so its ServiceAccount has no
// Role, no ClusterRole, and no token mounted. The kustomize manifests are rendered from the chart
// (deploy/kustomize/render.mjs, with a staleness test), so they grant the same. SECURITY.md links here.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { at, helmTemplate, type K8sObject } from './support.js';

/**
 * Every rule the chart may grant by default, as `apiGroup/resource verb`, and why. Empty on purpose;
 * a rule added to templates/rbac.yaml fails the test until it is listed here with its reason and
 * justified in a comment beside it in the template.
 */
const GRANTED: Readonly<Record<string, string>> = {};

const MODES: Record<string, string[]> = {
  defaults: [],
  'chart-generated certificate': ['--set', 'tls.mode=generate'],
  'your own Secret': [
    '--set',
    'tls.mode=secret',
    '--set',
    'tls.secret.name=my-webhook-tls',
    '--set-file',
    `tls.secret.caBundle=${join(import.meta.dirname, 'fixtures', 'test-ca.pem')}`,
  ],
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

const RBAC_KINDS = ['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'];

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
}

function grants(objects: readonly K8sObject[]): string[] {
  return objects
    .filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole')
    .flatMap((o) => (o['rules'] as Rule[] | undefined) ?? [])
    .flatMap((rule) =>
      (rule.apiGroups ?? ['']).flatMap((group) =>
        (rule.resources ?? []).flatMap((resource) =>
          (rule.verbs ?? []).map((verb) => `${group}/${resource} ${verb}`),
        ),
      ),
    )
    .sort();
}

describe.each(Object.entries(MODES))('the chart, %s', (_mode, args) => {
  it('grants only the rules listed with a reason, and no cluster-wide role', async () => {
    const objects = await helmTemplate(args);
    expect(
      objects.filter((o) => o.kind.startsWith('Cluster') && RBAC_KINDS.includes(o.kind)),
    ).toEqual([]);
    expect(grants(objects).filter((g) => !(g in GRANTED))).toEqual([]);
  });

  it('mounts no service-account token into the webhook', async () => {
    const objects = await helmTemplate(args);
    const account = objects.find((o) => o.kind === 'ServiceAccount');
    const deployment = objects.find((o) => o.kind === 'Deployment');
    expect(account?.['automountServiceAccountToken']).toBe(false);
    expect(at(deployment, 'spec', 'template', 'spec', 'automountServiceAccountToken')).toBe(false);
  });
});

describe('rbac.extraRules, for forks that read the API', () => {
  it('grants exactly the rules given, namespaced, bound to the webhook only, and mounts the token', async () => {
    const objects = await helmTemplate([
      '--set',
      'rbac.extraRules[0].apiGroups[0]=',
      '--set',
      'rbac.extraRules[0].resources[0]=namespaces',
      '--set',
      'rbac.extraRules[0].verbs[0]=get',
    ]);
    expect(grants(objects)).toEqual(['/namespaces get']);
    expect(
      objects
        .filter((o) => RBAC_KINDS.includes(o.kind))
        .map((o) => o.kind)
        .sort(),
    ).toEqual(['Role', 'RoleBinding']);
    const binding = objects.find((o) => o.kind === 'RoleBinding')!;
    expect(at(binding, 'subjects', 0, 'kind')).toBe('ServiceAccount');
    expect(at(binding, 'subjects', 1)).toBeUndefined();
    const deployment = objects.find((o) => o.kind === 'Deployment');
    expect(at(deployment, 'spec', 'template', 'spec', 'automountServiceAccountToken')).toBe(true);
  });
});
