// AdmissionReview handling: what is a bad request, what is allowed untouched, what is denied and
// how the denial reads.
import { describe, expect, it } from 'vitest';
import { reviewAdmission, type AdmissionContext } from '../../../webhook/admission.js';
import type { NamespaceInjection } from '../../../webhook/should-inject.js';
import {
  applyAndValidate,
  loadPod,
  reviewFor,
  reviewForFixture,
  testDefaults,
  type Json,
} from '../../fixtures/webhook/fixtures.js';

function ctx(namespaceInjection: NamespaceInjection = 'absent'): AdmissionContext {
  return { ownNamespace: 'vault-autounseal-system', namespaceInjection, sidecar: testDefaults() };
}

function response(review: unknown, context: AdmissionContext = ctx()): Json {
  const result = reviewAdmission(review, context);
  if (result.kind !== 'answer') throw new Error(result.message);
  return result.body.response;
}

/** The bare pod with the given annotations, opted in by label. */
function podWith(annotations: Record<string, string>): Json {
  const pod = loadPod('bare');
  pod['metadata']['labels'] = { 'vault-autounseal.io/inject': 'true' };
  pod['metadata']['annotations'] = annotations;
  return pod;
}

describe('reviewAdmission', () => {
  describe('a malformed body is a 400 with a message', () => {
    it.each<[string, unknown, string]>([
      ['not an object', 'hello', 'must be a JSON object'],
      ['an array', [], 'must be a JSON object'],
      ['null', null, 'must be a JSON object'],
      [
        'v1beta1',
        { ...reviewForFixture('bare'), apiVersion: 'admission.k8s.io/v1beta1' },
        'admission.k8s.io/v1',
      ],
      ['another kind', { ...reviewForFixture('bare'), kind: 'TokenReview' }, 'AdmissionReview'],
      [
        'no request',
        { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' },
        'request must be an object',
      ],
      [
        'no uid',
        {
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          request: { operation: 'CREATE' },
        },
        'request.uid',
      ],
      [
        'an empty uid',
        { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: '' } },
        'request.uid',
      ],
      [
        'a numeric uid',
        { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 42 } },
        'request.uid',
      ],
    ])('%s', (_what, body, message) => {
      const result = reviewAdmission(body, ctx());
      expect(result).toMatchObject({ kind: 'invalid', httpStatus: 400 });
      expect(result.kind === 'invalid' && result.message).toContain(message);
    });

    it('a pod CREATE without a pod object', () => {
      const review = reviewForFixture('bare');
      review['request']['object'] = 'not a pod';
      expect(reviewAdmission(review, ctx())).toMatchObject({
        kind: 'invalid',
        message: 'request.object must be a Pod with a spec',
      });
    });
  });

  describe('what is allowed untouched', () => {
    it.each([
      ['UPDATE', 'not-create'],
      ['DELETE', 'not-create'],
      ['CONNECT', 'not-create'],
    ])('a pod %s', (operation, reason) => {
      const review = reviewFor(podWith({}), { operation });
      const result = reviewAdmission(review, ctx('enabled'));
      expect(result).toMatchObject({ kind: 'answer', outcome: { result: 'skipped', reason } });
      expect(response(review, ctx('enabled'))).toEqual({
        uid: review['request']['uid'],
        allowed: true,
      });
    });

    it.each([
      ['a Deployment', { group: 'apps', version: 'v1', kind: 'Deployment' }, ''],
      ['a ConfigMap', { group: '', version: 'v1', kind: 'ConfigMap' }, ''],
      ['a pod of another API group', { group: 'example.com', version: 'v1', kind: 'Pod' }, ''],
      [
        'a pods/ephemeralcontainers subresource',
        { group: '', version: 'v1', kind: 'Pod' },
        'ephemeralcontainers',
      ],
    ])('%s', (_what, kind, subResource) => {
      const review = reviewFor(podWith({}));
      review['request']['kind'] = kind;
      if (subResource) review['request']['subResource'] = subResource;
      expect(reviewAdmission(review, ctx('enabled'))).toMatchObject({
        kind: 'answer',
        outcome: { result: 'skipped', reason: 'not-a-pod' },
      });
      expect(response(review, ctx('enabled'))).toEqual({
        uid: review['request']['uid'],
        allowed: true,
      });
    });
  });

  describe('a denial', () => {
    it('says allowed: false, with status code and message naming key and accepted values', () => {
      const pod = loadPod('bare');
      pod['metadata']['labels'] = { 'vault-autounseal.io/inject': 'yes' };
      const review = reviewFor(pod);
      const answer = response(review);
      expect(answer).toEqual({
        uid: review['request']['uid'],
        allowed: false,
        status: {
          code: 400,
          message:
            'vault-autounseal: pod label vault-autounseal.io/inject is "yes"; accepted values: "true" or "false"',
        },
      });
      expect(answer).not.toHaveProperty('patch');
      expect(answer).not.toHaveProperty('patchType');
      expect(answer).not.toHaveProperty('result');
    });

    it('denies every pod that comes through the invalid-namespace-label entry', () => {
      const answer = response(reviewFor(loadPod('bare')), ctx('invalid'));
      expect(answer['allowed']).toBe(false);
      expect(answer['status']['message']).toContain(
        'label vault-autounseal.io/injection must be "enabled" or "disabled"',
      );
    });

    it.each([
      // Each row: an annotation value, and words the message must carry.
      [
        { 'vault-autounseal.io/interval': '5' },
        ['vault-autounseal.io/interval', '"5"', 'a duration from 100ms to'],
      ],
      [
        { 'vault-autounseal.io/interval': '0s' },
        ['vault-autounseal.io/interval', 'out of range', 'from 100ms to'],
      ],
      [
        { 'vault-autounseal.io/log-level': 'verbose' },
        [
          'vault-autounseal.io/log-level',
          '"verbose"',
          'fatal, error, warn, info, debug, trace, silent',
        ],
      ],
      [
        { 'vault-autounseal.io/native-sidecar': 'yes' },
        ['vault-autounseal.io/native-sidecar', '"yes"', '"true" or "false"'],
      ],
      [
        { 'vault-autounseal.io/keys-secret': 'Keys_A' },
        ['vault-autounseal.io/keys-secret', 'Secret names'],
      ],
      [{ 'vault-autounseal.io/keys-secret': 'a,,b' }, ['vault-autounseal.io/keys-secret']],
      [
        { 'vault-autounseal.io/keys-secret': 'a,a' },
        ['vault-autounseal.io/keys-secret', 'distinct'],
      ],
      [
        { 'vault-autounseal.io/vault-container': 'server' },
        ['vault-autounseal.io/vault-container', '"server"', '(vault)'],
      ],
      [{ 'vault-autounseal.io/status': 'pending' }, ['vault-autounseal.io/status', '"pending"']],
    ])('denies %j with a message naming it', (annotations, words) => {
      const result = reviewAdmission(reviewFor(podWith(annotations)), ctx());
      expect(result).toMatchObject({ kind: 'answer', outcome: { result: 'denied' } });
      const answer = response(reviewFor(podWith(annotations)));
      expect(answer['allowed']).toBe(false);
      for (const word of words) expect(answer['status']['message']).toContain(word);
    });

    it('names every bad annotation at once', () => {
      const answer = response(
        reviewFor(
          podWith({
            'vault-autounseal.io/interval': 'soon',
            'vault-autounseal.io/log-level': 'loud',
          }),
        ),
      );
      expect(answer['status']['message']).toContain('interval');
      expect(answer['status']['message']).toContain('log-level');
    });

    it.each([
      [
        'a volume named like ours',
        (pod: Json) => (pod['spec']['volumes'] = [{ name: 'vault-autounseal-keys', emptyDir: {} }]),
        'volume named vault-autounseal-keys',
      ],
      [
        'a container on port 8210',
        (pod: Json) => (pod['spec']['containers'][0]['ports'] = [{ containerPort: 8210 }]),
        'port 8210',
      ],
      [
        'a CA mount over the keys directory',
        (pod: Json) => {
          pod['spec']['volumes'] = [{ name: 'ca', secret: { secretName: 'ca' } }];
          pod['spec']['containers'][0]['volumeMounts'] = [{ name: 'ca', mountPath: '/vault' }];
          pod['spec']['containers'][0]['env'] = [{ name: 'VAULT_CACERT', value: '/vault/ca.pem' }];
        },
        'overlaps',
      ],
    ])('refuses a name clash: %s', (_what, mutate, words) => {
      const pod = podWith({});
      mutate(pod);
      const result = reviewAdmission(reviewFor(pod), ctx());
      expect(result).toMatchObject({
        kind: 'answer',
        outcome: { result: 'denied', reason: 'name-clash' },
      });
      expect(response(reviewFor(pod))['status']['message']).toContain(words);
    });

    it('denies a pod without containers', () => {
      const pod = podWith({});
      pod['spec']['containers'] = [];
      expect(reviewAdmission(reviewFor(pod), ctx())).toMatchObject({
        outcome: { result: 'denied', reason: 'no-vault-container' },
      });
    });
  });

  describe('an unexpected failure while building the patch', () => {
    it('is a denial that says so, never a pod without its sidecar', () => {
      const sidecar = testDefaults();
      Object.defineProperty(sidecar, 'image', {
        get: () => {
          throw new Error('boom');
        },
      });
      const review = reviewForFixture('vault-0');
      const result = reviewAdmission(review, { ...ctx(), sidecar });
      expect(result).toMatchObject({
        kind: 'answer',
        outcome: { result: 'error', reason: 'internal-error' },
      });
      const answer = result.kind === 'answer' ? result.body.response : undefined;
      expect(answer).toMatchObject({
        uid: review['request']['uid'],
        allowed: false,
        status: { code: 500 },
      });
      expect(answer?.status?.message).toContain('internal error while building the patch (boom)');
    });
  });

  describe('the chosen Vault container', () => {
    it('is the one the annotation names', () => {
      const pod = podWith({ 'vault-autounseal.io/vault-container': 'server' });
      pod['spec']['containers'] = [
        {
          name: 'log-shipper',
          image: 'fluent-bit',
          env: [{ name: 'VAULT_ADDR', value: 'http://wrong:1' }],
        },
        {
          name: 'server',
          image: 'hashicorp/vault',
          env: [{ name: 'VAULT_ADDR', value: 'https://127.0.0.1:8200' }],
        },
      ];
      const patched = applyAndValidate(pod, response(reviewFor(pod))['patch']);
      const sidecar = patched['spec']['initContainers'][0];
      expect(sidecar['env'][0]).toEqual({ name: 'VAULT_ADDR', value: 'https://127.0.0.1:8200' });
    });

    it('is the first container when none is named vault or openbao', () => {
      const pod = podWith({});
      pod['spec']['containers'] = [
        {
          name: 'server',
          image: 'hashicorp/vault',
          env: [{ name: 'VAULT_ADDR', value: 'https://first:8200' }],
        },
        { name: 'other', image: 'x', env: [{ name: 'VAULT_ADDR', value: 'https://second:8200' }] },
      ];
      const patched = applyAndValidate(pod, response(reviewFor(pod))['patch']);
      expect(patched['spec']['initContainers'][0]['env'][0]['value']).toBe('https://first:8200');
    });
  });

  it('keeps warnings to 120 characters each', () => {
    const pod = podWith({});
    pod['spec']['containers'][0]['name'] = `vault-${'long-name-'.repeat(20)}`;
    pod['spec']['containers'][0]['envFrom'] = [{ configMapRef: { name: 'vault-env' } }];
    const answer = response(reviewFor(pod));
    expect(answer['allowed']).toBe(true);
    expect(answer['warnings'].length).toBeGreaterThan(0);
    for (const warning of answer['warnings']) expect(warning.length).toBeLessThanOrEqual(120);
  });
});

describe('a skipped pod that asked for the sidecar', () => {
  it.each([
    // Each row: where the pod is, what it says, and the warning it gets.
    [
      'kube-system',
      { 'vault-autounseal.io/inject': 'true' },
      'absent',
      'namespace kube-system is never injected',
    ],
    [
      'vault',
      { 'vault-autounseal.io/inject': 'true' },
      'disabled',
      'vault-autounseal.io/injection=disabled',
    ],
  ] as const)('in %s with %j is told why (namespace label %s)', (namespace, labels, ns, words) => {
    const pod = loadPod('bare');
    pod['metadata']['labels'] = { ...labels };
    const answer = response(reviewFor(pod, { namespace }), ctx(ns));
    expect(answer['allowed']).toBe(true);
    expect(answer).not.toHaveProperty('patch');
    expect(answer['warnings']).toEqual([expect.stringContaining(words)]);
  });

  it('gets no warning when it never asked', () => {
    expect(response(reviewFor(loadPod('bare'), { namespace: 'kube-system' }))).not.toHaveProperty(
      'warnings',
    );
  });
});

describe('the copied CA mount', () => {
  it('brings the variables its subPathExpr expands, defined before use', () => {
    const pod = podWith({});
    pod['spec']['volumes'] = [{ name: 'tls', secret: { secretName: 'vault-tls' } }];
    pod['spec']['containers'][0]['env'] = [
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'VAULT_CACERT', value: '/vault/tls/ca.pem' },
    ];
    pod['spec']['containers'][0]['volumeMounts'] = [
      { name: 'tls', mountPath: '/vault/tls', subPathExpr: '$(POD_NAME)' },
    ];
    const patched = applyAndValidate(pod, response(reviewFor(pod))['patch']);
    const sidecar = patched['spec']['initContainers'][0];
    expect(sidecar['volumeMounts']).toContainEqual({
      name: 'tls',
      mountPath: '/vault/tls',
      readOnly: true,
      subPathExpr: '$(POD_NAME)',
    });
    expect(sidecar['env'].map((e: Json): unknown => e['name']).slice(0, 2)).toEqual([
      'POD_NAME',
      'VAULT_CACERT',
    ]);
  });

  it('is the deepest mount that holds the file, read-only even if the Vault container writes it', () => {
    const pod = podWith({});
    pod['spec']['volumes'] = [
      { name: 'data', emptyDir: {} },
      { name: 'ca', configMap: { name: 'ca' } },
    ];
    pod['spec']['containers'][0]['env'] = [
      { name: 'BAO_CACERT', value: '/openbao/data/ca/ca.pem' },
    ];
    pod['spec']['containers'][0]['volumeMounts'] = [
      { name: 'data', mountPath: '/openbao/data' },
      { name: 'ca', mountPath: '/openbao/data/ca/' },
    ];
    const patched = applyAndValidate(pod, response(reviewFor(pod))['patch']);
    const mounts: Json[] = patched['spec']['initContainers'][0]['volumeMounts'];
    expect(mounts.filter((m) => m['name'] === 'ca' || m['name'] === 'data')).toEqual([
      { name: 'ca', mountPath: '/openbao/data/ca/', readOnly: true },
    ]);
  });
});
