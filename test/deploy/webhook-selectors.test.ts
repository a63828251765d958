// The chart's MutatingWebhookConfiguration and the webhook's own decision, together, must give the
// injection precedence in the README ("The webhook") and ADR 0002. An AdmissionReview
// carries no namespace labels, so the chart's entries and their selectors decide which pods reach
// the webhook and through which path; the path tells the webhook what the namespace label was
// (webhook/server.ts ADMISSION_PATHS). This test evaluates the rendered selectors the way the
// kube-apiserver does, sends each matching case through the webhook's real `shouldInject`, and
// compares the outcome with the contract, case by case.
import { describe, expect, it } from 'vitest';
import { ADMISSION_PATHS } from '../../webhook/server.js';
import { shouldInject } from '../../webhook/should-inject.js';
import { NAMESPACE, at, find, helmTemplate, type K8sObject } from './support.js';

interface Requirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}
interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Requirement[];
}
interface Entry {
  name: string;
  failurePolicy: 'Fail' | 'Ignore';
  clientConfig: { service: { path: string } };
  namespaceSelector?: Selector;
  objectSelector?: Selector;
}

/** Label selector semantics of k8s.io/apimachinery/pkg/labels (NotIn matches an absent key). */
function matches(selector: Selector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpression = (selector.matchExpressions ?? []).every((r) => {
    const value = labels[r.key];
    switch (r.operator) {
      case 'In':
        return value !== undefined && (r.values ?? []).includes(value);
      case 'NotIn':
        return value === undefined || !(r.values ?? []).includes(value);
      case 'Exists':
        return value !== undefined;
      case 'DoesNotExist':
        return value === undefined;
    }
  });
  return byLabel && byExpression;
}

type Outcome = 'injected' | 'not injected' | 'denied';

interface Case {
  namespace: string;
  namespaceLabel?: string;
  podLabel?: string;
  podAnnotation?: string;
}

const INJECT = 'vault-autounseal.io/inject';
const INJECTION = 'vault-autounseal.io/injection';

/** What the apiserver and the webhook do together with one pod CREATE. */
function admit(entries: readonly Entry[], c: Case): { outcome: Outcome; via: Entry[] } {
  const namespaceLabels: Record<string, string> = { 'kubernetes.io/metadata.name': c.namespace };
  if (c.namespaceLabel !== undefined) namespaceLabels[INJECTION] = c.namespaceLabel;
  const labels: Record<string, string> = { app: 'vault' };
  if (c.podLabel !== undefined) labels[INJECT] = c.podLabel;
  const annotations: Record<string, string> = {};
  if (c.podAnnotation !== undefined) annotations[INJECT] = c.podAnnotation;
  const via = entries.filter(
    (e) => matches(e.namespaceSelector, namespaceLabels) && matches(e.objectSelector, labels),
  );
  let outcome: Outcome = 'not injected';
  for (const entry of via) {
    const namespaceInjection = ADMISSION_PATHS[entry.clientConfig.service.path];
    if (!namespaceInjection) throw new Error(`entry ${entry.name} calls an unknown path`);
    const decision = shouldInject(
      {
        namespace: c.namespace,
        labels,
        annotations,
        containers: [{ name: 'vault' }] as never,
        initContainers: [],
      },
      { ownNamespace: NAMESPACE, namespaceInjection },
    );
    if (decision.kind === 'deny') return { outcome: 'denied', via };
    if (decision.kind === 'inject') outcome = 'injected';
  }
  return { outcome, via };
}

// [case, outcome with the default values, outcome with webhook.annotationOptIn.enabled=false]
const CASES: [string, Case, Outcome, Outcome][] = [
  // rule 1: protected namespaces, whatever they say
  [
    'kube-system, pod labelled true',
    { namespace: 'kube-system', podLabel: 'true' },
    'not injected',
    'not injected',
  ],
  [
    'kube-public, namespace enabled',
    { namespace: 'kube-public', namespaceLabel: 'enabled' },
    'not injected',
    'not injected',
  ],
  [
    "the webhook's own namespace, enabled",
    { namespace: NAMESPACE, namespaceLabel: 'enabled', podLabel: 'true' },
    'not injected',
    'not injected',
  ],
  // rule 2: either side says no
  [
    'namespace disabled, pod labelled true',
    { namespace: 'vault', namespaceLabel: 'disabled', podLabel: 'true' },
    'not injected',
    'not injected',
  ],
  [
    'namespace enabled, pod labelled false',
    { namespace: 'vault', namespaceLabel: 'enabled', podLabel: 'false' },
    'not injected',
    'not injected',
  ],
  [
    'namespace enabled, pod annotated false',
    { namespace: 'vault', namespaceLabel: 'enabled', podAnnotation: 'false' },
    'not injected',
    'not injected',
  ],
  [
    'pod labelled true but annotated false',
    { namespace: 'vault', podLabel: 'true', podAnnotation: 'false' },
    'not injected',
    'not injected',
  ],
  // rule 3: the pod opts in
  [
    'pod labelled true, namespace unlabelled',
    { namespace: 'vault', podLabel: 'true' },
    'injected',
    'injected',
  ],
  [
    'pod labelled true, namespace enabled',
    { namespace: 'vault', namespaceLabel: 'enabled', podLabel: 'true' },
    'injected',
    'injected',
  ],
  // selectors see labels only: the annotation alone works through entry 4 (annotationOptIn)
  [
    'pod annotated true only, namespace unlabelled',
    { namespace: 'vault', podAnnotation: 'true' },
    'injected',
    'not injected',
  ],
  [
    'pod annotated "yes" only, namespace unlabelled',
    { namespace: 'vault', podAnnotation: 'yes' },
    'denied',
    'not injected',
  ],
  // rule 4: the namespace opts in
  [
    'namespace enabled, pod unlabelled',
    { namespace: 'vault', namespaceLabel: 'enabled' },
    'injected',
    'injected',
  ],
  // rule 5: nobody opted in
  [
    'namespace unlabelled, pod unlabelled',
    { namespace: 'default' },
    'not injected',
    'not injected',
  ],
  // typos are denied with a reason, not silently ignored
  ['pod labelled "yes"', { namespace: 'vault', podLabel: 'yes' }, 'denied', 'denied'],
  [
    'pod labelled true, annotated "enable"',
    { namespace: 'vault', podLabel: 'true', podAnnotation: 'enable' },
    'denied',
    'denied',
  ],
  [
    'namespace labelled "enable", pod unlabelled',
    { namespace: 'vault', namespaceLabel: 'enable' },
    'denied',
    'denied',
  ],
  // ADR 0002: a pod with its own label follows it, whatever typo the namespace label has
  [
    'namespace labelled "enable", pod labelled true',
    { namespace: 'vault', namespaceLabel: 'enable', podLabel: 'true' },
    'injected',
    'injected',
  ],
  [
    'namespace labelled "enable", pod labelled false',
    { namespace: 'vault', namespaceLabel: 'enable', podLabel: 'false' },
    'not injected',
    'not injected',
  ],
];

/** A pod that opted in, or tried to (a typo): only these may depend on the webhook being up. */
function optedIn(c: Case): boolean {
  if (c.podLabel === 'false') return false;
  return (
    c.podLabel !== undefined || (c.namespaceLabel !== undefined && c.namespaceLabel !== 'disabled')
  );
}

describe.each([
  ['default values', [] as string[], 2] as const,
  [
    'webhook.annotationOptIn.enabled=false',
    ['--set', 'webhook.annotationOptIn.enabled=false'],
    3,
  ] as const,
])('MutatingWebhookConfiguration with %s', (_name, args, column) => {
  let entries: Entry[];
  const load = async (): Promise<Entry[]> => {
    if (!entries) {
      const objects: K8sObject[] = await helmTemplate(args);
      entries = at(find(objects, 'MutatingWebhookConfiguration'), 'webhooks') as Entry[];
    }
    return entries;
  };

  it('calls only paths the webhook serves', async () => {
    for (const entry of await load()) {
      expect(Object.keys(ADMISSION_PATHS)).toContain(entry.clientConfig.service.path);
    }
  });

  it.each(CASES)('%s', async (_what, c, ...expected) => {
    const result = admit(await load(), c);
    expect(result.outcome).toBe(expected[column - 2]);
    // At most one entry per pod: the webhook is never called twice for one CREATE.
    expect(result.via.length).toBeLessThanOrEqual(1);
    // failurePolicy Fail only where opted-in pods arrive: a pod that did not opt in never waits
    // on the webhook, so a webhook outage cannot block it.
    if (!optedIn(c)) {
      expect(result.via.filter((e) => e.failurePolicy === 'Fail').map((e) => e.name)).toEqual([]);
    }
  });
});
