import { describe, expect, it } from 'vitest';
import { displayAddress } from '../../../sidecar/display-path.js';

describe('displayAddress', () => {
  it.each([
    // user and password
    ['https://user:pass@vault.example:8200', 'https://vault.example:8200'],
    // user only
    ['http://user@127.0.0.1:8200', 'http://127.0.0.1:8200'],
    // an `@` inside the password: the last one before the host ends the userinfo
    ['https://u:p@ss@vault:8200/x', 'https://vault:8200/x'],
    // an `@` after the authority (a path) is not userinfo
    ['https://vault:8200/a@b', 'https://vault:8200/a@b'],
    ['https://vault:8200?x=a@b', 'https://vault:8200?x=a@b'],
    ['https://vault:8200#a@b', 'https://vault:8200#a@b'],
    // nothing to strip
    ['https://127.0.0.1:8200', 'https://127.0.0.1:8200'],
    // an upper-case scheme, an IPv6 host
    ['HTTPS://a:b@[::1]:8200', 'HTTPS://[::1]:8200'],
  ])('shows %s as %s', (address, shown) => {
    expect(displayAddress(address)).toBe(shown);
  });
});
