// The whole pure pipeline on the real fixtures: AdmissionReview in, patch out, patch applied with
// rfc6902, result validated against the Kubernetes schema and checked against the contract.
import { describe, expect, it } from 'vitest';
import { reviewAdmission, type AdmissionContext } from '../../../webhook/admission.js';
import type { NamespaceInjection } from '../../../webhook/should-inject.js';
import type { SidecarDefaults } from '../../../webhook/sidecar-spec.js';
import { expectContractSidecar, keyFileAccess } from '../../fixtures/webhook/contract-checks.js';
import {
  POD_FIXTURES,
  POD_FIXTURE_NAMES,
  applyAndValidate,
  envOf,
  loadPod,
  reviewFor,
  reviewForFixture,
  sidecarOf,
  testDefaults,
  type Json,
  type PodFixtureName,
} from '../../fixtures/webhook/fixtures.js';

const OWN = 'vault-autounseal-system';

function context(path: string, sidecar: SidecarDefaults = testDefaults()): AdmissionContext {
  const injection: Record<string, NamespaceInjection> = {
    '/mutate': 'absent',
    '/mutate/namespace-enabled': 'enabled',
    '/mutate/namespace-invalid': 'invalid',
  };
  return { ownNamespace: OWN, namespaceInjection: injection[path] ?? 'absent', sidecar };
}

function answer(review: Json, ctx: AdmissionContext): Json {
  const result = reviewAdmission(review, ctx);
  if (result.kind !== 'answer') throw new Error(`expected an answer, got 400: ${result.message}`);
  return result.body.response;
}

/** Review a fixture, apply the patch, and return both pods. */
function inject(
  name: PodFixtureName,
  sidecar: SidecarDefaults = testDefaults(),
): { original: Json; patched: Json; response: Json } {
  const review = reviewForFixture(name);
  const original = structuredClone(review['request']['object']) as Json;
  const response = answer(review, context(POD_FIXTURES[name].path, sidecar));
  expect(response['allowed'], JSON.stringify(response['status'])).toBe(true);
  expect(response['patchType']).toBe('JSONPatch');
  return { original, patched: applyAndValidate(original, response['patch']), response };
}

const KEYS_DIRS: Record<PodFixtureName, string[]> = {
  'vault-0': ['/vault/unseal-keys'],
  'openbao-0': ['/vault/unseal-keys'],
  'vault-init-containers': [
    '/vault/unseal-keys/unseal-keys-ops',
    '/vault/unseal-keys/unseal-keys-security',
  ],
  bare: ['/vault/unseal-keys'],
  'generate-name': ['/vault/unseal-keys'],
};
const VAULT_CONTAINER: Record<PodFixtureName, string> = {
  'vault-0': 'vault',
  'openbao-0': 'openbao',
  'vault-init-containers': 'vault',
  bare: 'vault',
  'generate-name': 'vault',
};

describe.each(POD_FIXTURE_NAMES)('the %s fixture', (name) => {
  describe.each([
    ['as a native sidecar', true],
    ['as a regular container', false],
  ])('%s', (_mode, native) => {
    const defaults = testDefaults({ nativeSidecar: native });

    it('gets a patch that applies, validates and carries the contract', () => {
      const { original, patched } = inject(name, defaults);
      expectContractSidecar(original, patched, {
        native,
        image: defaults.image,
        vaultContainer: VAULT_CONTAINER[name],
        keysDirs: KEYS_DIRS[name],
      });
    });

    it('gets no second patch when the patched pod is reviewed again', () => {
      const { patched } = inject(name, defaults);
      const again = answer(
        reviewFor(patched, { namespace: POD_FIXTURES[name].namespace }),
        context(POD_FIXTURES[name].path, defaults),
      );
      expect(again).toEqual({ uid: expect.any(String), allowed: true });
    });
  });

  it('gets the same answer on a dry run', () => {
    const ctx = context(POD_FIXTURES[name].path);
    const normal = answer(reviewForFixture(name), ctx);
    const dry = reviewForFixture(name, { dryRun: true });
    expect(dry['request']['dryRun']).toBe(true);
    const dryAnswer = answer(dry, ctx);
    expect({ ...dryAnswer, uid: 'x' }).toEqual({ ...normal, uid: 'x' });
  });
});

describe('the official Vault chart pod (HA raft, TLS)', () => {
  it('echoes the uid of the review', () => {
    const review = reviewForFixture('vault-0');
    expect(answer(review, context('/mutate'))['uid']).toBe(review['request']['uid']);
  });

  it('copies VAULT_ADDR, VAULT_CACERT, VAULT_TLS_SERVER_NAME and the HOSTNAME it refers to', () => {
    const env = envOf(sidecarOf(inject('vault-0').patched)!);
    expect(env['VAULT_ADDR']).toEqual({ name: 'VAULT_ADDR', value: 'https://127.0.0.1:8200' });
    expect(env['VAULT_CACERT']).toEqual({
      name: 'VAULT_CACERT',
      value: '/vault/userconfig/vault-ha-tls/vault.ca',
    });
    expect(env['VAULT_TLS_SERVER_NAME']).toEqual({
      name: 'VAULT_TLS_SERVER_NAME',
      value: '$(HOSTNAME).vault-internal',
    });
    expect(env['HOSTNAME']).toEqual({
      name: 'HOSTNAME',
      valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } },
    });
    // Not the server's own TLS key or cluster settings: only what a client needs.
    expect(env).not.toHaveProperty('VAULT_TLSKEY');
    expect(env).not.toHaveProperty('VAULT_CLUSTER_ADDR');
  });

  it('mounts the CA volume read-only where the Vault container has it', () => {
    const sidecar = sidecarOf(inject('vault-0').patched)!;
    expect(sidecar['volumeMounts']).toContainEqual({
      name: 'userconfig-vault-ha-tls',
      mountPath: '/vault/userconfig/vault-ha-tls',
      readOnly: true,
    });
  });

  describe('under the chart securityContext (uid 100, gid 1000, fsGroup 1000)', () => {
    it('keeps the pod securityContext, and reads the 0440 key files through fsGroup', () => {
      const { patched } = inject('vault-0');
      const sidecar = sidecarOf(patched)!;
      // The pod-level identity is untouched: fsGroup 1000 makes the Secret files group 1000.
      expect(patched['spec']['securityContext']).toEqual({
        runAsUser: 100,
        runAsGroup: 1000,
        runAsNonRoot: true,
        fsGroup: 1000,
      });
      // The sidecar is its own non-root user, not Vault's uid 100.
      expect(sidecar['securityContext']).toMatchObject({ runAsUser: 65532, runAsGroup: 65532 });
      const keys = patched['spec']['volumes'].find(
        (v: Json) => v['name'] === 'vault-autounseal-keys',
      );
      expect(keys).toEqual({
        name: 'vault-autounseal-keys',
        secret: { secretName: 'vault-unseal-keys', defaultMode: 0o440, optional: true },
      });
      // Owner root, group fsGroup 1000, mode r--r-----; the process has group 1000: readable.
      expect(keyFileAccess(patched, sidecar, '/vault/unseal-keys')).toBe('group');
    });

    it('would not read them without the fsGroup: fsGroup is the field that makes it so', () => {
      const { patched } = inject('vault-0');
      delete patched['spec']['securityContext']['fsGroup'];
      // Files root:root r--r-----, process 65532:65532 with no supplementary group 0.
      expect(keyFileAccess(patched, sidecarOf(patched)!, '/vault/unseal-keys')).toBe('none');
    });

    it('inherits uid 100 and gid 1000 when configured to, and still reads through fsGroup', () => {
      const { patched } = inject(
        'vault-0',
        testDefaults({ runAsUser: undefined, runAsGroup: undefined }),
      );
      const sidecar = sidecarOf(patched)!;
      expect(sidecar['securityContext']).not.toHaveProperty('runAsUser');
      expect(sidecar['securityContext']).not.toHaveProperty('runAsGroup');
      expect(keyFileAccess(patched, sidecar, '/vault/unseal-keys')).toBe('group');
    });
  });
});

describe('the OpenBao chart pod', () => {
  it('copies BAO_ADDR and nothing TLS-related it does not have', () => {
    const env = envOf(sidecarOf(inject('openbao-0').patched)!);
    expect(env['BAO_ADDR']).toEqual({ name: 'BAO_ADDR', value: 'http://127.0.0.1:8200' });
    expect(env).not.toHaveProperty('VAULT_ADDR');
    expect(env).not.toHaveProperty('BAO_CACERT');
  });
});

describe('the pod with init containers, volumes and annotations', () => {
  it('appends the native sidecar after the existing init containers', () => {
    const { patched } = inject('vault-init-containers');
    expect(patched['spec']['initContainers'].map((c: Json) => c['name'])).toEqual([
      'fetch-plugins',
      'wait-for-dns',
      'vault-autounseal',
    ]);
  });

  it('mounts one volume per key Secret and passes the interval and log level', () => {
    const { patched } = inject('vault-init-containers');
    const sidecar = sidecarOf(patched)!;
    const env = envOf(sidecar);
    expect(env['UNSEAL_INTERVAL']?.['value']).toBe('10s');
    expect(env['LOG_LEVEL']?.['value']).toBe('debug');
    const volumes = patched['spec']['volumes'].filter((v: Json) =>
      String(v['name']).startsWith('vault-autounseal-keys'),
    );
    expect(volumes.map((v: Json) => [v['name'], v['secret']['secretName']])).toEqual([
      ['vault-autounseal-keys-1', 'unseal-keys-ops'],
      ['vault-autounseal-keys-2', 'unseal-keys-security'],
    ]);
  });
});

describe('the bare pod (no volumes, no annotations, no securityContext)', () => {
  it('creates the volumes array, the annotations and labels maps and the init containers array', () => {
    const review = reviewForFixture('bare');
    const response = answer(review, context('/mutate/namespace-enabled'));
    const ops = JSON.parse(Buffer.from(response['patch'], 'base64').toString());
    expect(ops.map((op: Json) => [op.op, op.path])).toEqual([
      ['add', '/metadata/annotations'],
      ['add', '/metadata/labels'],
      ['add', '/spec/volumes'],
      ['add', '/spec/initContainers'],
    ]);
  });

  it('without fsGroup, mounts the keys 0444 (this container only) and warns', () => {
    const { patched, response } = inject('bare');
    const keys = patched['spec']['volumes'].find(
      (v: Json) => v['name'] === 'vault-autounseal-keys',
    );
    expect(keys['secret']['defaultMode']).toBe(0o444);
    expect(keyFileAccess(patched, sidecarOf(patched)!, '/vault/unseal-keys')).toBe('other');
    expect(response['warnings']).toEqual([expect.stringContaining('fsGroup')]);
    for (const warning of response['warnings']) expect(warning.length).toBeLessThanOrEqual(120);
  });

  it('leaves VAULT_ADDR unset, so the sidecar default https://127.0.0.1:8200 applies', () => {
    const env = envOf(sidecarOf(inject('bare').patched)!);
    expect(env).not.toHaveProperty('VAULT_ADDR');
  });
});

describe('the generateName pod', () => {
  it('is injected although its name is empty', () => {
    const review = reviewForFixture('generate-name');
    expect(review['request']['name']).toBe('');
    expect(review['request']['object']['metadata']).not.toHaveProperty('name');
    const result = reviewAdmission(review, context('/mutate'));
    expect(result).toMatchObject({
      kind: 'answer',
      outcome: { result: 'injected', reason: 'pod-label' },
      log: { pod: 'vault-standalone-7d9f8c6b54-<generated>', namespace: 'vault-dev' },
    });
  });

  it('uses request.namespace when the object has none', () => {
    const pod = loadPod('generate-name');
    delete pod['metadata']['namespace'];
    const response = answer(
      reviewFor(pod, { namespace: 'vault-autounseal-system' }),
      context('/mutate'),
    );
    // The webhook's own namespace, known only from the request: never injected, and the pod,
    // which asked for the sidecar, is told why.
    expect(response).toEqual({
      uid: expect.any(String),
      allowed: true,
      warnings: ["vault-autounseal: sidecar not injected: it is the webhook's own namespace"],
    });
  });
});
