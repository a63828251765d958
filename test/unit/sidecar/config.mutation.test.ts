// Rules of the sidecar's settings that the mutation run (docs/mutation.md) showed no test held:
// each test here failed against at least one surviving mutant of sidecar/config.ts.
import { describe, expect, it } from 'vitest';
import {
  parseSidecarConfig,
  sidecarHelp,
  tlsFileSettings,
  wantsHelp,
  type SidecarConfig,
} from '../../../sidecar/config.js';
import type { ConfigProblem } from '../../../common/config-problems.js';

type Env = Record<string, string | undefined>;

const valueOf = (env: Env, argv: string[] = []): SidecarConfig => {
  const parsed = parseSidecarConfig(env, argv);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.value;
};

const problemsOf = (env: Env, argv: string[] = []): readonly ConfigProblem[] => {
  const parsed = parseSidecarConfig(env, argv);
  return parsed.ok ? [] : parsed.problems;
};

describe('values as operators write them', () => {
  it('reads every value trimmed, and drops trailing slashes from the address', () => {
    const value = valueOf({
      VAULT_ADDR: ' https://vault.example:8200/// ',
      UNSEAL_PODINFO_DIR: ' /podinfo ',
      LOG_LEVEL: ' DEBUG ',
      UNSEAL_HTTP_ADDR: ' 127.0.0.1:9000 ',
    });
    expect(value).toMatchObject({
      vaultAddr: 'https://vault.example:8200',
      podinfoDir: '/podinfo',
      logLevel: 'debug',
      httpHost: '127.0.0.1',
      httpPort: 9000,
    });
  });

  it.each(['trace', 'debug', 'warn', 'error', 'fatal'])('keeps LOG_LEVEL=%s', (level) => {
    expect(valueOf({ LOG_LEVEL: level }).logLevel).toBe(level);
  });

  it('takes an empty variable (a chart that renders value: "") as unset', () => {
    const value = valueOf({
      BAO_ADDR: '',
      VAULT_ADDR: 'http://vault:8200',
      UNSEAL_INTERVAL: '',
      LOG_LEVEL: '',
    });
    expect(value).toMatchObject({ vaultAddr: 'http://vault:8200', intervalMs: 5_000 });
    expect(value.logLevel).toBe('info');
  });

  it('accepts a client certificate with its key', () => {
    const value = valueOf({ VAULT_CLIENT_CERT: '/tls/c.pem', BAO_CLIENT_KEY: '/tls/k.pem' });
    expect([value.clientCertFile, value.clientKeyFile]).toEqual(['/tls/c.pem', '/tls/k.pem']);
  });
});

describe('flags', () => {
  it('know the OpenBao twins, which win', () => {
    const argv = ['--vault-addr=http://a:8200', '--bao-addr=http://b:8200'];
    expect(valueOf({}, argv).vaultAddr).toBe('http://b:8200');
  });

  it('name themselves in a problem, as the operator wrote them', () => {
    expect(problemsOf({ UNSEAL_INTERVAL: '5s' }, ['--unseal-interval=5', '--nope=1'])).toEqual([
      { setting: '--nope', message: 'unknown flag' },
      {
        setting: '--unseal-interval',
        message: '"5" is not a duration from 100ms to 1h (such as 500ms, 5s or 2m)',
      },
    ]);
  });
});

describe('settings that must agree', () => {
  it('refuses a back-off ceiling below the retry interval', () => {
    expect(problemsOf({ UNSEAL_MAX_BACKOFF: '2s', UNSEAL_RETRY_INTERVAL: '3s' })).toEqual([
      { setting: 'UNSEAL_MAX_BACKOFF', message: 'must be at least UNSEAL_RETRY_INTERVAL' },
    ]);
    expect(valueOf({ UNSEAL_MAX_BACKOFF: '2s', UNSEAL_RETRY_INTERVAL: '2s' }).maxBackoffMs).toBe(
      2_000,
    );
  });

  it('needs at least one key directory', () => {
    expect(problemsOf({ UNSEAL_KEYS_DIR: ' , ,' })).toEqual([
      {
        setting: 'UNSEAL_KEYS_DIR',
        message:
          'is set but names no directory; accepted: one or more directories, comma-separated (unset means /vault/unseal-keys)',
      },
    ]);
  });
});

describe('UNSEAL_HTTP_ADDR', () => {
  it.each([
    ['0.0.0.0:65535', '0.0.0.0', 65_535],
    // IPv6 in brackets, as in a URL.
    ['[::1]:8210', '::1', 8210],
    ['[::]:8210', '::', 8210],
  ])('reads %s', (text, host, port) => {
    expect(valueOf({ UNSEAL_HTTP_ADDR: text })).toMatchObject({ httpHost: host, httpPort: port });
  });

  it.each([
    // No host: say so rather than guess one.
    [':8210'],
    // Ports past 65535, or with something after them.
    ['0.0.0.0:65536'],
    ['0.0.0.0:123456'],
    ['0.0.0.0:8210x'],
  ])('refuses %s', (text) => {
    expect(problemsOf({ UNSEAL_HTTP_ADDR: text })).toEqual([
      {
        setting: 'UNSEAL_HTTP_ADDR',
        message: `"${text}" is not host:port (for example [::]:8210, 0.0.0.0:8210 or [::1]:8210)`,
      },
    ]);
  });
});

describe('tlsFileSettings: the TLS files, resolved even when other settings are bad', () => {
  it('names where each path came from, trimmed', () => {
    const env = { VAULT_CACERT: ' /ca.pem ', BAO_CLIENT_CERT: '/c.pem', UNSEAL_INTERVAL: 'bad' };
    expect(tlsFileSettings(env, ['--vault-client-key=/k.pem'])).toEqual({
      ca: { setting: 'VAULT_CACERT', path: '/ca.pem' },
      cert: { setting: 'BAO_CLIENT_CERT', path: '/c.pem' },
      key: { setting: '--vault-client-key', path: '/k.pem' },
    });
  });

  it('gives no path for an unset or blank setting', () => {
    expect(tlsFileSettings({ VAULT_CACERT: '  ' }, [])).toEqual({
      ca: { setting: 'VAULT_CACERT', path: undefined },
      cert: { setting: 'VAULT_CLIENT_CERT', path: undefined },
      key: { setting: 'VAULT_CLIENT_KEY', path: undefined },
    });
  });
});

describe('--help', () => {
  it.each([
    [['--help'], true],
    [['-h'], true],
    [['--vault-addr=http://v:8200', '--help'], true],
    [[], false],
    [['--helpful'], false],
  ])('wantsHelp(%j) is %s', (argv, expected) => {
    expect(wantsHelp(argv)).toBe(expected);
  });

  const help = sidecarHelp('vault-autounseal-sidecar');

  it('starts with what the program does and how settings are given', () => {
    expect(help.split('\n').slice(0, 6)).toEqual([
      'vault-autounseal-sidecar: keeps one Vault or OpenBao server unsealed with Shamir shares read from files.',
      '',
      'Settings come from the environment, or from --kebab-case flags, which win.',
      'Durations are written 500ms, 5s, 2m or 1h. Bad settings exit with status 2, all listed.',
      '--version prints the version and the git revision of this build, and exits.',
      '',
    ]);
  });

  it('gives each setting its flag, default and range', () => {
    expect(help).toContain(
      '  UNSEAL_INTERVAL\n  --unseal-interval=VALUE\n      check period while unsealed (default: 5s, 100ms to 1h)',
    );
    expect(help).toContain(
      '  VAULT_CACERT (or BAO_CACERT, which wins)\n  --vault-cacert=VALUE\n      PEM CA bundle that verifies the server (default: unset)',
    );
    expect(help).toContain('(default: /vault/unseal-keys)');
  });
});
