// The webhook's configuration: defaults, every problem at once, flags over env.
import { describe, expect, it } from 'vitest';
import { formatProblems } from '../../../common/config-problems.js';
import {
  SETTINGS,
  SETTING_DOCS,
  formatHelp,
  isIpAddress,
  parseQuantity,
  parseWebhookConfig,
  wantsHelp,
} from '../../../webhook/config.js';

const REQUIRED = { SIDECAR_IMAGE: 'registry.example/vault-autounseal-sidecar:0.1.0' };

describe('parseWebhookConfig', () => {
  it('applies the documented defaults', () => {
    const parsed = parseWebhookConfig(REQUIRED, [], {
      serviceAccountNamespace: 'vault-autounseal\n',
    });
    expect(parsed).toEqual({
      ok: true,
      value: {
        host: '0.0.0.0',
        port: 8443,
        metricsPort: 8080,
        tlsCertFile: '/etc/webhook/tls/tls.crt',
        tlsKeyFile: '/etc/webhook/tls/tls.key',
        namespace: 'vault-autounseal',
        vaultNamespaces: [],
        logLevel: 'info',
        maxBodyBytes: 3_145_728,
        limits: { handshakeTimeoutMs: 10_000, requestTimeoutMs: 15_000, maxConnections: 1000 },
        sidecar: {
          image: REQUIRED.SIDECAR_IMAGE,
          imagePullPolicy: 'IfNotPresent',
          resources: {
            requests: { cpu: '10m', memory: '96Mi' },
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
      'WEBHOOK_HOST',
      'WEBHOOK_MAX_BODY_BYTES',
      'WEBHOOK_MAX_CONNECTIONS',
      'WEBHOOK_METRICS_PORT',
      'WEBHOOK_NAMESPACE',
      'WEBHOOK_PORT',
      'WEBHOOK_REQUEST_TIMEOUT',
      'WEBHOOK_TLS_CERT_FILE',
      'WEBHOOK_TLS_HANDSHAKE_TIMEOUT',
      'WEBHOOK_TLS_KEY_FILE',
      'WEBHOOK_VAULT_NAMESPACES',
    ]);
  });

  describe('the listen host', () => {
    it.each([
      ['127.0.0.1', '127.0.0.1'],
      ['::', '::'],
      ['::1', '::1'],
      ['fd00::10', 'fd00::10'],
    ])('accepts %s', (text, host) => {
      const parsed = parseWebhookConfig(
        { ...REQUIRED, WEBHOOK_NAMESPACE: 'x', WEBHOOK_HOST: text },
        [],
      );
      expect(parsed.ok && parsed.value.host).toBe(host);
    });

    it.each(['localhost', '256.0.0.1', '1.2.3', '[::1]', '0.0.0.0:8443', 'fe80::1%eth0', ':::'])(
      'refuses %j, saying what it accepts',
      (text) => {
        const parsed = parseWebhookConfig({ ...REQUIRED, WEBHOOK_NAMESPACE: 'x' }, [
          `--webhook-host=${text}`,
        ]);
        expect(!parsed.ok && parsed.problems).toEqual([
          {
            setting: '--webhook-host',
            message: `is ${JSON.stringify(text)}; accepted: an IP address such as 0.0.0.0 (every IPv4 address), :: (every address) or 127.0.0.1`,
          },
        ]);
      },
    );

    it('is pure about IPv6: no node:net needed', () => {
      expect(isIpAddress('2001:db8::1')).toBe(true);
      expect(isIpAddress('2001:db8::g')).toBe(false);
    });
  });

  describe('the connection limits', () => {
    it('reads durations and the cap', () => {
      const parsed = parseWebhookConfig(
        {
          ...REQUIRED,
          WEBHOOK_NAMESPACE: 'x',
          WEBHOOK_TLS_HANDSHAKE_TIMEOUT: '2s',
          WEBHOOK_REQUEST_TIMEOUT: '1500ms',
          WEBHOOK_MAX_CONNECTIONS: '64',
        },
        [],
      );
      expect(parsed.ok && parsed.value.limits).toEqual({
        handshakeTimeoutMs: 2_000,
        requestTimeoutMs: 1_500,
        maxConnections: 64,
      });
    });

    it('refuses out-of-range values, stating the range, all at once', () => {
      const parsed = parseWebhookConfig(
        {
          ...REQUIRED,
          WEBHOOK_NAMESPACE: 'x',
          WEBHOOK_TLS_HANDSHAKE_TIMEOUT: '720h',
          WEBHOOK_REQUEST_TIMEOUT: '1ms',
          WEBHOOK_MAX_CONNECTIONS: '0',
        },
        [],
      );
      expect(!parsed.ok && parsed.problems).toEqual([
        {
          setting: 'WEBHOOK_TLS_HANDSHAKE_TIMEOUT',
          message: '"720h" is out of range: a duration from 1s to 1m (such as 500ms, 5s or 2m)',
        },
        {
          setting: 'WEBHOOK_REQUEST_TIMEOUT',
          message: '"1ms" is out of range: a duration from 1s to 1m (such as 500ms, 5s or 2m)',
        },
        {
          setting: 'WEBHOOK_MAX_CONNECTIONS',
          message: 'is "0"; accepted: an integer from 1 to 100000',
        },
      ]);
    });
  });
});

describe('--help', () => {
  it.each([
    [['--help'], true],
    [['-h'], true],
    [['--webhook-port=1', '--help'], true],
    [['--webhook-port', 'help'], false],
    [[], false],
  ])('%j asks for help: %s', (argv, asked) => {
    expect(wantsHelp(argv)).toBe(asked);
  });

  it('lists every setting, its flag, its default and its meaning, from the one table', () => {
    const help = formatHelp('vault-autounseal-webhook');
    const flat = help.replace(/\n {6}/g, ' ');
    for (const [name, doc] of Object.entries(SETTING_DOCS)) {
      const flag = name.toLowerCase().replaceAll('_', '-');
      expect(flat).toContain(`${name}, --${flag}  (default: ${doc.default || 'none'})`);
      expect(flat).toContain(doc.meaning);
    }
    for (const line of help.split('\n')) expect(line.length).toBeLessThanOrEqual(100);
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
