// Every pod the webhook injects carries the label vault-autounseal.io/injected: "true", whatever
// the opt-in, so one selector (`kubectl get pods -A -l vault-autounseal.io/injected=true`, the
// runbooks' pause-everything command) finds every pod a sidecar runs in. Checked through the whole
// pure pipeline: AdmissionReview in, JSON Patch applied with rfc6902, the pod validated.
import { describe, expect, it } from 'vitest';
import { reviewAdmission, type AdmissionContext } from '../../../webhook/admission.js';
import { INJECTED_LABEL } from '../../../webhook/keys.js';
import type { NamespaceInjection } from '../../../webhook/should-inject.js';
import {
  applyAndValidate,
  reviewFor,
  sidecarOf,
  testDefaults,
  type Json,
} from '../../fixtures/webhook/fixtures.js';

const SELECTOR = { key: 'vault-autounseal.io/injected', value: 'true' };

function context(namespaceInjection: NamespaceInjection): AdmissionContext {
  return { ownNamespace: 'vault-autounseal', namespaceInjection, sidecar: testDefaults() };
}

function vaultPod(metadata: Json | undefined): Json {
  const pod: Json = {
    apiVersion: 'v1',
    kind: 'Pod',
    spec: { containers: [{ name: 'vault', image: 'hashicorp/vault:1.21.0' }] },
  };
  if (metadata !== undefined) pod['metadata'] = metadata;
  return pod;
}

function review(pod: Json, injection: NamespaceInjection): { response: Json; pod: Json } {
  const result = reviewAdmission(reviewFor(pod, { namespace: 'vault' }), context(injection));
  if (result.kind !== 'answer') throw new Error(result.message);
  const response = result.body.response as Json;
  return {
    response,
    pod: response['patch'] ? applyAndValidate(pod, response['patch']) : pod,
  };
}

/** What `-l vault-autounseal.io/injected=true` selects: the label, exactly. */
function selected(pod: Json): boolean {
  return pod['metadata']?.['labels']?.[SELECTOR.key] === SELECTOR.value;
}

describe('the injected-pod label', () => {
  it('is the key the runbooks select on', () => {
    expect(INJECTED_LABEL).toBe(SELECTOR.key);
  });

  it.each([
    [
      'the pod label',
      { name: 'vault-0', labels: { 'vault-autounseal.io/inject': 'true' } },
      'absent',
    ],
    [
      'the pod annotation',
      { name: 'vault-0', annotations: { 'vault-autounseal.io/inject': 'true' } },
      'absent',
    ],
    ['the namespace label', { name: 'vault-0', labels: { app: 'vault' } }, 'enabled'],
  ] as const)('is added when the pod opts in with %s', (_how, metadata, injection) => {
    const { response, pod } = review(vaultPod(structuredClone(metadata)), injection);
    expect(response['allowed']).toBe(true);
    expect(sidecarOf(pod)).toBeDefined();
    expect(selected(pod)).toBe(true);
    // The pod's own labels are all still there.
    expect(pod['metadata']['labels']).toMatchObject(
      (metadata as { labels?: Record<string, string> }).labels ?? {},
    );
  });

  it.each([
    ['no metadata at all', undefined],
    ['metadata without a labels map', { name: 'vault-0' }],
    ['labels: null', { name: 'vault-0', labels: null }],
    ['an empty labels map', { name: 'vault-0', labels: {} }],
  ])('is added to a pod with %s (namespace opt-in)', (_how, metadata) => {
    const { response, pod } = review(vaultPod(structuredClone(metadata)), 'enabled');
    expect(response['allowed']).toBe(true);
    expect(pod['metadata']['labels']).toEqual({ [SELECTOR.key]: SELECTOR.value });
    expect(pod['metadata']['annotations']).toEqual({ 'vault-autounseal.io/status': 'injected' });
  });

  it('already "true" (a manifest exported from an injected pod): left alone, no operation on it', () => {
    const pod = vaultPod({ name: 'vault-0', labels: { [SELECTOR.key]: 'true' } });
    const { response, pod: patched } = review(pod, 'enabled');
    const ops = JSON.parse(Buffer.from(response['patch'], 'base64').toString()) as Json[];
    expect(ops.filter((op) => String(op['path']).startsWith('/metadata/labels'))).toEqual([]);
    expect(selected(patched)).toBe(true);
  });

  it('set by hand to another value: denied, naming the label (never overwritten, never missed)', () => {
    const pod = vaultPod({ name: 'vault-0', labels: { [SELECTOR.key]: 'false' } });
    const { response } = review(pod, 'enabled');
    expect(response['allowed']).toBe(false);
    expect(response['status']['message']).toContain(
      'label vault-autounseal.io/injected is already set to "false"',
    );
  });

  it('is not added to a pod that is not injected', () => {
    const { response, pod } = review(vaultPod({ name: 'web', labels: { app: 'web' } }), 'absent');
    expect(response['allowed']).toBe(true);
    expect(response['patch']).toBeUndefined();
    expect(selected(pod)).toBe(false);
  });
});
