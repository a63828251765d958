// The VAULT_ADDR rules both programs judge by (common/vault-settings.ts): what counts as loopback,
// what is shown of an address, and what is refused with which reason.
import { describe, expect, it } from 'vitest';
import {
  checkVaultAddress,
  displayAddress,
  isLoopbackHost,
} from '../../../common/vault-settings.js';

describe('isLoopbackHost', () => {
  it.each([
    ['localhost', true],
    ['LOCALHOST', true],
    ['127.0.0.1', true],
    // every octet may have one to three digits
    ['127.10.0.1', true],
    ['127.0.10.1', true],
    ['127.0.0.10', true],
    ['127.255.255.254', true],
    ['[::1]', true],
    // ::ffff:127.0.0.1 and ::ffff:127.1.2.3 as the URL parser writes them
    ['[::ffff:7f00:1]', true],
    ['[::ffff:7f01:203]', true],
    ['[::ffff:7f00:100]', true],
    // a DNS name that starts like a loopback address is not one (nip.io-style names exist)
    ['127.0.0.1.nip.io', false],
    ['1127.0.0.1', false],
    ['x[::ffff:7f00:1]', false],
    ['[::ffff:7f00:1]x', false],
    ['[::ffff:a00:1]', false],
    ['10.0.0.1', false],
    ['vault.vault.svc', false],
    ['[::2]', false],
  ])('%s → %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });
});

describe('displayAddress', () => {
  it.each([
    // text without a scheme is cleaned the same way
    ['user:pass@vault:8200', 'vault:8200'],
    ['https://user:pass@vault:8200', 'https://vault:8200'],
    ['https://vault:8200', 'https://vault:8200'],
  ])('shows %s as %s', (text, shown) => {
    expect(displayAddress(text)).toBe(shown);
  });
});

describe('checkVaultAddress', () => {
  it('accepts a host named unix: only a unix:// scheme is a socket', () => {
    expect(checkVaultAddress('http://unix:8200')).toEqual({
      ok: true,
      address: 'http://unix:8200',
      host: 'unix',
      loopback: false,
    });
  });

  it('refuses a unix:// socket with its own reason', () => {
    const check = checkVaultAddress('unix:///run/vault.sock');
    expect(check).toEqual({ ok: false, message: expect.stringContaining('is a unix socket') });
  });

  it.each(['vault:8200', 'ftp://vault:8200', 'not a url', ''])(
    'refuses %j as not an http(s) address',
    (text) => {
      const check = checkVaultAddress(text);
      expect(check).toEqual({
        ok: false,
        message: `${JSON.stringify(text)} is not an http:// or https:// address`,
      });
    },
  );

  describe('clips the shown value at maxShown characters', () => {
    it('a value of exactly maxShown is shown whole', () => {
      const text = `ftp://${'a'.repeat(14)}`; // 20 characters
      const check = checkVaultAddress(text, 20);
      expect(check).toEqual({
        ok: false,
        message: `"${text}" is not an http:// or https:// address`,
      });
    });

    it('a longer value is cut to maxShown characters, the last three "..."', () => {
      const text = `ftp://${'a'.repeat(15)}`; // 21 characters
      const check = checkVaultAddress(text, 20);
      expect(check).toEqual({
        ok: false,
        message: `"ftp://${'a'.repeat(11)}..." is not an http:// or https:// address`,
      });
    });
  });
});
