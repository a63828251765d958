// Opted-in pods whose sidecar could not work as written, over real HTTPS: each is denied with a
// message saying what to change, derived so that it works, or admitted with a warning, never
// admitted in silence. Every patch is applied with rfc6902 and validated.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyAndValidate,
  envOf,
  loadPod,
  reviewFor,
  sidecarOf,
  type Json,
} from '../../fixtures/webhook/fixtures.js';
import { formatDuration } from '../../../common/duration.js';
import { SIDECAR_DURATION_RANGES } from '../../../common/sidecar-durations.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSidecarToExit, startSidecar } from '../../harness/sidecar-process.js';
import { startWebhook, type RunningWebhook } from './support.js';

let webhook: RunningWebhook;

beforeAll(async () => {
  webhook = await startWebhook();
});

afterAll(async () => {
  await webhook.close();
});

async function admit(pod: Json): Promise<Json> {
  const review = reviewFor(pod, { namespace: 'vault' });
  const answer = await webhook.review('/mutate', review);
  expect(answer.status, answer.text).toBe(200);
  const response = answer.json!['response'];
  expect(response['uid']).toBe(review['request']['uid']);
  return response;
}

/** The bare fixture pod, opted in by label, with the fsGroup the charts set (no warning about it). */
function optedIn(): Json {
  const pod = loadPod('bare');
  pod['metadata']['labels'] = { 'vault-autounseal.io/inject': 'true' };
  pod['spec']['securityContext'] = { fsGroup: 1000 };
  return pod;
}

function vaultContainer(pod: Json): Json {
  return pod['spec']['containers'][0];
}

describe('a Vault container that sets VAULT_ADDR only through envFrom', () => {
  it('gives the sidecar that one key of each source, optional, not the whole source', async () => {
    const pod = optedIn();
    vaultContainer(pod)['envFrom'] = [
      { configMapRef: { name: 'vault-env' } },
      { prefix: 'VAULT_', secretRef: { name: 'vault-endpoint' } },
    ];
    const original = structuredClone(pod);
    const response = await admit(pod);
    expect(response['allowed'], JSON.stringify(response['status'])).toBe(true);
    const patched = applyAndValidate(original, response['patch']);
    const sidecar = sidecarOf(patched)!;
    expect(sidecar).not.toHaveProperty('envFrom');
    // Source order, as envFrom resolves it: the last source holding the key wins, and an absent
    // key or object leaves the variable unset (optional), exactly as in the Vault container.
    expect(sidecar['env'].filter((e: Json) => e['name'] === 'VAULT_ADDR')).toEqual([
      {
        name: 'VAULT_ADDR',
        valueFrom: { configMapKeyRef: { name: 'vault-env', key: 'VAULT_ADDR', optional: true } },
      },
      {
        name: 'VAULT_ADDR',
        valueFrom: { secretKeyRef: { name: 'vault-endpoint', key: 'ADDR', optional: true } },
      },
    ]);
    expect(envOf(sidecar)['BAO_ADDR']).toEqual({
      name: 'BAO_ADDR',
      valueFrom: { configMapKeyRef: { name: 'vault-env', key: 'BAO_ADDR', optional: true } },
    });
    // Files are not derived: their volume is unknown, and the warning says what to do.
    expect(envOf(sidecar)).not.toHaveProperty('VAULT_CACERT');
    expect(response['warnings']).toEqual([
      expect.stringMatching(/^vault-autounseal: .*envFrom.*VAULT_CACERT.*set it in env$/),
    ]);
  });

  it('copies an explicit VAULT_ADDR instead, since env wins over envFrom', async () => {
    const pod = optedIn();
    vaultContainer(pod)['envFrom'] = [{ configMapRef: { name: 'vault-env' } }];
    vaultContainer(pod)['env'] = [{ name: 'VAULT_ADDR', value: 'http://127.0.0.1:8200' }];
    const original = structuredClone(pod);
    const response = await admit(pod);
    const sidecar = sidecarOf(applyAndValidate(original, response['patch']))!;
    expect(sidecar['env'].filter((e: Json) => e['name'] === 'VAULT_ADDR')).toEqual([
      { name: 'VAULT_ADDR', value: 'http://127.0.0.1:8200' },
    ]);
  });
});

describe('a CA file that is on no volume of the Vault container', () => {
  it('is denied, naming the variable and what to change', async () => {
    const pod = optedIn();
    vaultContainer(pod)['env'] = [
      { name: 'VAULT_ADDR', value: 'https://127.0.0.1:8200' },
      { name: 'VAULT_CACERT', value: '/etc/ssl/vault/ca.pem' },
    ];
    const response = await admit(pod);
    expect(response['allowed']).toBe(false);
    expect(response).not.toHaveProperty('patch');
    expect(response['status']['code']).toBe(400);
    expect(response['status']['message']).toBe(
      'vault-autounseal: VAULT_CACERT (/etc/ssl/vault/ca.pem) is on no volume of container vault, ' +
        'so the sidecar cannot read it and would exit at start; mount that file from a volume ' +
        '(a Secret or ConfigMap) in the Vault container',
    );
  });
});

describe('a pod on the host network', () => {
  it('is injected with a warning that the status port listens on the node', async () => {
    const pod = optedIn();
    pod['spec']['hostNetwork'] = true;
    const original = structuredClone(pod);
    const response = await admit(pod);
    expect(response['allowed']).toBe(true);
    applyAndValidate(original, response['patch']);
    expect(response['warnings']).toEqual([
      "vault-autounseal: hostNetwork: the sidecar's /status and /metrics (port 8210) listen on the node",
    ]);
  });
});

describe('a pod with only one of the two marks of an injection', () => {
  it('with the status annotation but no sidecar container is injected, and told so', async () => {
    const pod = optedIn();
    pod['metadata']['annotations'] = { 'vault-autounseal.io/status': 'injected' };
    const original = structuredClone(pod);
    const response = await admit(pod);
    expect(response['allowed']).toBe(true);
    const patched = applyAndValidate(original, response['patch']);
    expect(sidecarOf(patched)).toBeDefined();
    expect(patched['metadata']['annotations']).toEqual({
      'vault-autounseal.io/status': 'injected',
    });
    expect(response['warnings']).toEqual([
      'vault-autounseal: vault-autounseal.io/status was "injected" without the sidecar container: injected now',
    ]);
  });

  it('with a container of its own named vault-autounseal is left alone, and told so', async () => {
    const pod = optedIn();
    pod['spec']['containers'].push({ name: 'vault-autounseal', image: 'example/unsealer:1' });
    const response = await admit(pod);
    expect(response).toEqual({
      uid: expect.any(String),
      allowed: true,
      warnings: [
        'vault-autounseal: sidecar not injected: the pod already has a container named vault-autounseal',
      ],
    });
  });
});

describe('the interval annotation', () => {
  const { minMs, maxMs } = SIDECAR_DURATION_RANGES.UNSEAL_INTERVAL;
  const accepted = `a duration from ${formatDuration(minMs)} to ${formatDuration(maxMs)} (such as 500ms, 5s or 2m)`;
  it.each([
    // Each row: the value, and what the denial says about it.
    ['720h', `is out of range: ${accepted}`], // above 1 h a restart goes unseen; 2^31 ms: hot loop
    ['1ms', `is out of range: ${accepted}`], // a busy loop against Vault
    ['5', `is not ${accepted}`], // seconds or milliseconds? never guessed
  ])('%s is denied, stating the accepted range', async (value, says) => {
    const pod = optedIn();
    pod['metadata']['annotations'] = { 'vault-autounseal.io/interval': value };
    const response = await admit(pod);
    expect(response['allowed']).toBe(false);
    expect(response['status']['message']).toBe(
      `vault-autounseal: annotation vault-autounseal.io/interval "${value}" ${says}`,
    );
  });

  it('accepts a value inside the range and passes it on as UNSEAL_INTERVAL', async () => {
    const pod = optedIn();
    pod['metadata']['annotations'] = { 'vault-autounseal.io/interval': '30s' };
    const original = structuredClone(pod);
    const response = await admit(pod);
    const sidecar = sidecarOf(applyAndValidate(original, response['patch']))!;
    expect(envOf(sidecar)['UNSEAL_INTERVAL']).toEqual({ name: 'UNSEAL_INTERVAL', value: '30s' });
  });
});

describe('denials about a pod with 1,000 containers stay short', () => {
  function manyContainers(count: number): Json {
    const pod = optedIn();
    pod['spec']['containers'] = Array.from({ length: count }, (_, i) => ({
      name: `worker-${String(i).padStart(4, '0')}`,
      image: 'busybox',
      ports: [{ containerPort: 8210 }],
    }));
    return pod;
  }

  it('a bad vault-container annotation lists the first few names and counts the rest', async () => {
    const pod = manyContainers(1000);
    pod['metadata']['annotations'] = { 'vault-autounseal.io/vault-container': 'server' };
    const response = await admit(pod);
    expect(response['allowed']).toBe(false);
    const message: string = response['status']['message'];
    expect(message).toBe(
      'vault-autounseal: annotation vault-autounseal.io/vault-container is "server"; accepted: ' +
        'the name of a container of this pod (worker-0000, worker-0001, worker-0002, ' +
        'worker-0003, worker-0004 and 995 more)',
    );
  });

  it('containers clashing with the sidecar port are named a few at a time, with a count', async () => {
    const response = await admit(manyContainers(1000));
    expect(response['allowed']).toBe(false);
    const message: string = response['status']['message'];
    expect(message).toContain('worker-0004 and 995 more already use port 8210');
    expect(message.length).toBeLessThan(400);
  });

  it('container names of any length are clipped', async () => {
    const pod = manyContainers(3);
    pod['spec']['containers'][1]['name'] = 'x'.repeat(100_000);
    pod['metadata']['annotations'] = { 'vault-autounseal.io/vault-container': 'y'.repeat(100_000) };
    const response = await admit(pod);
    expect(response['allowed']).toBe(false);
    expect(response['status']['message'].length).toBeLessThan(600);
  });
});

describe('values the sidecar would refuse (issue 21, item 10): the webhook judges as the real sidecar does', () => {
  // Each row: the Vault container's variable, and whether the pod is admitted. Then the real built
  // sidecar is run with that same value: an admitted value must let it start, a denied one must
  // make it exit 2. So "admitted" never means "crash-loops beside Vault".
  it.each<[name: string, value: string, admitted: boolean, says: string]>([
    // Go's boolean forms, which both CLIs accept (the old sidecar exited 2 on them).
    ['VAULT_SKIP_VERIFY', 't', true, ''],
    ['BAO_SKIP_VERIFY', 'True', true, ''],
    ['VAULT_SKIP_VERIFY', 'maybe', false, 'VAULT_SKIP_VERIFY is "maybe"; accepted: true or false'],
    ['VAULT_ADDR', 'unix:///vault/vault.sock', false, 'is a unix socket'],
    [
      'BAO_ADDR',
      'vault:8200',
      false,
      'BAO_ADDR "vault:8200" is not an http:// or https:// address',
    ],
    ['VAULT_CAPATH', '/etc/ssl/certs', false, 'use VAULT_CACERT with a bundle'],
    // Valid, but another pod's server may answer: admitted with a warning.
    ['VAULT_ADDR', 'http://vault.vault.svc:8200', true, 'is not loopback'],
  ])('%s=%j: admitted %s, and the sidecar agrees', async (name, value, admitted, says) => {
    const pod = optedIn();
    vaultContainer(pod)['env'] = [{ name, value }];
    const response = await admit(pod);
    expect(response['allowed'], JSON.stringify(response)).toBe(admitted);
    const text = admitted
      ? String(response['warnings'] ?? '')
      : String(response['status']['message']);
    expect(text).toContain(says);
    if (!admitted) expect(text).toContain(`container vault: ${name}`);

    const keys = mkdtempSync(join(tmpdir(), 'vau-judge-'));
    try {
      const env = { VAULT_ADDR: 'http://127.0.0.1:1', UNSEAL_KEYS_DIR: keys, [name]: value };
      if (admitted) {
        const sidecar = await startSidecar(env);
        expect(await sidecar.stop()).toBe(0);
      } else {
        const run = await runSidecarToExit(env);
        expect(run.code, run.stderr).toBe(2);
        expect(run.stderr).toContain(name);
      }
    } finally {
      rmSync(keys, { recursive: true, force: true });
    }
  });
});

describe('shareProcessNamespace (issue 21, item 11)', () => {
  it('is denied without the opt-in, and admitted with a warning with it', async () => {
    const pod = optedIn();
    pod['spec']['shareProcessNamespace'] = true;
    const denied = await admit(structuredClone(pod));
    expect(denied['allowed']).toBe(false);
    expect(denied['status']['message']).toContain(
      'vault-autounseal.io/allow-share-process-namespace: "true"',
    );
    pod['metadata']['annotations'] = {
      'vault-autounseal.io/allow-share-process-namespace': 'true',
    };
    const original = structuredClone(pod);
    const allowed = await admit(pod);
    expect(allowed['allowed']).toBe(true);
    applyAndValidate(original, allowed['patch']);
    expect(allowed['warnings']).toEqual([
      "vault-autounseal: shareProcessNamespace: containers with the sidecar's uid can read its memory, shares included",
    ]);
  });
});
