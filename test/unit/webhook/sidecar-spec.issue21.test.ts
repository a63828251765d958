// What the webhook no longer lets through (issue 21, items 9, 10, 11 and 17): the listener it
// injects, every copied value judged with the sidecar's own parsers, shareProcessNamespace, and
// the ServiceAccount token kept out of the sidecar.
import { describe, expect, it } from 'vitest';
import { reviewAdmission } from '../../../webhook/admission.js';
import { readPod } from '../../../webhook/pod.js';
import {
  buildSidecarSpec,
  type SidecarSpec,
  type SpecResult,
} from '../../../webhook/sidecar-spec.js';
import {
  applyAndValidate,
  reviewFor,
  sidecarOf,
  testDefaults,
  type Json,
} from '../../fixtures/webhook/fixtures.js';

const ALLOW_SPN = 'vault-autounseal.io/allow-share-process-namespace';

interface PodOptions {
  readonly env?: Json[];
  readonly envFrom?: Json[];
  readonly annotations?: Record<string, string>;
  readonly shareProcessNamespace?: unknown;
  readonly name?: string;
}

function podJson(options: PodOptions = {}): Json {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'vault-0', annotations: options.annotations ?? {} },
    spec: {
      containers: [
        {
          name: options.name ?? 'vault',
          image: 'hashicorp/vault:1.21.0',
          env: options.env ?? [{ name: 'VAULT_ADDR', value: 'https://127.0.0.1:8200' }],
          ...(options.envFrom ? { envFrom: options.envFrom } : {}),
        },
      ],
      ...('shareProcessNamespace' in options
        ? { shareProcessNamespace: options.shareProcessNamespace }
        : {}),
      securityContext: { fsGroup: 1000 },
    },
  };
}

function build(options: PodOptions = {}): SpecResult {
  return buildSidecarSpec(readPod(podJson(options), 'vault')!, testDefaults());
}

function spec(options: PodOptions = {}): SidecarSpec {
  const built = build(options);
  if (!built.ok) throw new Error(built.message);
  return built.spec;
}

function denial(options: PodOptions): { reason: string; message: string } {
  const built = build(options);
  if (built.ok) throw new Error('admitted');
  return { reason: built.reason, message: built.message };
}

const envValue = (s: SidecarSpec, name: string): unknown =>
  (s.container['env'] as Json[]).find((e) => e['name'] === name)?.['value'];

describe('item 9: the listener the webhook injects is dual-stack', () => {
  it('sets UNSEAL_HTTP_ADDR=[::]:8210, not 0.0.0.0:8210', () => {
    expect(envValue(spec(), 'UNSEAL_HTTP_ADDR')).toBe('[::]:8210');
  });
});

describe('item 10: every copied value is judged with the sidecar’s own parsers', () => {
  describe('VAULT_SKIP_VERIFY and its twin', () => {
    it.each([
      // Go's strconv.ParseBool forms, which both CLIs accept: copied, admitted.
      ['t'],
      ['T'],
      ['TRUE'],
      ['True'],
      ['f'],
      ['F'],
      ['1'],
      ['0'],
      // Empty means "verify", as in the sidecar.
      [''],
    ])('%j is admitted', (value) => {
      expect(build({ env: [{ name: 'VAULT_SKIP_VERIFY', value }] }).ok).toBe(true);
    });

    it.each([
      ['VAULT_SKIP_VERIFY', 'maybe'],
      ['BAO_SKIP_VERIFY', 'enabled'],
    ])(
      '%s=%j is denied, naming the container, the variable, the value and the forms',
      (name, value) => {
        expect(denial({ env: [{ name, value }], name: 'server' })).toEqual({
          reason: 'invalid-setting',
          message: `container server: ${name} is "${value}"; accepted: true or false (also 1/0, t/f, yes/no, on/off, in any case)`,
        });
      },
    );

    it('judges the value the sidecar will use: BAO_* wins, so a bad VAULT_* beside it is moot', () => {
      const env = [
        { name: 'VAULT_SKIP_VERIFY', value: 'maybe' },
        { name: 'BAO_SKIP_VERIFY', value: 'false' },
      ];
      expect(build({ env }).ok).toBe(true);
    });

    it('an empty BAO_* twin counts as unset, as in the sidecar: the VAULT_* one is judged', () => {
      const env = [
        { name: 'VAULT_SKIP_VERIFY', value: 'maybe' },
        { name: 'BAO_SKIP_VERIFY', value: '' },
      ];
      expect(denial({ env }).message).toContain('VAULT_SKIP_VERIFY is "maybe"');
    });

    it('a variable defined twice: the last definition is judged, as Kubernetes uses it', () => {
      const env = [
        { name: 'VAULT_SKIP_VERIFY', value: 'maybe' },
        { name: 'VAULT_SKIP_VERIFY', value: 'true' },
      ];
      expect(build({ env }).ok).toBe(true);
    });

    it.each([
      // Only the running pod knows these values: nothing to judge here.
      [{ name: 'VAULT_SKIP_VERIFY', valueFrom: { configMapKeyRef: { name: 'c', key: 'k' } } }],
      [{ name: 'VAULT_SKIP_VERIFY', value: '$(SKIP)' }],
    ])('%j is not judged', (entry) => {
      expect(build({ env: [entry] }).ok).toBe(true);
    });

    it('a BAO_* twin from valueFrom hides the VAULT_* value, as it would in the sidecar: not judged', () => {
      const env = [
        { name: 'VAULT_SKIP_VERIFY', value: 'maybe' },
        { name: 'BAO_SKIP_VERIFY', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
      ];
      expect(build({ env }).ok).toBe(true);
    });

    it('a BAO_* twin with no value at all is empty, so unset: the VAULT_* one is judged', () => {
      const env = [{ name: 'VAULT_SKIP_VERIFY', value: 'maybe' }, { name: 'BAO_SKIP_VERIFY' }];
      expect(denial({ env }).message).toBe(
        'container vault: VAULT_SKIP_VERIFY is "maybe"; accepted: true or false (also 1/0, t/f, yes/no, on/off, in any case)',
      );
    });

    it('a BAO_* twin only an envFrom source may hold hides the VAULT_* value: not judged', () => {
      const env = [{ name: 'VAULT_SKIP_VERIFY', value: 'maybe' }];
      const envFrom = [{ configMapRef: { name: 'bao' } }];
      expect(build({ env, envFrom }).ok).toBe(true);
    });

    it('clips a long value', () => {
      const value = 'x'.repeat(500);
      expect(denial({ env: [{ name: 'VAULT_SKIP_VERIFY', value }] }).message).toContain(
        `"${'x'.repeat(60)}..."`,
      );
    });
  });

  describe('VAULT_ADDR and its twin', () => {
    it('a unix:// address is denied with the reason', () => {
      expect(denial({ env: [{ name: 'VAULT_ADDR', value: 'unix:///vault/sock' }] })).toEqual({
        reason: 'invalid-setting',
        message:
          'container vault: VAULT_ADDR "unix:///vault/sock" is a unix socket, which the sidecar ' +
          'cannot use: it reaches its server over TCP only; accepted: an http:// or https:// ' +
          'address, such as https://127.0.0.1:8200',
      });
    });

    it.each([['vault:8200'], ['ftp://127.0.0.1:8200'], ['https://']])(
      '%j is denied: not an http(s) address',
      (value) => {
        expect(denial({ env: [{ name: 'BAO_ADDR', value }] }).message).toBe(
          `container vault: BAO_ADDR "${value}" is not an http:// or https:// address`,
        );
      },
    );

    it('never shows the credentials of a denied address, and clips it', () => {
      const value = `ftp://admin:hunter2@${'h'.repeat(300)}`;
      const { message } = denial({ env: [{ name: 'VAULT_ADDR', value }] });
      expect(message).not.toContain('hunter2');
      expect(message).toContain('"ftp://hhh');
      expect(message.length).toBeLessThan(200);
    });

    it.each([
      ['https://127.0.0.1:8200'],
      ['http://127.0.0.2:8200'],
      ['https://localhost:8200/'],
      ['https://[::1]:8200'],
      ['https://[::ffff:127.0.0.1]:8200'],
    ])('%s is loopback: admitted without a word', (value) => {
      expect(spec({ env: [{ name: 'VAULT_ADDR', value }] }).warnings).toEqual([]);
    });

    it.each([
      ['VAULT_ADDR', 'https://vault.vault.svc:8200', 'vault.vault.svc'],
      ['BAO_ADDR', 'http://10.1.2.3:8200', '10.1.2.3'],
      ['VAULT_ADDR', 'https://[fd00::1]:8200', '[fd00::1]'],
      // Clipped to 26 characters, so the warning fits kubectl's line; credentials never shown.
      [
        'VAULT_ADDR',
        'https://u:secret@vault-active.vault.svc.cluster.local:8200',
        'vault-active.vault.svc....',
      ],
    ])('%s=%s is admitted with a warning naming the host', (name, value, host) => {
      const { warnings } = spec({ env: [{ name, value }] });
      expect(warnings).toEqual([
        `${name} ${host} is not loopback: the sidecar may unseal another pod, not its own`,
      ]);
      expect(warnings.join()).not.toContain('secret');
    });

    it('a warning stays within the 120 characters kubectl prints, with the webhook’s prefix', () => {
      const value = `https://${'a'.repeat(60)}.example:8200`;
      const [warning] = spec({ env: [{ name: 'VAULT_ADDR', value }] }).warnings;
      expect(`vault-autounseal: ${warning}`.length).toBeLessThanOrEqual(120);
    });
  });

  describe('VAULT_CAPATH: refused, not dropped', () => {
    it.each([
      [{ name: 'VAULT_CAPATH', value: '/vault/cas' }],
      [{ name: 'BAO_CAPATH', value: ' /etc/ssl ' }],
      [{ name: 'VAULT_CAPATH', valueFrom: { configMapKeyRef: { name: 'c', key: 'k' } } }],
    ])('%j is denied with the reason', (entry) => {
      expect(denial({ env: [entry] })).toEqual({
        reason: 'invalid-setting',
        message:
          `container vault: ${String(entry.name)} is set: a directory of CA certificates is not ` +
          'supported; use VAULT_CACERT with a bundle (the CA files concatenated into one PEM file)',
      });
    });

    it.each([[''], ['  ']])('an empty value (%j) is unset, as in the sidecar', (value) => {
      expect(build({ env: [{ name: 'VAULT_CAPATH', value }] }).ok).toBe(true);
    });

    it('an entry with no value at all is unset too', () => {
      expect(build({ env: [{ name: 'VAULT_CAPATH' }] }).ok).toBe(true);
    });
  });

  it('lists every bad value at once', () => {
    const env = [
      { name: 'VAULT_ADDR', value: 'unix:///s' },
      { name: 'VAULT_SKIP_VERIFY', value: 'maybe' },
      { name: 'VAULT_CAPATH', value: '/cas' },
    ];
    expect(denial({ env }).message.split('; container vault: ')).toHaveLength(3);
  });
});

describe('item 11: shareProcessNamespace', () => {
  it('true is denied without the opt-in, saying why and how to opt in', () => {
    expect(denial({ shareProcessNamespace: true })).toEqual({
      reason: 'shared-process-namespace',
      message:
        "the pod sets shareProcessNamespace: true, so containers running as the sidecar's uid " +
        'could read its memory, unseal shares included; set it to false, or accept that with ' +
        `annotation ${ALLOW_SPN}: "true"`,
    });
  });

  it.each([
    [{ [ALLOW_SPN]: 'false' }],
    // The annotation is read only as "true": anything else is no opt-in.
    [{}],
  ])('true with %j is denied', (annotations) => {
    expect(denial({ shareProcessNamespace: true, annotations }).reason).toBe(
      'shared-process-namespace',
    );
  });

  it('true with the opt-in is admitted with a warning', () => {
    const built = spec({ shareProcessNamespace: true, annotations: { [ALLOW_SPN]: 'true' } });
    expect(built.warnings).toEqual([
      "shareProcessNamespace: containers with the sidecar's uid can read its memory, shares included",
    ]);
  });

  it.each([[false], ['true'], [undefined]])(
    'shareProcessNamespace %j (not the boolean true) needs nothing',
    (value) => {
      expect(spec({ shareProcessNamespace: value }).warnings).toEqual([]);
    },
  );

  it('the opt-in alone, on a pod that shares nothing, changes nothing', () => {
    expect(spec({ annotations: { [ALLOW_SPN]: 'true' } }).warnings).toEqual([]);
  });

  it.each([['yes'], ['True'], ['']])(
    'a typo in the opt-in (%j) is denied, naming the key and what it accepts',
    (value) => {
      expect(denial({ annotations: { [ALLOW_SPN]: value } })).toEqual({
        reason: 'invalid-annotation',
        message: `annotation ${ALLOW_SPN} is ${JSON.stringify(value)}; accepted values: "true" or "false"`,
      });
    },
  );
});

describe('item 17: the ServiceAccount token stays out of the sidecar', () => {
  const built = spec();

  it('mounts an empty, read-only, in-memory directory over the token’s path', () => {
    const mounts = built.container['volumeMounts'] as Json[];
    const mount = mounts.find(
      (m) => m['mountPath'] === '/var/run/secrets/kubernetes.io/serviceaccount',
    );
    expect(mount).toEqual({
      name: 'vault-autounseal-no-token',
      mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
      readOnly: true,
    });
    expect(built.volumes).toContainEqual({
      name: 'vault-autounseal-no-token',
      emptyDir: { medium: 'Memory', sizeLimit: '1Ki' },
    });
  });

  it('a pod that already has a volume of that name is denied as a clash', () => {
    const pod = podJson();
    pod['spec']['volumes'] = [{ name: 'vault-autounseal-no-token', emptyDir: {} }];
    const result = buildSidecarSpec(readPod(pod, 'vault')!, testDefaults());
    expect(result).toMatchObject({
      ok: false,
      reason: 'name-clash',
      message: 'the pod already has a volume named vault-autounseal-no-token',
    });
  });

  it('the patched pod validates, and the Vault container keeps its own mounts', () => {
    const pod = podJson();
    pod['metadata']['labels'] = { 'vault-autounseal.io/inject': 'true' };
    const result = reviewAdmission(reviewFor(pod), {
      ownNamespace: 'vault-autounseal-system',
      namespaceInjection: 'absent',
      sidecar: testDefaults(),
    });
    if (result.kind !== 'answer') throw new Error(result.message);
    const patched = applyAndValidate(pod, String(result.body.response.patch));
    expect(sidecarOf(patched)?.['volumeMounts']).toContainEqual(
      expect.objectContaining({ mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }),
    );
    expect(patched['spec']['containers'][0]['volumeMounts']).toBeUndefined();
  });
});

describe('through the AdmissionReview', () => {
  it('a non-loopback address is admitted with the warning, prefixed and in the log detail', () => {
    const pod = podJson({ env: [{ name: 'VAULT_ADDR', value: 'https://vault:8200' }] });
    pod['metadata']['labels'] = { 'vault-autounseal.io/inject': 'true' };
    const result = reviewAdmission(reviewFor(pod), {
      ownNamespace: 'vault-autounseal-system',
      namespaceInjection: 'absent',
      sidecar: testDefaults(),
    });
    if (result.kind !== 'answer') throw new Error(result.message);
    const warning =
      'vault-autounseal: VAULT_ADDR vault is not loopback: the sidecar may unseal another pod, not its own';
    expect(result.body.response.warnings).toEqual([warning]);
    expect(result.body.response.allowed).toBe(true);
    expect(result.detail).toBe(warning);
  });
});
