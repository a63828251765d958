// Rules of the sidecar spec that the mutation run (docs/mutation.md) showed no test held: each
// test here failed against at least one surviving mutant of webhook/sidecar-spec.ts.
import { describe, expect, it } from 'vitest';
import { readPod } from '../../../webhook/pod.js';
import {
  buildSidecarSpec,
  type SidecarDefaults,
  type SidecarSpec,
  type SpecResult,
} from '../../../webhook/sidecar-spec.js';
import { testDefaults, type Json } from '../../fixtures/webhook/fixtures.js';

const A = 'vault-autounseal.io/';

interface PodOptions {
  readonly containers?: Json[];
  readonly initContainers?: Json[];
  readonly annotations?: Record<string, string>;
  readonly volumes?: string[];
  readonly fsGroup?: number;
  readonly hostNetwork?: boolean;
}

/** A pod as the apiserver sends it, with the Vault chart's fsGroup unless told otherwise. */
function podJson(options: PodOptions = {}): Json {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'vault-0', annotations: options.annotations ?? {} },
    spec: {
      containers: options.containers ?? [vault()],
      ...(options.initContainers ? { initContainers: options.initContainers } : {}),
      volumes: (options.volumes ?? []).map((name) => ({ name, emptyDir: {} })),
      ...(options.hostNetwork ? { hostNetwork: true } : {}),
      securityContext: 'fsGroup' in options ? { fsGroup: options.fsGroup } : { fsGroup: 1000 },
    },
  };
}

function vault(overrides: Json = {}): Json {
  return {
    name: 'vault',
    image: 'hashicorp/vault:1.21.0',
    env: [{ name: 'VAULT_ADDR', value: 'https://127.0.0.1:8200' }],
    ...overrides,
  };
}

function build(options: PodOptions = {}, defaults: SidecarDefaults = testDefaults()): SpecResult {
  return buildSidecarSpec(readPod(podJson(options), 'vault')!, defaults);
}

function spec(options: PodOptions = {}, defaults: SidecarDefaults = testDefaults()): SidecarSpec {
  const built = build(options, defaults);
  if (!built.ok) throw new Error(built.message);
  return built.spec;
}

const envOf = (s: SidecarSpec): Json[] => s.container['env'] as Json[];
const mountsOf = (s: SidecarSpec): Json[] => s.container['volumeMounts'] as Json[];
/** The sidecar's own four variables, last in its env. */
const OWN_TAIL = 3;

describe('the variables the sidecar needs to find and trust its server', () => {
  const names = ['VAULT', 'BAO'].flatMap((p) =>
    ['ADDR', 'CACERT', 'TLS_SERVER_NAME', 'SKIP_VERIFY', 'CLIENT_CERT', 'CLIENT_KEY'].map(
      (n) => `${p}_${n}`,
    ),
  );
  const FILES = ['CACERT', 'CLIENT_CERT', 'CLIENT_KEY'];
  // Every file variable on its own volume, so each one's mount is seen to be copied.
  const env = names.map((name) => {
    const file = FILES.find((f) => name.endsWith(`_${f}`));
    const dir = `/tls/${name.toLowerCase()}`;
    // Values the sidecar accepts: the webhook refuses any it would not (issue 21, item 10).
    const valid: Record<string, string> = {
      VAULT_ADDR: 'https://127.0.0.1:8200',
      BAO_ADDR: 'https://localhost:8200',
      VAULT_SKIP_VERIFY: 'false',
      BAO_SKIP_VERIFY: '0',
    };
    return { name, value: file ? `${dir}/file.pem` : (valid[name] ?? `value-of-${name}`) };
  });
  const mounts = env
    .filter((e) => e.value.startsWith('/'))
    .map((e) => ({
      name: e.name.toLowerCase().replaceAll('_', '-'),
      mountPath: e.value.slice(0, -9),
    }));
  const built = spec({
    containers: [vault({ env: [{ name: 'OTHER', value: 'x' }, ...env], volumeMounts: mounts })],
    volumes: mounts.map((m) => m.name),
  });

  it('are copied, every one of the twelve, and nothing else', () => {
    expect(envOf(built).slice(0, -OWN_TAIL)).toEqual(env);
  });

  it('bring the volumes of the six file variables along, read-only', () => {
    // After the sidecar's own three: keys, pod info, and the one over the token's path.
    expect(mountsOf(built).slice(3)).toEqual(mounts.map((m) => ({ ...m, readOnly: true })));
    expect(built.warnings).toEqual([]);
  });
});

describe('a Vault container that gets its settings through envFrom', () => {
  const container = vault({
    env: [{ name: 'VAULT_ADDR', value: 'https://127.0.0.1:8200' }],
    envFrom: [
      { configMapRef: { name: 'vault-env' } },
      { secretRef: { name: 'bao-env' }, prefix: 'BAO_' },
      // A prefix that is a whole name leaves an empty key, which no ConfigMap can hold.
      { configMapRef: { name: 'odd' }, prefix: 'BAO_SKIP_VERIFY' },
    ],
  });
  const built = spec({ containers: [container] });
  const ref = (kind: string, name: string, key: string): Json => ({
    [kind]: { name, key, optional: true },
  });

  it('gets one optional reference per source that could hold each non-file variable', () => {
    expect(envOf(built).slice(0, -OWN_TAIL)).toEqual([
      // VAULT_ADDR is in env: copied, not derived. The file variables are never derived.
      {
        name: 'VAULT_TLS_SERVER_NAME',
        valueFrom: ref('configMapKeyRef', 'vault-env', 'VAULT_TLS_SERVER_NAME'),
      },
      {
        name: 'VAULT_SKIP_VERIFY',
        valueFrom: ref('configMapKeyRef', 'vault-env', 'VAULT_SKIP_VERIFY'),
      },
      { name: 'BAO_ADDR', valueFrom: ref('configMapKeyRef', 'vault-env', 'BAO_ADDR') },
      { name: 'BAO_ADDR', valueFrom: ref('secretKeyRef', 'bao-env', 'ADDR') },
      {
        name: 'BAO_TLS_SERVER_NAME',
        valueFrom: ref('configMapKeyRef', 'vault-env', 'BAO_TLS_SERVER_NAME'),
      },
      { name: 'BAO_TLS_SERVER_NAME', valueFrom: ref('secretKeyRef', 'bao-env', 'TLS_SERVER_NAME') },
      {
        name: 'BAO_SKIP_VERIFY',
        valueFrom: ref('configMapKeyRef', 'vault-env', 'BAO_SKIP_VERIFY'),
      },
      { name: 'BAO_SKIP_VERIFY', valueFrom: ref('secretKeyRef', 'bao-env', 'SKIP_VERIFY') },
      { name: 'VAULT_ADDR', value: 'https://127.0.0.1:8200' },
    ]);
  });

  it('is warned that a CA file set there is not copied', () => {
    expect(built.warnings).toEqual([
      'container vault uses envFrom: a VAULT_CACERT set there is not copied; set it in env',
    ]);
  });

  it.each([['VAULT_CACERT'], ['BAO_CACERT']])('is not warned when %s is in env', (name) => {
    const withCa = vault({
      env: [
        { name: 'VAULT_ADDR', value: 'https://127.0.0.1:8200' },
        { name, value: '/tls/ca.pem' },
      ],
      envFrom: [{ configMapRef: { name: 'vault-env' } }],
      volumeMounts: [{ name: 'tls', mountPath: '/tls' }],
    });
    expect(spec({ containers: [withCa], volumes: ['tls'] }).warnings).toEqual([]);
  });
});

describe('a variable that the first copied one references', () => {
  it('is derived from envFrom too, so the reference expands in the sidecar as in Vault', () => {
    // envFrom comes before env in Kubernetes' expansion order, so even env's first entry can
    // reference a variable that only an envFrom source defines.
    const container = vault({
      env: [{ name: 'VAULT_ADDR', value: 'https://$(VAULT_HOST):8200' }],
      envFrom: [{ configMapRef: { name: 'vault-env' } }],
    });
    const env = envOf(spec({ containers: [container] }));
    const names = env.map((e) => e['name']);
    expect(env.find((e) => e['name'] === 'VAULT_HOST')).toEqual({
      name: 'VAULT_HOST',
      valueFrom: { configMapKeyRef: { name: 'vault-env', key: 'VAULT_HOST', optional: true } },
    });
    expect(names.indexOf('VAULT_HOST')).toBeLessThan(names.indexOf('VAULT_ADDR'));
  });
});

describe('the sidecar’s own settings', () => {
  it('are never copied from the Vault container, even when a copied variable names them', () => {
    const own = ['UNSEAL_KEYS_DIR', 'UNSEAL_PODINFO_DIR', 'UNSEAL_HTTP_ADDR', 'UNSEAL_INTERVAL'];
    const env = [
      ...[...own, 'LOG_LEVEL'].map((name) => ({ name, value: `vault's ${name}` })),
      { name: 'VAULT_TLS_SERVER_NAME', value: own.map((n) => `$(${n})`).join('') + '$(LOG_LEVEL)' },
    ];
    const built = spec({
      containers: [vault({ env })],
      annotations: { [`${A}interval`]: '10s', [`${A}log-level`]: 'debug' },
    });
    const names = envOf(built).map((e) => e['name']);
    for (const name of [...own, 'LOG_LEVEL'])
      expect(names.filter((n) => n === name)).toHaveLength(1);
    expect(envOf(built).filter((e) => !String(e['value']).startsWith("vault's"))).toHaveLength(
      names.length,
    );
  });
});

describe('the pod’s annotations', () => {
  it.each([
    // The pod's annotation wins over the default, both ways.
    [false, 'true', true],
    [true, 'false', false],
    [true, undefined, true],
    [false, undefined, false],
  ])('native by default %s, annotation %s → native %s', (byDefault, annotation, native) => {
    const annotations = annotation === undefined ? {} : { [`${A}native-sidecar`]: annotation };
    const built = spec({ annotations }, testDefaults({ nativeSidecar: byDefault }));
    expect(built.native).toBe(native);
    expect(built.container['restartPolicy']).toBe(native ? 'Always' : undefined);
  });

  it('reads the key Secrets trimmed, and the interval trimmed', () => {
    const built = spec({
      annotations: { [`${A}keys-secret`]: 'keys-a , keys-b', [`${A}interval`]: ' 10s ' },
    });
    const byName = Object.fromEntries(envOf(built).map((e) => [e['name'], e['value']]));
    expect(byName['UNSEAL_KEYS_DIR']).toBe('/vault/unseal-keys/keys-a,/vault/unseal-keys/keys-b');
    expect(byName['UNSEAL_INTERVAL']).toBe('10s');
  });

  it.each([
    // Secret names are DNS subdomains, at most 253 characters.
    ['unseal.keys-1', true],
    ['a.b', true],
    ['k'.repeat(253), true],
    ['k'.repeat(254), false],
    ['keys-', false],
    ['-keys', false],
    ['keys.-x', false],
  ])('keys-secret %j is valid: %s', (name, valid) => {
    const built = build({ annotations: { [`${A}keys-secret`]: name } });
    expect(built.ok).toBe(valid);
  });

  it.each([
    [`${A}keys-secret`, 'Bad_Name'.repeat(20), 'annotation vault-autounseal.io/keys-secret is'],
    [`${A}native-sidecar`, 'Yes'.repeat(30), 'annotation vault-autounseal.io/native-sidecar is'],
    [`${A}log-level`, 'loud'.repeat(30), 'annotation vault-autounseal.io/log-level is'],
    [`${A}interval`, '5'.repeat(100), 'annotation vault-autounseal.io/interval "555'],
    [`${A}vault-container`, 'c'.repeat(100), 'annotation vault-autounseal.io/vault-container is'],
  ])('a bad %s is denied as an invalid annotation, the value clipped', (key, value, start) => {
    const built = build({ annotations: { [key]: value } });
    expect(built).toMatchObject({ ok: false, reason: 'invalid-annotation' });
    if (built.ok) return;
    expect(built.message.startsWith(start)).toBe(true);
    expect(built.message).not.toContain(value.slice(0, 90));
    expect(built.message.length).toBeLessThan(300);
  });
});

describe('which container is Vault', () => {
  const named = (name: string): Json =>
    vault({ name, env: [{ name: 'VAULT_ADDR', value: `http://${name}:8200` }] });
  const addrOf = (containers: Json[]): unknown =>
    envOf(spec({ containers })).find((e) => e['name'] === 'VAULT_ADDR')?.['value'];

  it.each([
    [['helper', 'vault', 'openbao'], 'http://vault:8200'],
    [['helper', 'openbao'], 'http://openbao:8200'],
    [['helper', 'other'], 'http://helper:8200'],
  ])('among %j: the one whose address is copied is %s', (names, addr) => {
    expect(addrOf(names.map(named))).toBe(addr);
  });

  it('none: denied, saying so', () => {
    expect(build({ containers: [] })).toEqual({
      ok: false,
      reason: 'no-vault-container',
      message: 'the pod has no containers',
    });
  });
});

describe('the CA and client certificate files', () => {
  it('a file mounted alone (subPath) brings that mount along', () => {
    const container = vault({
      env: [{ name: 'VAULT_CACERT', value: '/vault/ca.pem' }],
      volumeMounts: [{ name: 'tls', mountPath: '/vault/ca.pem', subPath: 'ca.pem' }],
    });
    expect(mountsOf(spec({ containers: [container], volumes: ['tls'] })).slice(3)).toEqual([
      { name: 'tls', mountPath: '/vault/ca.pem', readOnly: true, subPath: 'ca.pem' },
    ]);
  });

  it.each([
    // A path only the kubelet can expand, a value from elsewhere, or a relative path: warned.
    [{ name: 'VAULT_CACERT', value: '$(TLS_DIR)/ca.pem' }],
    [{ name: 'VAULT_CACERT', valueFrom: { configMapKeyRef: { name: 'c', key: 'k' } } }],
    [{ name: 'VAULT_CACERT', value: 'ca.pem' }],
  ])('%j is not a literal path: warned, nothing copied', (entry) => {
    const built = spec({ containers: [vault({ env: [entry] })] });
    expect(built.warnings).toEqual([
      'VAULT_CACERT is not a literal absolute path: its volume is not copied',
    ]);
    expect(mountsOf(built)).toHaveLength(3);
  });

  it('on no volume at all (baked into the Vault image): denied, the sidecar could not read it', () => {
    const built = build({
      containers: [vault({ env: [{ name: 'VAULT_CACERT', value: '/etc/ssl/ca.pem' }] })],
    });
    expect(built).toEqual({
      ok: false,
      reason: 'unreadable-file',
      message:
        'VAULT_CACERT (/etc/ssl/ca.pem) is on no volume of container vault, so the sidecar cannot ' +
        'read it and would exit at start; mount that file from a volume (a Secret or ConfigMap) in ' +
        'the Vault container',
    });
  });
});

describe('clashes with the sidecar’s own mounts and port', () => {
  it.each([
    // A Vault mount at, inside or above a key directory, or above the downward-API directory.
    // The sidecar would get two mounts at one path (the apiserver refuses the pod), or a mount
    // point inside a read-only Secret volume (the container cannot start).
    ['/vault/unseal-keys', {}],
    ['/vault/unseal-keys/tls', {}],
    ['/vault/unseal-keys/keys-a', { [`${A}keys-secret`]: 'keys-a,keys-b' }],
    ['/vault', {}],
    ['/etc/vault-autounseal', {}],
  ])('a copied mount at %s is denied', (mountPath, annotations) => {
    const container = vault({
      env: [{ name: 'VAULT_CACERT', value: `${mountPath}/ca.pem` }],
      volumeMounts: [{ name: 'tls', mountPath }],
    });
    expect(build({ containers: [container], volumes: ['tls'], annotations })).toEqual({
      ok: false,
      reason: 'name-clash',
      message: `the Vault container's mount ${mountPath} overlaps the sidecar's own mounts`,
    });
  });

  it('a copied mount beside the split-custody key directories is fine', () => {
    const container = vault({
      env: [{ name: 'VAULT_CACERT', value: '/vault/unseal-keys/tls/ca.pem' }],
      volumeMounts: [{ name: 'tls', mountPath: '/vault/unseal-keys/tls' }],
    });
    const annotations = { [`${A}keys-secret`]: 'keys-a,keys-b' };
    const built = spec({ containers: [container], volumes: ['tls'], annotations });
    expect(mountsOf(built).map((m) => m['mountPath'])).toEqual([
      '/vault/unseal-keys/keys-a',
      '/vault/unseal-keys/keys-b',
      '/etc/vault-autounseal/podinfo',
      '/var/run/secrets/kubernetes.io/serviceaccount',
      '/vault/unseal-keys/tls',
    ]);
  });

  const onPort = (name: string): Json => ({ name, image: 'x', ports: [{ containerPort: 8210 }] });

  it.each([
    [[onPort('metrics')], 'container metrics already uses port 8210'],
    [[onPort('metrics'), onPort('debug')], 'containers metrics, debug already use port 8210'],
  ])('a container on the sidecar’s port is named', (others, start) => {
    expect(build({ containers: [vault(), ...others] })).toEqual({
      ok: false,
      reason: 'name-clash',
      message: `${start}, the sidecar's port`,
    });
  });

  it('a status annotation that is not ours is a clash, its value clipped', () => {
    const value = 'x'.repeat(100);
    expect(build({ annotations: { [`${A}status`]: value } })).toEqual({
      ok: false,
      reason: 'name-clash',
      message: `annotation ${A}status is already set to ${JSON.stringify(value.slice(0, 63))}`,
    });
  });
});

describe('the container’s identity and the pod’s warnings', () => {
  it('inherits the pod’s uid and gid when none is configured', () => {
    const built = spec({}, testDefaults({ runAsUser: undefined, runAsGroup: undefined }));
    expect(built.container['securityContext']).toEqual({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  it('has no warnings for a plain pod with fsGroup', () => {
    expect(spec().warnings).toEqual([]);
  });

  it('warns about hostNetwork', () => {
    expect(spec({ hostNetwork: true }).warnings).toEqual([
      "hostNetwork: the sidecar's /status and /metrics (port 8210) listen on the node",
    ]);
  });
});
