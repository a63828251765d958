// The sidecar's settings as hardened by issue 21: Go's boolean forms (item 10), VAULT_CAPATH and
// unix:// refused (item 10), bracketed IPv6 listeners and a dual-stack default (item 9), and
// environment typos (item 15).
import { describe, expect, it } from 'vitest';
import type { ConfigProblem } from '../../../common/config-problems.js';
import {
  parseSidecarConfig,
  sidecarHelp,
  unknownUnsealVariables,
  type SidecarConfig,
} from '../../../sidecar/config.js';

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

describe('VAULT_SKIP_VERIFY takes every form of Go strconv.ParseBool, as both CLIs do', () => {
  it.each([
    ['1', true],
    ['t', true],
    ['T', true],
    ['TRUE', true],
    ['true', true],
    ['True', true],
    ['0', false],
    ['f', false],
    ['F', false],
    ['FALSE', false],
    ['false', false],
    ['False', false],
    // Accepted before, kept.
    ['yes', true],
    ['on', true],
    ['no', false],
    ['off', false],
  ])('%s means skip=%s', (text, skip) => {
    expect(valueOf({ VAULT_SKIP_VERIFY: text }).skipVerify).toBe(skip);
    expect(valueOf({ BAO_SKIP_VERIFY: text }).skipVerify).toBe(skip);
  });

  it.each(['maybe', 'tr', 'y', 'n', '2'])('refuses %j, saying what it accepts', (text) => {
    expect(problemsOf({ VAULT_SKIP_VERIFY: text })).toEqual([
      {
        setting: 'VAULT_SKIP_VERIFY',
        message: `"${text}" is not true or false (also 1/0, t/f, yes/no, on/off, in any case)`,
      },
    ]);
  });
});

describe('VAULT_ADDR', () => {
  it('refuses a unix socket with its own reason', () => {
    expect(problemsOf({ VAULT_ADDR: 'unix:///vault/vault.sock' })).toEqual([
      {
        setting: 'VAULT_ADDR',
        message:
          '"unix:///vault/vault.sock" is a unix socket, which the sidecar cannot use: it reaches its ' +
          'server over TCP only; accepted: an http:// or https:// address, such as https://127.0.0.1:8200',
      },
    ]);
  });

  it('never shows credentials of a refused address', () => {
    const problems = problemsOf({ BAO_ADDR: 'ftp://admin:hunter2@vault:8200' });
    expect(problems).toEqual([
      {
        setting: 'BAO_ADDR',
        message: '"ftp://vault:8200" is not an http:// or https:// address',
      },
    ]);
  });
});

describe('VAULT_CAPATH is refused, not ignored', () => {
  it.each(['VAULT_CAPATH', 'BAO_CAPATH'])('%s set: exit 2 with the reason', (name) => {
    expect(problemsOf({ [name]: '/etc/ssl/vault-cas' })).toEqual([
      {
        setting: name,
        message:
          'a directory of CA certificates is not supported; use VAULT_CACERT with a bundle ' +
          '(the CA files concatenated into one PEM file)',
      },
    ]);
  });

  it('takes an empty or blank VAULT_CAPATH as unset, like every other setting', () => {
    expect(problemsOf({ VAULT_CAPATH: '', BAO_CAPATH: '  ' })).toEqual([]);
  });
});

describe('UNSEAL_HTTP_ADDR (issue 21, item 9)', () => {
  it('is dual-stack by default: [::]:8210', () => {
    expect(valueOf({})).toMatchObject({ httpHost: '::', httpPort: 8210 });
    expect(sidecarHelp('x')).toContain('(default: [::]:8210)');
  });

  it.each([
    ['[::]:8210', '::'],
    ['[::1]:8210', '::1'],
    ['[fd00::a:1]:9000', 'fd00::a:1'],
    ['[::ffff:127.0.0.1]:8210', '::ffff:127.0.0.1'],
    ['127.0.0.1:8210', '127.0.0.1'],
    ['localhost:8210', 'localhost'],
  ])('reads %s as host %s', (text, host) => {
    expect(valueOf({ UNSEAL_HTTP_ADDR: text }).httpHost).toBe(host);
  });

  it.each([
    // An IPv6 address without brackets: `::1:8210` is also the address ::1:8210 with no port.
    ['::1:8210'],
    ['::8210'],
    // Brackets around something that is not an IPv6 address, or only half of them.
    ['[127.0.0.1]:8210'],
    ['[::1:8210'],
    ['::1]:8210'],
    ['[]:8210'],
  ])('refuses %s', (text) => {
    expect(problemsOf({ UNSEAL_HTTP_ADDR: text })).toEqual([
      {
        setting: 'UNSEAL_HTTP_ADDR',
        message: `"${text}" is not host:port (for example [::]:8210, 0.0.0.0:8210 or [::1]:8210)`,
      },
    ]);
  });
});

describe('UNSEAL_KEYS_DIR set but empty (issue 21, item 15)', () => {
  const message =
    'is set but names no directory; accepted: one or more directories, comma-separated (unset means /vault/unseal-keys)';

  it.each([[''], ['   '], [','], [' , ,']])('%j is an error, not the default', (text) => {
    expect(problemsOf({ UNSEAL_KEYS_DIR: text })).toEqual([
      { setting: 'UNSEAL_KEYS_DIR', message },
    ]);
  });

  it('as a flag too', () => {
    expect(problemsOf({}, ['--unseal-keys-dir='])).toEqual([
      { setting: '--unseal-keys-dir', message },
    ]);
  });

  it('unset still means the default', () => {
    expect(valueOf({ UNSEAL_KEYS_DIR: undefined }).keysDirs).toEqual(['/vault/unseal-keys']);
  });

  it('an empty value of another setting still means its default', () => {
    expect(valueOf({ UNSEAL_PODINFO_DIR: '' }).podinfoDir).toBe('/etc/vault-autounseal/podinfo');
  });
});

describe('unknownUnsealVariables (issue 21, item 15)', () => {
  it('names each unknown UNSEAL_* variable, sorted, with the setting it likely misspells', () => {
    expect(
      unknownUnsealVariables({
        UNSEAL_KEYS_DIRS: '/keys',
        UNSEAL_INTERVALL: '5s',
        UNSEAL_SOMETHING_ELSE_ENTIRELY: 'x',
        UNSEAL_KEYS_DIR: '/keys',
        VAULT_ADDR: 'http://127.0.0.1:8200',
        NOT_UNSEAL_TYPO: 'x',
      }),
    ).toEqual([
      { name: 'UNSEAL_INTERVALL', suggestion: 'UNSEAL_INTERVAL' },
      { name: 'UNSEAL_KEYS_DIRS', suggestion: 'UNSEAL_KEYS_DIR' },
      { name: 'UNSEAL_SOMETHING_ELSE_ENTIRELY', suggestion: undefined },
    ]);
  });

  it.each([
    // One edit: a letter added, dropped or changed.
    ['UNSEAL_RETRY_INTERVALS', 'UNSEAL_RETRY_INTERVAL'],
    ['UNSEAL_MAX_BACKOF', 'UNSEAL_MAX_BACKOFF'],
    ['UNSEAL_HTTP_ADDY', 'UNSEAL_HTTP_ADDR'],
    // Three edits is still a typo.
    ['UNSEAL_PODINFO_DIRXYZ', 'UNSEAL_PODINFO_DIR'],
    // A letter dropped at the end.
    ['UNSEAL_REQUEST_TIMEOU', 'UNSEAL_REQUEST_TIMEOUT'],
  ])('%s → did you mean %s', (name, suggestion) => {
    expect(unknownUnsealVariables({ [name]: 'x' })).toEqual([{ name, suggestion }]);
  });

  it('suggests nothing past three edits', () => {
    expect(unknownUnsealVariables({ UNSEAL_PODINFO_DIRWXYZ: 'x' })).toEqual([
      { name: 'UNSEAL_PODINFO_DIRWXYZ', suggestion: undefined },
    ]);
  });

  it('finds nothing in an environment of known settings', () => {
    expect(
      unknownUnsealVariables({
        UNSEAL_KEYS_DIR: '',
        UNSEAL_INTERVAL: '',
        UNSEAL_RETRY_INTERVAL: '',
        UNSEAL_MAX_BACKOFF: '',
        UNSEAL_REQUEST_TIMEOUT: '',
        UNSEAL_HTTP_ADDR: '',
        UNSEAL_PODINFO_DIR: '',
        LOG_LEVEL: 'x',
        unseal_lowercase: 'x',
      }),
    ).toEqual([]);
  });
});
