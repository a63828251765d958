// Rules of the pause switch that the mutation run (docs/mutation.md) showed no test held: each
// test here failed against at least one surviving mutant of sidecar/pause.ts.
import { describe, expect, it } from 'vitest';
import {
  INITIAL_PAUSE_SWITCH,
  nextPauseSwitch,
  parseAnnotationsFile,
  pauseStateFrom,
  type PauseRead,
  type PauseSwitch,
} from '../../../sidecar/pause.js';

const KEY = 'vault-autounseal.io/paused';

/** The pause state for one annotations file, as the sidecar reads it. */
const stateOf = (file: string): ReturnType<typeof pauseStateFrom> =>
  pauseStateFrom(parseAnnotationsFile(file));

describe('the annotation values', () => {
  it.each([
    // Every spelling of "on" pauses, every spelling of "off" (and the empty value) resumes.
    ['true', true],
    ['1', true],
    ['yes', true],
    ['on', true],
    ['false', false],
    ['0', false],
    ['no', false],
    ['off', false],
    ['', false],
    // Case and surrounding blanks inside the quotes do not matter.
    [' FALSE ', false],
    [' On ', true],
  ])('"%s" → paused %s', (value, paused) => {
    expect(stateOf(`${KEY}="${value}"`)).toEqual({ paused, unrecognisedValue: undefined });
  });
});

describe('the kubelet file', () => {
  it('tolerates blanks around "=" and a trailing carriage return', () => {
    expect(stateOf(`${KEY} = "false"\r\nother="x"`)).toEqual({
      paused: false,
      unrecognisedValue: undefined,
    });
    expect(stateOf(`  ${KEY}="true"  `).paused).toBe(true);
  });

  it('keeps an empty value, and skips a line without a key', () => {
    expect([...parseAnnotationsFile('a=""\n="true"').entries()]).toEqual([['a', '']]);
  });

  it.each([
    // Go's strconv.Quote (the kubelet's quoting) writes control characters as \x.., \a or \v, and
    // non-printable characters as \u.... or \U........: every one decodes to the real value.
    ['\\x01', '\u0001'],
    ['\\a', '\u0007'],
    ['\\v', '\u000b'],
    ['\\u200b', '\u200b'],
    ['\\U000e0001', '\u{e0001}'],
    // An escaped backslash is a backslash, even when "x41" follows it.
    ['\\\\x41', '\\x41'],
  ])('decodes the Go escape %s', (escaped, decoded) => {
    expect(parseAnnotationsFile(`k="a${escaped}b"`).get('k')).toBe(`a${decoded}b`);
  });

  it.each([
    // A value with a character the kubelet escapes is not "true": paused, and it says which
    // value it did not understand. It must never read as "no annotation", which resumes.
    ['true\\a', { paused: true, unrecognisedValue: 'true\u0007' }],
    ['true\\x01', { paused: true, unrecognisedValue: 'true\u0001' }],
    ['true\\U000e0001', { paused: true, unrecognisedValue: 'true\u{e0001}' }],
    // A vertical tab is a blank, trimmed like a space: plain "true".
    ['true\\v', { paused: true, unrecognisedValue: undefined }],
  ])('pauses on "%s"', (escaped, expected) => {
    expect(stateOf(`${KEY}="${escaped}"`)).toEqual(expected);
  });
});

describe('the switch before and between reads', () => {
  const unreadable: PauseRead = { kind: 'unreadable', problem: 'EACCES' };
  const after = (...reads: PauseRead[]): PauseSwitch =>
    reads.reduce(nextPauseSwitch, INITIAL_PAUSE_SWITCH);

  it('starts closed: paused, never read, saying so', () => {
    expect(INITIAL_PAUSE_SWITCH).toEqual({
      paused: true,
      unrecognisedValue: undefined,
      source: 'unreadable',
      problem: 'not read yet',
      everRead: false,
      volumeSeen: false,
    });
  });

  it('an unreadable switch at start is reported as never read', () => {
    expect(after(unreadable)).toMatchObject({ paused: true, everRead: false, problem: 'EACCES' });
  });

  it('no volume at start, then a volume whose file cannot be read: paused', () => {
    expect(after({ kind: 'no-volume' }, unreadable)).toMatchObject({
      paused: true,
      source: 'unreadable',
      everRead: false,
    });
  });

  it('a volume that vanishes after a read says so', () => {
    const read: PauseRead = {
      kind: 'read',
      state: { paused: false, unrecognisedValue: undefined },
    };
    expect(after(read, { kind: 'no-volume' })).toMatchObject({
      paused: false,
      source: 'unreadable',
      problem: 'the pod-info directory disappeared',
    });
    expect(after(read, unreadable).problem).toBe('EACCES');
  });
});
