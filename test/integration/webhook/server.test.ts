// The webhook over real HTTPS: every fixture is sent as the apiserver would send it, every patch
// is applied with rfc6902 and validated against the Kubernetes schema.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPatch } from 'rfc6902';
import { expectContractSidecar } from '../../fixtures/webhook/contract-checks.js';
import {
  POD_FIXTURES,
  POD_FIXTURE_NAMES,
  applyAndValidate,
  decodePatch,
  loadPod,
  reviewFor,
  reviewForFixture,
  testDefaults,
  type Json,
} from '../../fixtures/webhook/fixtures.js';
import { startWebhook, type RunningWebhook } from './support.js';

let webhook: RunningWebhook;

beforeAll(async () => {
  webhook = await startWebhook({ maxBodyBytes: 256 * 1024 });
});

afterAll(async () => {
  await webhook.close();
});

/** Sends a review, expects a well-formed 200 AdmissionReview that echoes the uid. */
async function admit(path: string, review: Json): Promise<Json> {
  const answer = await webhook.review(path, review);
  expect(answer.status, answer.text).toBe(200);
  expect(answer.json).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' });
  const response = answer.json!['response'];
  expect(response['uid']).toBe(review['request']['uid']);
  return response;
}

const KEYS_DIRS: Record<string, string[]> = {
  'vault-init-containers': [
    '/vault/unseal-keys/unseal-keys-ops',
    '/vault/unseal-keys/unseal-keys-security',
  ],
};
const VAULT_CONTAINER: Record<string, string> = { 'openbao-0': 'openbao' };

async function expectServing(): Promise<void> {
  const response = await admit('/mutate', reviewForFixture('vault-0'));
  expect(response['allowed']).toBe(true);
}

describe('POST /mutate over HTTPS', () => {
  describe.each(POD_FIXTURE_NAMES)('the %s fixture', (name) => {
    it.each([
      ['as a native sidecar', true],
      ['as a regular container', false],
    ])(
      'is injected %s: the patch applies, validates and carries the contract',
      async (_mode, native) => {
        const review = reviewForFixture(name);
        // The per-pod switch; the default (native) comes from configuration.
        const pod = review['request']['object'];
        pod['metadata']['annotations'] = {
          ...pod['metadata']['annotations'],
          'vault-autounseal.io/native-sidecar': String(native),
        };
        const original = structuredClone(pod);
        const response = await admit(POD_FIXTURES[name].path, review);
        expect(response['allowed'], JSON.stringify(response['status'])).toBe(true);
        expect(response['patchType']).toBe('JSONPatch');
        const patched = applyAndValidate(original, response['patch']);
        expectContractSidecar(original, patched, {
          native,
          image: testDefaults().image,
          vaultContainer: VAULT_CONTAINER[name] ?? 'vault',
          keysDirs: KEYS_DIRS[name] ?? ['/vault/unseal-keys'],
        });

        // Idempotency: the patched pod, reviewed again, gets no patch.
        const again = await admit(
          POD_FIXTURES[name].path,
          reviewFor(patched, { namespace: POD_FIXTURES[name].namespace }),
        );
        expect(again).toEqual({ uid: expect.any(String), allowed: true });
      },
    );

    it('gets the same answer for a dry-run request', async () => {
      const normal = await admit(POD_FIXTURES[name].path, reviewForFixture(name));
      const dryReview = reviewForFixture(name, { dryRun: true });
      const dry = await admit(POD_FIXTURES[name].path, dryReview);
      expect({ ...dry, uid: '' }).toEqual({ ...normal, uid: '' });
    });
  });

  it('serves the official chart review byte for byte as the apiserver sends it', async () => {
    const response = await admit('/mutate', reviewForFixture('vault-0'));
    expect(response['allowed']).toBe(true);
    expect(decodePatch(response['patch']).map((op) => op.path)).toEqual([
      '/metadata/annotations',
      // The injected-pod label, into the chart's existing labels map.
      '/metadata/labels/vault-autounseal.io~1injected',
      // Keys, pod info, and the empty directory over the ServiceAccount token's path.
      '/spec/volumes/-',
      '/spec/volumes/-',
      '/spec/volumes/-',
      '/spec/initContainers',
    ]);
  });

  it('denies an invalid opt-in value with a message naming the key and the accepted values', async () => {
    const pod = loadPod('bare');
    pod['metadata']['annotations'] = { 'vault-autounseal.io/inject': 'enable' };
    const response = await admit('/mutate', reviewFor(pod));
    expect(response['allowed']).toBe(false);
    expect(response['status']).toEqual({
      code: 400,
      message:
        'vault-autounseal: pod annotation vault-autounseal.io/inject is "enable"; accepted values: "true" or "false"',
    });
  });

  it('denies every pod that arrives through the invalid-namespace-label entry', async () => {
    const response = await admit('/mutate/namespace-invalid', reviewForFixture('openbao-0'));
    expect(response['allowed']).toBe(false);
    expect(response['status']['message']).toContain(
      'vault-autounseal.io/injection must be "enabled" or "disabled"',
    );
  });

  it('leaves a pod in the webhook namespace alone, whatever it asks', async () => {
    const pod = loadPod('bare');
    pod['metadata']['labels'] = { 'vault-autounseal.io/inject': 'true' };
    const response = await admit(
      '/mutate/namespace-enabled',
      reviewFor(pod, { namespace: 'vault-autounseal-system' }),
    );
    expect(response).toEqual({
      uid: expect.any(String),
      allowed: true,
      warnings: ["vault-autounseal: sidecar not injected: it is the webhook's own namespace"],
    });
  });

  describe('allows without a patch', () => {
    it.each(['UPDATE', 'DELETE', 'CONNECT'])('a pod %s', async (operation) => {
      const response = await admit('/mutate', reviewFor(loadPod('generate-name'), { operation }));
      expect(response).toEqual({ uid: expect.any(String), allowed: true });
    });

    it.each([
      [
        'a Deployment',
        { group: 'apps', version: 'v1', kind: 'Deployment' },
        { group: 'apps', version: 'v1', resource: 'deployments' },
      ],
      [
        'a Secret',
        { group: '', version: 'v1', kind: 'Secret' },
        { group: '', version: 'v1', resource: 'secrets' },
      ],
    ])('%s', async (_what, kind, resource) => {
      const review = reviewFor({
        apiVersion: 'v1',
        kind: kind.kind,
        metadata: { name: 'x' },
        spec: {},
      });
      review['request']['kind'] = kind;
      review['request']['resource'] = resource;
      const response = await admit('/mutate/namespace-enabled', review);
      expect(response).toEqual({ uid: expect.any(String), allowed: true });
    });
  });

  describe('malformed input gets 400 or 413 with a message, and the server keeps serving', () => {
    const valid = (): Json => reviewForFixture('vault-0');
    it.each<[string, () => string | Buffer, number, string]>([
      ['not JSON', () => '{"apiVersion": "admission.k8s.io/v1", "kind": ', 400, 'not valid JSON'],
      ['binary garbage', () => Buffer.from([0xff, 0xfe, 0x00, 0x81, 0x7b]), 400, 'not valid JSON'],
      ['an empty body', () => '', 400, 'must be a JSON object'],
      ['a JSON string', () => '"AdmissionReview"', 400, 'must be a JSON object'],
      [
        'the wrong apiVersion',
        () => JSON.stringify({ ...valid(), apiVersion: 'admission.k8s.io/v1beta1' }),
        400,
        'admission.k8s.io/v1',
      ],
      [
        'no uid',
        () => {
          const review = valid();
          delete review['request']['uid'];
          return JSON.stringify(review);
        },
        400,
        'request.uid',
      ],
      [
        'an oversized body',
        () => JSON.stringify({ ...valid(), padding: 'x'.repeat(300 * 1024) }),
        413,
        'larger than 262144 bytes',
      ],
    ])('%s', async (_what, body, status, message) => {
      const answer = await webhook.post('/mutate', body());
      expect(answer.status).toBe(status);
      expect(answer.json?.['message']).toContain(message);
      await expectServing();
    });

    it('a body sent as text/plain is still parsed, not refused as a media type', async () => {
      const answer = await webhook.post('/mutate', JSON.stringify(valid()), 'text/plain');
      expect(answer.status).toBe(200);
    });

    it('an unknown path is a 404', async () => {
      const answer = await webhook.post('/mutate/namespace-disabled', JSON.stringify(valid()));
      expect(answer.status).toBe(404);
      await expectServing();
    });
  });
});

// ---- Fuzzing -------------------------------------------------------------------------------

/** mulberry32: a small seeded PRNG, so a failing run can be replayed with its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every path to a value inside a JSON document. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const here = [prefix];
  if (Array.isArray(value)) return [...here, ...value.flatMap((v, i) => paths(v, [...prefix, i]))];
  if (value && typeof value === 'object') {
    return [...here, ...Object.entries(value).flatMap(([k, v]) => paths(v, [...prefix, k]))];
  }
  return here;
}

const WEIRD_VALUES: unknown[] = [
  null,
  0,
  -1,
  1e308,
  true,
  false,
  '',
  'true',
  'yes',
  '🔑',
  '$(HOSTNAME)',
  '/',
  '~1',
  [],
  [null],
  {},
  { a: 1 },
  'x'.repeat(5000),
  [1, 'two', { three: 3 }],
  JSON.parse('{"__proto__": {"polluted": true}}'),
  '\u0000',
  8210,
];

function mutate(review: Json, random: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const copy = structuredClone(review);
  const rounds = 1 + Math.floor(random() * 3);
  for (let r = 0; r < rounds; r++) {
    const path = pick(paths(copy).filter((p) => p.length > 0));
    const key = path[path.length - 1]!;
    let parent: any = copy;
    for (const step of path.slice(0, -1)) parent = parent[step];
    const action = random();
    if (action < 0.3) {
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key];
    } else if (action < 0.8) {
      parent[key] = structuredClone(pick(WEIRD_VALUES));
    } else if (action < 0.9 && parent && typeof parent === 'object' && !Array.isArray(parent)) {
      // Our own keys with odd values.
      const target = copy['request']?.['object']?.['metadata'];
      if (target && typeof target === 'object') {
        const map = (target['annotations'] =
          typeof target['annotations'] === 'object' && target['annotations']
            ? target['annotations']
            : {});
        map[
          pick([
            'vault-autounseal.io/inject',
            'vault-autounseal.io/keys-secret',
            'vault-autounseal.io/interval',
            'vault-autounseal.io/vault-container',
            'vault-autounseal.io/native-sidecar',
          ])
        ] = String(pick(WEIRD_VALUES));
      }
    } else {
      parent[key] = { nested: parent[key] };
    }
  }
  const text = JSON.stringify(copy);
  // Now and then, damage the bytes themselves.
  if (random() < 0.05) return text.slice(0, Math.floor(random() * text.length));
  return text;
}

describe('fuzzing', () => {
  it('5,000 random mutations of the fixtures always get a well-formed answer', async () => {
    const seed = Number(process.env['FUZZ_SEED'] ?? 20261122);
    const random = prng(seed);
    const reviews = POD_FIXTURE_NAMES.map((name) => ({ name, review: reviewForFixture(name) }));
    const tally = new Map<string, number>();
    const RUNS = 5_000;
    const CONCURRENCY = 8;
    let next = 0;
    // Generated up front, in order, so a seed always yields the same 5,000 bodies.
    const bodies = Array.from({ length: RUNS }, (_, run) => {
      const { name, review } = reviews[run % reviews.length]!;
      return { path: POD_FIXTURES[name].path, body: mutate(review, random) };
    });
    // Generating the bodies blocks the event loop for seconds, past the server's keep-alive
    // timeout, with no timer run: a keep-alive connection left by the tests before would be reused
    // just as the server closes it (read ECONNRESET on the first request, seen in CI). New ones.
    webhook.dropIdleConnections();
    const worker = async (): Promise<void> => {
      while (next < RUNS) {
        const run = next++;
        const { path, body } = bodies[run]!;
        const answer = await webhook.post(path, body);
        const context = `seed ${seed} run ${run}: ${body.slice(0, 300)}`;
        expect([200, 400, 413], context).toContain(answer.status);
        expect(answer.json, context).toBeDefined();
        if (answer.status !== 200) {
          expect(typeof answer.json!['message'], context).toBe('string');
          tally.set(String(answer.status), (tally.get(String(answer.status)) ?? 0) + 1);
          continue;
        }
        const sent = JSON.parse(body) as Json;
        const response = answer.json!['response'];
        expect(answer.json!['apiVersion'], context).toBe('admission.k8s.io/v1');
        expect(response['uid'], context).toBe(sent['request']['uid']);
        expect(typeof response['allowed'], context).toBe('boolean');
        expect('patch' in response, context).toBe('patchType' in response);
        if (!response['allowed']) {
          expect(typeof response['status']['message'], context).toBe('string');
          expect(response['status']['message'].length, context).toBeGreaterThan(0);
        }
        for (const warning of response['warnings'] ?? [])
          expect(warning.length, context).toBeLessThanOrEqual(120);
        if (response['patch']) {
          // Whatever the pod looked like, the patch applies to it.
          const target = structuredClone(sent['request']['object']);
          const errors = applyPatch(target, decodePatch(response['patch']));
          expect(errors.filter(Boolean), context).toEqual([]);
        }
        const label = response['patch'] ? 'patched' : response['allowed'] ? 'allowed' : 'denied';
        tally.set(label, (tally.get(label) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    // The mutations exercise every kind of answer, not just one.
    for (const kind of ['patched', 'allowed', 'denied', '400'])
      expect(tally.get(kind) ?? 0, kind).toBeGreaterThan(0);
    expect([...tally.values()].reduce((a, b) => a + b, 0)).toBe(RUNS);
    await expectServing();
  });
});

describe('the ops port', () => {
  it('answers /healthz and /readyz', async () => {
    expect((await webhook.ops('/healthz')).status).toBe(200);
    expect((await webhook.ops('/readyz')).status).toBe(200);
  });

  it('exposes the contract metrics with result and reason', async () => {
    await admit('/mutate', reviewForFixture('vault-0'));
    const { text } = await webhook.ops('/metrics');
    expect(text).toMatch(
      /vault_autounseal_webhook_admissions_total\{result="injected",reason="pod-label"\} [1-9]/,
    );
    expect(text).toMatch(
      /vault_autounseal_webhook_admissions_total\{result="error",reason="bad-request"\} [1-9]/,
    );
    expect(text).toMatch(
      /vault_autounseal_webhook_admissions_total\{result="error",reason="body-too-large"\} [1-9]/,
    );
    expect(text).toMatch(/vault_autounseal_webhook_admission_duration_seconds_count [1-9]/);
    expect(text).toMatch(/vault_autounseal_webhook_tls_cert_expiry_timestamp_seconds/);
    expect(text).toMatch(/process_cpu_seconds_total/);
  });

  it('logs one JSON line per injection with the uid and the reason', () => {
    const injected = webhook.logs.filter(
      (l) => l['msg'] === 'admission' && l['result'] === 'injected',
    );
    expect(injected.length).toBeGreaterThan(0);
    expect(injected[0]).toMatchObject({
      uid: expect.any(String),
      reason: expect.any(String),
      namespace: expect.any(String),
    });
  });
});
