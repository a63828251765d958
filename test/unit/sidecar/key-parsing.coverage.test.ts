// Key files that look like shares but are not: what the operator is told.
import { describe, expect, it } from 'vitest';
import { parseKeyFile } from '../../../sidecar/key-parsing.js';

describe('parseKeyFile', () => {
  it.each([
    // Hex of an odd length, and too short to be base64 of a share: a share with a digit lost.
    ['a'.repeat(65), 'wrong length: a share decodes to 16–33 bytes'],
    // Hex of 15 bytes: a share is 16–33 bytes.
    ['ab'.repeat(15), 'wrong length: a share decodes to 16–33 bytes'],
    // Neither hex nor base64 at all.
    ['not a share!', 'not a hex or base64 share'],
  ])('%s: %s', (content, problem) => {
    expect(parseKeyFile(content)).toEqual({ ok: false, problem });
  });

  it.each([
    // [the JSON, why]: every listed share must decode, and a share is a string.
    ['{"keys": [12345]}', 'a number'],
    ['{"unseal_keys_b64": [null]}', 'null'],
    ['{"keys_base64": [{"key": "x"}]}', 'an object'],
  ])('refuses init JSON whose list holds %s (%s), as an empty share', (content) => {
    expect(parseKeyFile(content)).toEqual({ ok: false, problem: 'empty' });
  });
});
