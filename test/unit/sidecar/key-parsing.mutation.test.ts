// Rules of key-file parsing that the mutation run (docs/mutation.md) showed no test held: each
// test here failed against at least one surviving mutant of sidecar/key-parsing.ts.
import { describe, expect, it } from 'vitest';
import { decodeShare, parseKeyFile } from '../../../sidecar/key-parsing.js';

// 32 bytes whose standard base64 holds both "+" (from fb ef be) and "/" (from ff ff ff).
const BYTES = Buffer.from([
  0xfb,
  0xef,
  0xbe,
  0xff,
  0xff,
  0xff,
  ...Array.from({ length: 26 }, (_, i) => i),
]);
const BASE64 = BYTES.toString('base64');

describe('what the server would refuse is refused here too', () => {
  it('holds "+" and "/" in the standard base64 this test relies on', () => {
    expect(BASE64).toMatch(/\+/);
    expect(BASE64).toMatch(/\//);
    expect(decodeShare(BASE64)).toEqual({ ok: true, shares: [{ hex: BYTES.toString('hex') }] });
  });

  it.each([
    // URL-safe base64: the server decodes padded standard base64 only.
    ['URL-safe base64', BASE64.replaceAll('+', '-').replaceAll('/', '_')],
    // A stray character before or after an otherwise good share.
    ['a leading stray character', `*${BASE64.slice(1)}`],
    ['a trailing stray character', `${BASE64.slice(0, -1)}*`],
  ])('%s is not a share', (_name, text) => {
    expect(decodeShare(text)).toEqual({ ok: false, problem: 'not a hex or base64 share' });
  });

  it('hex of an odd length is not a whole number of bytes', () => {
    expect(decodeShare('a'.repeat(33))).toEqual({
      ok: false,
      problem: 'wrong length: a share decodes to 16–33 bytes',
    });
  });

  it.each([
    // 33 bytes is the longest share the server takes (a 32-byte share plus its x coordinate).
    ['33 bytes of hex', 'ab'.repeat(33), true],
    ['33 bytes of base64', Buffer.alloc(33, 7).toString('base64'), true],
    ['34 bytes of hex', 'ab'.repeat(34), false],
    ['34 bytes of base64', Buffer.alloc(34, 7).toString('base64'), false],
  ])('%s is a share: %s', (_name, text, ok) => {
    expect(decodeShare(text).ok).toBe(ok);
  });

  it('a JSON key list with something other than a string fails without throwing', () => {
    expect(parseKeyFile(JSON.stringify({ keys: [BYTES.toString('hex'), 42] }))).toEqual({
      ok: false,
      problem: 'empty',
    });
  });
});
