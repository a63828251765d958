// Our SHA-256 (sidecar/sha256.ts) gives what node:crypto gives: the key snapshot's fingerprint
// stays the same cryptographic hash without loading node:crypto (docs/footprint.md, third pass).
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../sidecar/sha256.js';

const nodeSha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('sha256Hex', () => {
  it.each([
    // FIPS 180-4's examples, and the empty message.
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    [
      'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq',
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    ],
  ])('hashes %j as FIPS 180-4 says', (text, digest) => {
    expect(sha256Hex(text)).toBe(digest);
  });

  // Lengths around the block edges: 55 bytes still fit the length in one block, 56 do not.
  it.each([55, 56, 63, 64, 65, 119, 120, 128, 1000])('agrees with node:crypto at %i bytes', (n) => {
    const text = 'k'.repeat(n);
    expect(sha256Hex(text)).toBe(nodeSha256(text));
  });

  it('agrees with node:crypto on any text, multi-byte UTF-8 included', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        expect(sha256Hex(text)).toBe(nodeSha256(text));
      }),
    );
  });

  it('agrees with node:crypto on share sets as the fingerprint joins them', () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[0-9a-f]{66}$/), { minLength: 1, maxLength: 10 }),
        (shares) => {
          const joined = [...shares].sort().join(',');
          expect(sha256Hex(joined)).toBe(nodeSha256(joined));
        },
      ),
    );
  });
});
