// Rules of the webhook's settings that the mutation run (docs/mutation.md) showed no test held:
// each test here failed against at least one surviving mutant of webhook/config.ts.
import { describe, expect, it } from 'vitest';
import type { ConfigProblem } from '../../../common/config-problems.js';
import {
  SETTING_DOCS,
  formatHelp,
  isIpAddress,
  parseWebhookConfig,
  type WebhookConfig,
} from '../../../webhook/config.js';

type Env = Record<string, string | undefined>;
const BASE: Env = {
  SIDECAR_IMAGE: 'registry.example/vault-autounseal-sidecar:0.1.0',
  WEBHOOK_NAMESPACE: 'vault-autounseal',
};

const valueOf = (env: Env, argv: string[] = []): WebhookConfig => {
  const parsed = parseWebhookConfig({ ...BASE, ...env }, argv);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.value;
};

const problemsOf = (
  env: Env,
  argv: string[] = [],
  context: { serviceAccountNamespace?: string } = {},
): readonly ConfigProblem[] => {
  const parsed = parseWebhookConfig({ ...BASE, ...env }, argv, context);
  return parsed.ok ? [] : parsed.problems;
};

describe('whole numbers, at and past their bounds', () => {
  // Only plain digits: a sign, an exponent or hex is refused even when its value would fit.
  const notDigits = ['+80', '1e3', '0x50'];

  it.each([
    ['WEBHOOK_PORT', ['1', '65535'], ['0', '65536', ...notDigits], 'a port number from 1 to 65535'],
    [
      'WEBHOOK_MAX_CONNECTIONS',
      ['1', '100000'],
      ['0', '100001', ...notDigits],
      'an integer from 1 to 100000',
    ],
    [
      'WEBHOOK_MAX_BODY_BYTES',
      ['1024', '67108864'],
      ['1023', '67108865', '+2048', '2e4'],
      'a byte count from 1024 to 67108864',
    ],
    // uid 0 is root: the sidecar runs as non-root.
    [
      'SIDECAR_RUN_AS_USER',
      ['1', '2147483647'],
      ['0', '2147483648', ...notDigits],
      "an integer id from 1, or empty to inherit the pod's",
    ],
    // gid 0 is allowed: it grants nothing by itself.
    [
      'SIDECAR_RUN_AS_GROUP',
      ['0', '2147483647'],
      ['2147483648', ...notDigits],
      "an integer id from 0, or empty to inherit the pod's",
    ],
  ])('%s accepts %j, refuses %j', (name, good, bad, accepted) => {
    for (const text of good) expect(problemsOf({ [name]: text }), text).toEqual([]);
    for (const text of bad) {
      expect(problemsOf({ [name]: text }), text).toEqual([
        { setting: name, message: `is ${JSON.stringify(text)}; accepted: ${accepted}` },
      ]);
    }
  });
});

describe('values as operators write them', () => {
  it('trims values, and takes an empty or blank variable as unset', () => {
    expect(valueOf({ WEBHOOK_PORT: ' 9443 ', WEBHOOK_METRICS_PORT: '' }).port).toBe(9443);
    expect(valueOf({ WEBHOOK_PORT: '  ' }).port).toBe(8443);
    expect(valueOf({}, ['--webhook-port= 9443 ']).port).toBe(9443);
  });

  it('switches the sidecar ids off with an empty flag or variable, and trims them', () => {
    const off = valueOf({ SIDECAR_RUN_AS_GROUP: '' }, ['--sidecar-run-as-user=']).sidecar;
    expect([off.runAsUser, off.runAsGroup]).toEqual([undefined, undefined]);
    const set = valueOf({ SIDECAR_RUN_AS_GROUP: ' 1000 ' }, ['--sidecar-run-as-user= 100 ']);
    expect([set.sidecar.runAsUser, set.sidecar.runAsGroup]).toEqual([100, 1000]);
  });

  it('names a bad id given as a flag by its flag', () => {
    expect(problemsOf({}, ['--sidecar-run-as-user=0'])).toEqual([
      {
        setting: '--sidecar-run-as-user',
        message: 'is "0"; accepted: an integer id from 1, or empty to inherit the pod\'s',
      },
    ]);
  });

  it('names an unknown flag', () => {
    expect(problemsOf({}, ['--webhook-prot=1'])).toEqual([
      { setting: '--webhook-prot', message: 'is not a setting of the webhook' },
    ]);
  });

  it('says the two ports must differ, and only when both are valid', () => {
    expect(problemsOf({ WEBHOOK_METRICS_PORT: '8443' })).toEqual([
      { setting: 'WEBHOOK_METRICS_PORT', message: 'must differ from WEBHOOK_PORT' },
    ]);
    expect(
      problemsOf({ WEBHOOK_PORT: 'x', WEBHOOK_METRICS_PORT: 'y' }).map((p) => p.setting),
    ).toEqual(['WEBHOOK_PORT', 'WEBHOOK_METRICS_PORT']);
  });
});

describe('the webhook’s own namespace', () => {
  it('is required outside a pod, naming the file it could not read', () => {
    expect(problemsOf({ WEBHOOK_NAMESPACE: undefined })).toEqual([
      {
        setting: 'WEBHOOK_NAMESPACE',
        message:
          "is required outside a pod (/var/run/secrets/kubernetes.io/serviceaccount/namespace is unreadable): the webhook's own namespace",
      },
    ]);
  });

  it.each([
    // Not a namespace name: uppercase, a dot (namespaces are DNS labels), or past 63 characters.
    ['Vault'],
    ['vault.system'],
    ['a'.repeat(64)],
  ])('refuses %j', (namespace) => {
    expect(problemsOf({ WEBHOOK_NAMESPACE: namespace })).toEqual([
      {
        setting: 'WEBHOOK_NAMESPACE',
        message: `is ${JSON.stringify(namespace)}; accepted: a namespace name`,
      },
    ]);
  });

  it('accepts a name of 63 characters', () => {
    expect(valueOf({ WEBHOOK_NAMESPACE: 'a'.repeat(63) }).namespace).toBe('a'.repeat(63));
  });
});

describe('the sidecar defaults', () => {
  it.each([
    // Secret names are DNS subdomains: dots and inner dashes are fine.
    ['unseal.keys-1'],
    ['a.b'],
    ['keys-ops,keys.security'],
    ['k'.repeat(253)],
  ])('DEFAULT_KEYS_SECRET accepts %j', (names) => {
    expect(valueOf({ DEFAULT_KEYS_SECRET: names }).sidecar.keysSecret).toBe(names);
  });

  it.each([
    // One bad name among good ones, a trailing dash, uppercase, or past 253 characters.
    ['good,BAD'],
    ['keys-'],
    ['keys.-x'],
    ['k'.repeat(254)],
  ])('DEFAULT_KEYS_SECRET refuses %j', (names) => {
    expect(problemsOf({ DEFAULT_KEYS_SECRET: names })).toEqual([
      {
        setting: 'DEFAULT_KEYS_SECRET',
        message: 'accepted: one or more Secret names (lowercase DNS subdomains), comma-separated',
      },
    ]);
  });

  it.each([['-100m'], ['0'], ['x1']])('a resource quantity of %j is refused', (text) => {
    expect(problemsOf({ SIDECAR_CPU_LIMIT: text })).toEqual([
      {
        setting: 'SIDECAR_CPU_LIMIT',
        message: `is ${JSON.stringify(text)}; accepted: a Kubernetes quantity such as 10m, 0.5, 64Mi or 1Gi`,
      },
    ]);
  });

  it('accepts a request equal to its limit (Guaranteed QoS)', () => {
    const value = valueOf({ SIDECAR_CPU_REQUEST: '100m', SIDECAR_CPU_LIMIT: '0.1' });
    expect(value.sidecar.resources).toMatchObject({
      requests: { cpu: '100m' },
      limits: { cpu: '0.1' },
    });
  });

  it('says what the image and the native-sidecar switch accept', () => {
    expect(problemsOf({ SIDECAR_IMAGE: 'a b', DEFAULT_NATIVE_SIDECAR: 'maybe' })).toEqual([
      {
        setting: 'SIDECAR_IMAGE',
        message: 'is required: the sidecar image reference to inject, without spaces',
      },
      {
        setting: 'DEFAULT_NATIVE_SIDECAR',
        message: 'accepted: true or false (also 1/0, t/f, yes/no, on/off, in any case)',
      },
    ]);
  });
});

describe('isIpAddress', () => {
  it.each([
    // Every branch of an IPv4 octet, in the first and in the last place.
    ['10.20.30.40'],
    ['200.1.1.1'],
    ['249.0.0.1'],
    ['1.1.1.200'],
    ['1.1.1.255'],
    ['199.99.9.0'],
    ['1.150.1.1'],
    ['1.1.1.199'],
  ])('accepts %s', (text) => {
    expect(isIpAddress(text)).toBe(true);
  });

  it('refuses URL syntax around an IPv6 address', () => {
    expect(isIpAddress('::1]/x')).toBe(false);
  });
});

describe('--help', () => {
  const help = formatHelp('vault-autounseal-webhook');
  const lines = help.split('\n');

  it('starts with the usage and how settings are given', () => {
    expect(lines.slice(0, 6)).toEqual([
      'Usage: vault-autounseal-webhook [--setting=value ...]',
      '',
      'The mutating admission webhook that injects the vault-autounseal sidecar into Vault pods.',
      'Every setting is an environment variable and also a --kebab-case flag; a flag wins.',
      'Bad settings are all reported at once, with exit status 2.',
      '',
    ]);
  });

  it('states the accepted range of the durations, and of nothing else', () => {
    const flat = help.replace(/\n {6}/g, ' ');
    expect(flat).toContain(
      `${SETTING_DOCS.WEBHOOK_REQUEST_TIMEOUT.meaning} Accepted: from 1s to 1m.`,
    );
    expect(flat).toContain(
      `${SETTING_DOCS.WEBHOOK_TLS_HANDSHAKE_TIMEOUT.meaning} Accepted: from 1s to 1m.`,
    );
    expect(flat.match(/Accepted: from/g)).toHaveLength(2);
  });

  it('wraps each meaning at 92 characters, filling every line', () => {
    const at = lines.indexOf('  DEFAULT_NATIVE_SIDECAR, --default-native-sidecar  (default: true)');
    expect(lines.slice(at + 1, at + 5)).toEqual([
      '      Inject a native sidecar (init container with restartPolicy Always, on by default from',
      "      Kubernetes 1.29) unless the pod's vault-autounseal.io/native-sidecar says otherwise. Set",
      '      false on older clusters: an apiserver without the feature drops restartPolicy, and the',
      '      never-ending init container would hold the Vault container back forever.',
    ]);
    expect(lines.filter((line) => line.trim() === '')).toHaveLength(2);
  });
});
