import { describe, expect, it } from 'vitest';
import { parseAnnotationsFile, pauseStateFrom } from '../../../sidecar/pause.js';

// What the kubelet writes for `fieldRef: metadata.annotations`: key="value" lines, Go-quoted.
const KUBELET_FILE = [
  'kubernetes.io/config.seen="2026-11-22T08:00:00.000000000Z"',
  'vault-autounseal.io/inject="true"',
  'vault-autounseal.io/paused="true"',
  'example.com/json="{\\"a\\":[1,2]}\\n"',
].join('\n');

describe('parseAnnotationsFile', () => {
  it('reads the kubelet format, unquoting Go escapes', () => {
    const annotations = parseAnnotationsFile(KUBELET_FILE);
    expect(annotations.get('vault-autounseal.io/paused')).toBe('true');
    expect(annotations.get('example.com/json')).toBe('{"a":[1,2]}\n');
    expect(annotations.size).toBe(4);
  });

  it('skips lines it cannot read instead of failing', () => {
    expect([...parseAnnotationsFile('garbage\nk="unterminated\nok="1"').entries()]).toEqual([
      ['ok', '1'],
    ]);
  });
});

describe('pauseStateFrom', () => {
  it.each([
    [undefined, { paused: false, unrecognisedValue: undefined }],
    ['true', { paused: true, unrecognisedValue: undefined }],
    ['false', { paused: false, unrecognisedValue: undefined }],
    ['', { paused: false, unrecognisedValue: undefined }],
    // A typo during an incident pauses: unsealing a Vault sealed on purpose is the worse mistake.
    ['ture', { paused: true, unrecognisedValue: 'ture' }],
  ])('%j → %j', (value, expected) => {
    const annotations = new Map(value === undefined ? [] : [['vault-autounseal.io/paused', value]]);
    expect(pauseStateFrom(annotations)).toEqual(expected);
  });
});
