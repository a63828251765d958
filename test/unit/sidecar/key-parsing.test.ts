import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeShare,
  distinctShares,
  isKeyFileName,
  parseKeyFile,
  parseKeyFileFrom,
} from '../../../sidecar/key-parsing.js';

const SHARE = randomBytes(33);
const HEX = SHARE.toString('hex');
const B64 = SHARE.toString('base64');

describe('decodeShare', () => {
  it.each([
    ['hex', HEX],
    ['upper-case hex', HEX.toUpperCase()],
    ['base64', B64],
    // A trailing newline from `echo` or a Secret's data must not change the share.
    ['hex with a newline', `${HEX}\n`],
    ['base64 with spaces', `  ${B64}  \n`],
  ])('reads %s', (_name, text) => {
    expect(decodeShare(text)).toEqual({ ok: true, shares: [{ hex: HEX }] });
  });

  it('reads a dev-mode single key (32 bytes)', () => {
    const key = randomBytes(32);
    expect(decodeShare(key.toString('base64'))).toEqual({
      ok: true,
      shares: [{ hex: key.toString('hex') }],
    });
  });

  it.each([
    ['', 'empty'],
    ['not a key!', 'not a hex or base64 share'],
    ['abcd', 'wrong length: a share decodes to 16–33 bytes'],
    [randomBytes(40).toString('base64'), 'wrong length: a share decodes to 16–33 bytes'],
  ])('refuses %j: %s', (text, problem) => {
    expect(decodeShare(text)).toEqual({ ok: false, problem });
  });

  it('never puts the input into the problem it reports', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 8 }), (text) => {
        const result = decodeShare(text);
        if (!result.ok) expect(result.problem).not.toContain(text.trim());
      }),
    );
  });

  it('hex and base64 of any share decode to the same bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 33 }), (bytes) => {
        const buffer = Buffer.from(bytes);
        const fromHex = decodeShare(buffer.toString('hex'));
        const fromB64 = decodeShare(buffer.toString('base64'));
        expect(fromHex).toEqual({ ok: true, shares: [{ hex: buffer.toString('hex') }] });
        // A base64 text that also happens to be valid hex is read as hex, as the server does.
        if (!/^[0-9a-fA-F]+$/.test(buffer.toString('base64'))) expect(fromB64).toEqual(fromHex);
      }),
    );
  });
});

describe('parseKeyFile', () => {
  const shares = [randomBytes(33), randomBytes(33), randomBytes(33)];
  const expected = shares.map((s) => ({ hex: s.toString('hex') }));

  it('reads `operator init -format=json` (OpenBao prints null recovery keys)', () => {
    const json = JSON.stringify({
      unseal_keys_b64: shares.map((s) => s.toString('base64')),
      unseal_keys_hex: shares.map((s) => s.toString('hex')),
      unseal_shares: 3,
      unseal_threshold: 2,
      recovery_keys_b64: null,
      recovery_keys_hex: null,
      root_token: 's.xxxxxxxxxxxxxxxxxxxxxxxx',
    });
    // The root token is named as a problem (key-parsing.root-token.test.ts); the shares are used.
    expect(parseKeyFile(json)).toEqual({ ok: true, shares: expected, rootToken: true });
  });

  it("reads Vault's CLI output with empty recovery lists", () => {
    const json = JSON.stringify({
      unseal_keys_b64: [],
      unseal_keys_hex: shares.map((s) => s.toString('hex')),
      recovery_keys_b64: [],
    });
    expect(parseKeyFile(json)).toEqual({ ok: true, shares: expected });
  });

  it('reads the body of PUT /v1/sys/init', () => {
    expect(parseKeyFile(JSON.stringify({ keys: shares.map((s) => s.toString('hex')) }))).toEqual({
      ok: true,
      shares: expected,
    });
    expect(
      parseKeyFile(JSON.stringify({ keys_base64: shares.map((s) => s.toString('base64')) })),
    ).toEqual({
      ok: true,
      shares: expected,
    });
  });

  it.each([
    ['{ not json', 'invalid JSON'],
    [
      '{"root_tokens":"s.abc"}',
      'JSON without unseal keys (expected unseal_keys_b64, unseal_keys_hex, keys_base64 or keys)',
    ],
    ['{"keys":["zz"]}', 'not a hex or base64 share'],
    ['a'.repeat(70_000), 'too large'],
  ])('refuses %s', (content, problem) => {
    expect(parseKeyFile(content)).toEqual({ ok: false, problem });
  });
});

describe('parseKeyFileFrom: where each share came from', () => {
  const shares = [randomBytes(33), randomBytes(33), randomBytes(33)];

  it.each([
    // One share per file: the file is the origin.
    ['a hex file', `${shares[0]!.toString('hex')}\n`, ['/keys/key-0']],
    ['a base64 file', shares[0]!.toString('base64'), ['/keys/key-0']],
    // A JSON file holds many: the n-th share (from 1) is `file#n`.
    [
      'an operator init JSON',
      JSON.stringify({ unseal_keys_hex: shares.map((s) => s.toString('hex')) }),
      ['/keys/key-0#1', '/keys/key-0#2', '/keys/key-0#3'],
    ],
    [
      'a PUT /v1/sys/init body, indented',
      `  ${JSON.stringify({ keys_base64: shares.map((s) => s.toString('base64')) }, null, 2)}`,
      ['/keys/key-0#1', '/keys/key-0#2', '/keys/key-0#3'],
    ],
  ])('labels the shares of %s', (_name, content, origins) => {
    const parsed = parseKeyFileFrom(content, '/keys/key-0');
    expect(parsed.ok && parsed.shares.map((s) => s.origin)).toEqual(origins);
  });

  it('gives the same shares as parseKeyFile, and the same problems', () => {
    const json = JSON.stringify({ keys: shares.map((s) => s.toString('hex')) });
    const plain = parseKeyFile(json);
    const sourced = parseKeyFileFrom(json, 'f');
    expect(sourced.ok && sourced.shares.map((s) => ({ hex: s.hex }))).toEqual(
      plain.ok && plain.shares,
    );
    expect(parseKeyFileFrom('{ not json', 'f')).toEqual({ ok: false, problem: 'invalid JSON' });
  });
});

describe('distinctShares', () => {
  it('keeps the first origin of a share that several files hold', () => {
    const hex = HEX;
    expect(
      distinctShares([
        { hex, origin: '/a/key-hex' },
        { hex: '00'.repeat(16), origin: '/a/other' },
        { hex, origin: '/b/key-base64' },
      ]),
    ).toEqual([
      { hex, origin: '/a/key-hex' },
      { hex: '00'.repeat(16), origin: '/a/other' },
    ]);
  });

  it('counts a share once however often and however it was written', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5 })), (picks) => {
        const pool = Array.from({ length: 6 }, (_, i) => ({
          hex: i.toString(16).padStart(66, '0'),
        }));
        const result = distinctShares(picks.map((i) => pool[i]!));
        expect(result.length).toBe(new Set(picks).size);
      }),
    );
  });
});

describe('isKeyFileName', () => {
  it.each([
    ['key-0', true],
    ['..data', false],
    ['..2026_11_22_08_00_00.123', false],
    ['.swp', false],
  ])('%s → %s', (name, expected) => {
    expect(isKeyFileName(name)).toBe(expected);
  });
});
