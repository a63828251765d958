// The webhook's configuration: defaults, every problem at once, flags over env.
import { describe, expect, it } from 'vitest';
import { formatProblems } from '../../../common/config-problems.js';
import { SETTINGS, parseQuantity, parseWebhookConfig } from '../../../webhook/config.js';

const REQUIRED = { SIDECAR_IMAGE: 'registry.example/vault-autounseal-sidecar:0.1.0' };

describe('parseWebhookConfig', () => {
  it('applies the documented defaults', () => {
    const parsed = parseWebhookConfig(REQUIRED, [], {
      serviceAccountNamespace: 'vault-autounseal\n',
    });
    expect(parsed).toEqual({
      ok: true,
      value: {
        port: 8443,
        metricsPort: 8080,
        tlsCertFile: '/etc/webhook/tls/tls.crt',
        tlsKeyFile: '/etc/webhook/tls/tls.key',
        namespace: 'vault-autounseal',
        logLevel: 'info',
        maxBodyBytes: 3_145_728,
        sidecar: {
          image: REQUIRED.SIDECAR_IMAGE,
          imagePullPolicy: 'IfNotPresent',
          resources: {
            requests: { cpu: '10m', memory: '64Mi' },
            limits: { cpu: '200m', memory: '128Mi' },
          },
          keysSecret: 'vault-unseal-keys',
          nativeSidecar: true,
          runAsUser: 65532,
          runAsGroup: 65532,
        },
      },
    });
  });

  it('returns a frozen object', () => {
    const parsed = parseWebhookConfig({ ...REQUIRED, WEBHOOK_NAMESPACE: 'x' }, []);
    expect(parsed.ok && Object.isFrozen(parsed.value.sidecar.resources.limits)).toBe(true);
  });

  it('reads every variable', () => {
    const parsed = parseWebhookConfig(
      {
        ...REQUIRED,
        WEBHOOK_PORT: '9443',
        WEBHOOK_METRICS_PORT: '9090',
        WEBHOOK_TLS_CERT_FILE: '/tls/c',
        WEBHOOK_TLS_KEY_FILE: '/tls/k',
        WEBHOOK_NAMESPACE: 'ops',
        WEBHOOK_MAX_BODY_BYTES: '2048',
        LOG_LEVEL: 'debug',
        SIDECAR_IMAGE_PULL_POLICY: 'Always',
        SIDECAR_CPU_REQUEST: '0.05',
        SIDECAR_MEMORY_REQUEST: '32Mi',
        SIDECAR_CPU_LIMIT: '1',
        SIDECAR_MEMORY_LIMIT: '1Gi',
        SIDECAR_RUN_AS_USER: '',
        SIDECAR_RUN_AS_GROUP: '',
        DEFAULT_KEYS_SECRET: 'keys-a, keys-b',
        DEFAULT_NATIVE_SIDECAR: 'false',
      },
      [],
      { serviceAccountNamespace: 'ignored' },
    );
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.value).toMatchObject({
      port: 9443,
      metricsPort: 9090,
      tlsCertFile: '/tls/c',
      tlsKeyFile: '/tls/k',
      namespace: 'ops',
      maxBodyBytes: 2048,
      logLevel: 'debug',
      sidecar: {
        imagePullPolicy: 'Always',
        resources: {
          requests: { cpu: '0.05', memory: '32Mi' },
          limits: { cpu: '1', memory: '1Gi' },
        },
        runAsUser: undefined,
        runAsGroup: undefined,
        keysSecret: 'keys-a,keys-b',
        nativeSidecar: false,
      },
    });
  });

  it('lets flags win over the environment', () => {
    const parsed = parseWebhookConfig({ ...REQUIRED, WEBHOOK_PORT: '1', WEBHOOK_NAMESPACE: 'a' }, [
      '--webhook-port=2',
      '--webhook-namespace',
      'b',
    ]);
    expect(parsed.ok && [parsed.value.port, parsed.value.namespace]).toEqual([2, 'b']);
  });

  it('reports every bad setting at once, each with what it accepts', () => {
    const parsed = parseWebhookConfig(
      {
        WEBHOOK_PORT: '99999',
        WEBHOOK_METRICS_PORT: 'http',
        LOG_LEVEL: 'loud',
        SIDECAR_IMAGE_PULL_POLICY: 'sometimes',
        SIDECAR_CPU_REQUEST: 'lots',
        SIDECAR_MEMORY_REQUEST: '1Gi',
        SIDECAR_MEMORY_LIMIT: '128Mi',
        SIDECAR_RUN_AS_USER: '0',
        DEFAULT_KEYS_SECRET: 'Not_Valid',
        DEFAULT_NATIVE_SIDECAR: 'maybe',
        WEBHOOK_MAX_BODY_BYTES: '10',
      },
      ['--no-such-thing=1'],
    );
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    const settings = parsed.problems.map((p) => p.setting);
    expect(settings).toEqual(
      expect.arrayContaining([
        'WEBHOOK_PORT',
        'WEBHOOK_METRICS_PORT',
        'LOG_LEVEL',
        'SIDECAR_IMAGE',
        'SIDECAR_IMAGE_PULL_POLICY',
        'SIDECAR_CPU_REQUEST',
        'SIDECAR_MEMORY_REQUEST',
        'SIDECAR_RUN_AS_USER',
        'DEFAULT_KEYS_SECRET',
        'DEFAULT_NATIVE_SIDECAR',
        'WEBHOOK_MAX_BODY_BYTES',
        'WEBHOOK_NAMESPACE',
        '--no-such-thing',
      ]),
    );
    const text = formatProblems('vault-autounseal-webhook', parsed.problems);
    expect(text).toContain(
      'LOG_LEVEL: is "loud"; accepted values: fatal, error, warn, info, debug, trace, silent',
    );
    expect(text).toContain(
      'SIDECAR_IMAGE_PULL_POLICY: is "sometimes"; accepted values: Always, IfNotPresent, Never',
    );
    expect(text).toContain('SIDECAR_MEMORY_REQUEST: is above SIDECAR_MEMORY_LIMIT');
    expect(text).toContain('WEBHOOK_PORT: is "99999"; accepted: a port number from 1 to 65535');
  });

  it('refuses the same port for both listeners', () => {
    const parsed = parseWebhookConfig(
      { ...REQUIRED, WEBHOOK_NAMESPACE: 'x', WEBHOOK_METRICS_PORT: '8443' },
      [],
    );
    expect(!parsed.ok && parsed.problems.map((p) => p.setting)).toEqual(['WEBHOOK_METRICS_PORT']);
  });

  it('has exactly the settings the Helm chart is written against', () => {
    expect(Object.keys(SETTINGS).sort()).toEqual([
      'DEFAULT_KEYS_SECRET',
      'DEFAULT_NATIVE_SIDECAR',
      'LOG_LEVEL',
      'SIDECAR_CPU_LIMIT',
      'SIDECAR_CPU_REQUEST',
      'SIDECAR_IMAGE',
      'SIDECAR_IMAGE_PULL_POLICY',
      'SIDECAR_MEMORY_LIMIT',
      'SIDECAR_MEMORY_REQUEST',
      'SIDECAR_RUN_AS_GROUP',
      'SIDECAR_RUN_AS_USER',
      'WEBHOOK_MAX_BODY_BYTES',
      'WEBHOOK_METRICS_PORT',
      'WEBHOOK_NAMESPACE',
      'WEBHOOK_PORT',
      'WEBHOOK_TLS_CERT_FILE',
      'WEBHOOK_TLS_KEY_FILE',
    ]);
  });
});

describe('parseQuantity', () => {
  it.each([
    ['10m', 0.01],
    ['1', 1],
    ['0.5', 0.5],
    ['64Mi', 64 * 2 ** 20],
    ['1G', 1e9],
    ['abc', undefined],
    ['1mi', undefined],
  ])('%s → %s', (text, value) => {
    expect(parseQuantity(text)).toBe(value);
  });
});
