// The JSON Patch: escaping, missing parents, and the invariant that applying it and reviewing the
// result again yields no second patch, over generated pods.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { reviewAdmission, type AdmissionContext } from '../../../webhook/admission.js';
import { buildPatch, escapePointerToken } from '../../../webhook/patch.js';
import { readPod } from '../../../webhook/pod.js';
import { buildSidecarSpec } from '../../../webhook/sidecar-spec.js';
import {
  applyAndValidate,
  decodePatch,
  reviewFor,
  sidecarOf,
  testDefaults,
  type Json,
} from '../../fixtures/webhook/fixtures.js';

describe('escapePointerToken', () => {
  it.each([
    ['vault-autounseal.io/status', 'vault-autounseal.io~1status'],
    ['a~b', 'a~0b'],
    // `~` first, then `/`: "~1" in a key must not turn into "/" on the way back.
    ['x~1/y', 'x~01~1y'],
    ['plain', 'plain'],
  ])('%s → %s', (token, escaped) => {
    expect(escapePointerToken(token)).toBe(escaped);
  });
});

describe('buildPatch', () => {
  const spec = (pod: Json): Parameters<typeof buildPatch>[1] => {
    const view = readPod(pod, 'vault')!;
    const built = buildSidecarSpec(view, testDefaults());
    if (!built.ok) throw new Error(built.message);
    return built.spec;
  };

  it('adds /metadata when the pod has none', () => {
    const pod: Json = {
      apiVersion: 'v1',
      kind: 'Pod',
      spec: { containers: [{ name: 'vault', image: 'v' }] },
    };
    const ops = buildPatch(readPod(pod, 'vault')!, spec(pod));
    expect(ops[0]).toEqual({
      op: 'add',
      path: '/metadata',
      value: {
        annotations: { 'vault-autounseal.io/status': 'injected' },
        labels: { 'vault-autounseal.io/injected': 'true' },
      },
    });
    const patched = applyAndValidate(pod, Buffer.from(JSON.stringify(ops)).toString('base64'));
    expect(sidecarOf(patched)).toBeDefined();
  });

  it('appends to existing arrays and maps one item at a time, never replacing them', () => {
    const pod: Json = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', annotations: { keep: 'me' } },
      spec: {
        initContainers: [{ name: 'init', image: 'busybox' }],
        containers: [{ name: 'vault', image: 'v' }],
        volumes: [{ name: 'data', emptyDir: {} }],
      },
    };
    const ops = buildPatch(readPod(pod, 'vault')!, spec(pod));
    expect(ops.map((op) => op.path)).toEqual([
      '/metadata/annotations/vault-autounseal.io~1status',
      '/metadata/labels',
      '/spec/volumes/-',
      '/spec/volumes/-',
      '/spec/volumes/-',
      '/spec/initContainers/-',
    ]);
  });

  it('treats a null array as missing', () => {
    const pod: Json = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', annotations: null },
      spec: { containers: [{ name: 'vault', image: 'v' }], volumes: null },
    };
    const patched = applyAndValidate(
      pod,
      Buffer.from(JSON.stringify(buildPatch(readPod(pod, 'vault')!, spec(pod)))).toString('base64'),
    );
    // Keys, pod info, and the empty directory over the ServiceAccount token's path.
    expect(patched['spec']['volumes']).toHaveLength(3);
    expect(patched['metadata']['annotations']).toEqual({
      'vault-autounseal.io/status': 'injected',
    });
  });
});

// ---- Generated pods ------------------------------------------------------------------------

const dnsLabel = fc
  .stringMatching(/^[a-z][a-z0-9]{0,10}$/)
  .filter((s) => !s.startsWith('vault-autounseal'));
const keyToken = fc.stringMatching(/^[a-z~/.]{1,12}$/);

const containerNames = fc.uniqueArray(
  fc.constantFrom('vault', 'openbao', 'server', 'agent', 'log', 'proxy'),
  {
    minLength: 1,
    maxLength: 3,
  },
);

const securityContext = fc.record(
  {
    fsGroup: fc.integer({ min: 1, max: 65535 }),
    runAsUser: fc.integer({ min: 1, max: 65535 }),
    runAsGroup: fc.integer({ min: 0, max: 65535 }),
    runAsNonRoot: fc.constant(true),
  },
  { requiredKeys: [] },
);

const podAnnotations = fc.record(
  {
    'vault-autounseal.io/interval': fc.constantFrom('500ms', '5s', '2m'),
    'vault-autounseal.io/log-level': fc.constantFrom('info', 'debug', 'warn'),
    'vault-autounseal.io/native-sidecar': fc.constantFrom('true', 'false'),
    'vault-autounseal.io/keys-secret': fc.constantFrom('k', 'keys-a,keys-b', 'a.b,c,d'),
    'vault-autounseal.io/paused': fc.constantFrom('true', 'false'),
    'vault-autounseal.io/inject': fc.constant('true'),
  },
  { requiredKeys: [] },
);

/** Pods that opt in validly and clash with nothing: every one must be injected. */
const injectablePod = fc
  .record({
    name: fc.option(dnsLabel, { nil: undefined }),
    labels: fc.option(fc.dictionary(dnsLabel, dnsLabel, { maxKeys: 3 }), { nil: undefined }),
    annotations: fc.option(
      fc.tuple(
        podAnnotations,
        fc.dictionary(keyToken, fc.string({ maxLength: 8 }), { maxKeys: 3 }),
      ),
      { nil: undefined },
    ),
    volumes: fc.option(fc.uniqueArray(dnsLabel, { maxLength: 4 }), { nil: undefined }),
    containers: containerNames,
    initContainers: fc.option(
      fc.uniqueArray(fc.constantFrom('init-a', 'init-b'), { maxLength: 2 }),
      { nil: undefined },
    ),
    securityContext: fc.option(securityContext, { nil: undefined }),
    caOnVolume: fc.boolean(),
    addr: fc.constantFrom(
      'https://127.0.0.1:8200',
      'http://127.0.0.1:8200',
      'https://$(HOSTNAME).vault-internal:8200',
    ),
  })
  .map((g): Json => {
    const volumes = g.volumes?.map((name) => ({ name, emptyDir: {} }));
    const caVolume = g.volumes?.[0];
    const env: Json[] = [
      { name: 'HOSTNAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'VAULT_ADDR', value: g.addr },
    ];
    const mounts: Json[] = [];
    if (g.caOnVolume && caVolume) {
      mounts.push({ name: caVolume, mountPath: `/vault/userconfig/${caVolume}` });
      env.push({ name: 'VAULT_CACERT', value: `/vault/userconfig/${caVolume}/ca.pem` });
    }
    const metadata: Json = {};
    if (g.name !== undefined) metadata['name'] = g.name;
    else metadata['generateName'] = 'vault-';
    if (g.labels !== undefined) metadata['labels'] = g.labels;
    if (g.annotations !== undefined)
      metadata['annotations'] = { ...g.annotations[1], ...g.annotations[0] };
    const spec: Json = {
      containers: g.containers.map((name, i) => ({
        name,
        image: `image-${name}`,
        ...(i === 0 ? { env, volumeMounts: mounts } : {}),
      })),
    };
    if (volumes !== undefined) spec['volumes'] = volumes;
    if (g.initContainers !== undefined)
      spec['initContainers'] = g.initContainers.map((name) => ({ name, image: 'busybox' }));
    if (g.securityContext !== undefined) spec['securityContext'] = g.securityContext;
    return { apiVersion: 'v1', kind: 'Pod', metadata, spec };
  });

const context: AdmissionContext = {
  ownNamespace: 'vault-autounseal-system',
  namespaceInjection: 'enabled',
  sidecar: testDefaults(),
};

function answer(pod: Json): Json {
  const result = reviewAdmission(reviewFor(pod, { namespace: 'vault' }), context);
  if (result.kind !== 'answer') throw new Error(result.message);
  return result.body.response;
}

describe('over generated pods', () => {
  it('every patch applies and validates, and reviewing the patched pod yields no patch', () => {
    fc.assert(
      fc.property(injectablePod, (pod) => {
        const original = structuredClone(pod);
        const first = answer(pod);
        expect(pod).toEqual(original); // the review never mutates its input
        expect(first['allowed'], JSON.stringify(first['status'])).toBe(true);
        expect(first['patchType']).toBe('JSONPatch');
        const patched = applyAndValidate(pod, first['patch']);
        expect(sidecarOf(patched)).toBeDefined();
        // Idempotent: the second review allows without a patch.
        const second = answer(patched);
        expect(second).toEqual({ uid: expect.any(String), allowed: true });
        // And only `add` operations, none of which replaces something that existed.
        for (const op of decodePatch(first['patch'])) expect(op.op).toBe('add');
      }),
      { numRuns: 300 },
    );
  });

  it('the patch keeps every original annotation, volume and container', () => {
    fc.assert(
      fc.property(injectablePod, (pod) => {
        const patched = applyAndValidate(pod, answer(pod)['patch']);
        expect(patched['metadata']['annotations']).toMatchObject(
          pod['metadata']['annotations'] ?? {},
        );
        expect(patched['spec']['volumes'].slice(0, pod['spec']['volumes']?.length ?? 0)).toEqual(
          pod['spec']['volumes'] ?? [],
        );
        expect(patched['spec']['containers'].slice(0, pod['spec']['containers'].length)).toEqual(
          pod['spec']['containers'],
        );
      }),
      { numRuns: 200 },
    );
  });
});
