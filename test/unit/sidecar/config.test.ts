import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSidecarConfig } from '../../../sidecar/config.js';

describe('parseSidecarConfig', () => {
  it('has the contract defaults', () => {
    const parsed = parseSidecarConfig({}, []);
    expect(parsed).toEqual({
      ok: true,
      value: {
        vaultAddr: 'https://127.0.0.1:8200',
        caCertFile: undefined,
        clientCertFile: undefined,
        clientKeyFile: undefined,
        tlsServerName: undefined,
        skipVerify: false,
        keysDirs: ['/vault/unseal-keys'],
        intervalMs: 5_000,
        retryIntervalMs: 500,
        maxBackoffMs: 60_000,
        requestTimeoutMs: 5_000,
        // Dual-stack by default (issue 21, item 9): `::` takes IPv4 connections too.
        httpHost: '::',
        httpPort: 8210,
        podinfoDir: '/etc/vault-autounseal/podinfo',
        logLevel: 'info',
      },
    });
    expect(Object.isFrozen(parsed.ok && parsed.value)).toBe(true);
  });

  it.each([
    // `false`, `0` and empty mean verify; node-vault alone would read "false" as skip.
    ['false', false],
    ['0', false],
    ['', false],
    ['true', true],
    ['1', true],
  ])('VAULT_SKIP_VERIFY=%j means skip=%s', (text, expected) => {
    const parsed = parseSidecarConfig({ VAULT_SKIP_VERIFY: text }, []);
    expect(parsed.ok && parsed.value.skipVerify).toBe(expected);
  });

  it('lets BAO_* win over VAULT_*, and flags win over both', () => {
    const env = {
      VAULT_ADDR: 'http://a:8200',
      BAO_ADDR: 'http://b:8200',
      VAULT_CACERT: '/a.pem',
      BAO_CACERT: '/b.pem',
    };
    const fromEnv = parseSidecarConfig(env, []);
    expect(fromEnv.ok && [fromEnv.value.vaultAddr, fromEnv.value.caCertFile]).toEqual([
      'http://b:8200',
      '/b.pem',
    ]);
    const fromFlag = parseSidecarConfig(env, [
      '--vault-addr',
      'http://c:8200',
      '--unseal-interval=2m',
    ]);
    expect(fromFlag.ok && [fromFlag.value.vaultAddr, fromFlag.value.intervalMs]).toEqual([
      'http://c:8200',
      120_000,
    ]);
  });

  it('splits and de-duplicates several key directories (split custody)', () => {
    const parsed = parseSidecarConfig({ UNSEAL_KEYS_DIR: '/keys/a, /keys/b,,/keys/a' }, []);
    expect(parsed.ok && parsed.value.keysDirs).toEqual(['/keys/a', '/keys/b']);
  });

  it('lists every problem at once, naming each setting and what it accepts', () => {
    const parsed = parseSidecarConfig(
      {
        VAULT_ADDR: 'vault:8200',
        UNSEAL_INTERVAL: '10',
        UNSEAL_MAX_BACKOFF: '100ms',
        UNSEAL_RETRY_INTERVAL: '1s',
        UNSEAL_REQUEST_TIMEOUT: '0s',
        UNSEAL_HTTP_ADDR: ':::',
        LOG_LEVEL: 'verbose',
        VAULT_SKIP_VERIFY: 'nope',
        VAULT_CLIENT_KEY: '/key.pem',
        UNSEAL_KEYS_DIR: ' , ',
      },
      ['--bogus=1', 'stray'],
    );
    expect(parsed.ok).toBe(false);
    const problems = parsed.ok ? [] : parsed.problems;
    expect(problems.map((p) => p.setting).sort()).toEqual(
      [
        '--bogus',
        'LOG_LEVEL',
        'UNSEAL_HTTP_ADDR',
        'UNSEAL_INTERVAL',
        'UNSEAL_KEYS_DIR',
        'UNSEAL_MAX_BACKOFF',
        'UNSEAL_REQUEST_TIMEOUT',
        'VAULT_ADDR',
        'VAULT_CLIENT_CERT/VAULT_CLIENT_KEY',
        'VAULT_SKIP_VERIFY',
        'stray',
      ].sort(),
    );
    expect(problems.find((p) => p.setting === 'UNSEAL_INTERVAL')?.message).toContain(
      '500ms, 5s or 2m',
    );
    expect(problems.find((p) => p.setting === 'LOG_LEVEL')?.message).toContain(
      'fatal, error, warn, info, debug, trace, silent',
    );
  });
});

describe('parseSidecarConfig, properties', () => {
  const SETTING_NAMES = [
    'VAULT_ADDR',
    'BAO_ADDR',
    'VAULT_SKIP_VERIFY',
    'UNSEAL_KEYS_DIR',
    'UNSEAL_INTERVAL',
    'UNSEAL_RETRY_INTERVAL',
    'UNSEAL_MAX_BACKOFF',
    'UNSEAL_REQUEST_TIMEOUT',
    'UNSEAL_HTTP_ADDR',
    'LOG_LEVEL',
    'VAULT_CLIENT_CERT',
    'VAULT_CLIENT_KEY',
  ];

  it('never throws: any environment gives a config or a list of problems, each naming a setting', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...SETTING_NAMES), fc.string()), (env) => {
        const parsed = parseSidecarConfig(env, []);
        if (!parsed.ok) {
          expect(parsed.problems.length).toBeGreaterThan(0);
          for (const problem of parsed.problems) expect(problem.message.length).toBeGreaterThan(0);
        }
      }),
    );
  });

  it('reads every well-formed duration exactly', () => {
    const units = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.constantFrom(...(Object.keys(units) as (keyof typeof units)[])),
        (amount, unit) => {
          const ms = amount * units[unit];
          const parsed = parseSidecarConfig({ UNSEAL_INTERVAL: `${amount}${unit}` }, []);
          // Inside the sane range, read exactly; outside it, refused with the range (item 10).
          if (ms >= 100 && ms <= 3_600_000) expect(parsed.ok && parsed.value.intervalMs).toBe(ms);
          else expect(parsed.ok).toBe(false);
        },
      ),
    );
  });
});

describe('durations out of their sane range (issue 9, item 10)', () => {
  it.each([
    // 720h would overflow Node's timer and become a 1 ms hot loop.
    ['UNSEAL_INTERVAL', '720h', 'from 100ms to 1h'],
    ['UNSEAL_INTERVAL', '1ms', 'from 100ms to 1h'],
    ['UNSEAL_RETRY_INTERVAL', '1ms', 'from 50ms to 1m'],
    ['UNSEAL_RETRY_INTERVAL', '2h', 'from 50ms to 1m'],
    ['UNSEAL_MAX_BACKOFF', '100ms', 'from 1s to 1h'],
    ['UNSEAL_MAX_BACKOFF', '9999h', 'from 1s to 1h'],
    ['UNSEAL_REQUEST_TIMEOUT', '1ms', 'from 100ms to 2m'],
    ['UNSEAL_REQUEST_TIMEOUT', '24h', 'from 100ms to 2m'],
  ])('%s=%s is refused, with the range in the message', (setting, value, range) => {
    const parsed = parseSidecarConfig({ [setting]: value }, []);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    const problem = parsed.problems.find((p) => p.setting === setting);
    expect(problem?.message).toContain(range);
  });

  it('lists every bad duration at once', () => {
    const parsed = parseSidecarConfig(
      { UNSEAL_INTERVAL: '720h', UNSEAL_RETRY_INTERVAL: '1ms', UNSEAL_REQUEST_TIMEOUT: 'soon' },
      [],
    );
    expect(parsed.ok ? [] : parsed.problems.map((p) => p.setting)).toEqual([
      'UNSEAL_INTERVAL',
      'UNSEAL_RETRY_INTERVAL',
      'UNSEAL_REQUEST_TIMEOUT',
    ]);
  });
});
