import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  INITIAL_PAUSE_SWITCH,
  nextPauseSwitch,
  parseAnnotationsFile,
  pauseStateFrom,
  type PauseRead,
  type PauseSwitch,
} from '../../../sidecar/pause.js';

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

describe('nextPauseSwitch: the switch fails closed (issue 9, item 5)', () => {
  const read = (paused: boolean): PauseRead => ({
    kind: 'read',
    state: { paused, unrecognisedValue: undefined },
  });
  const unreadable: PauseRead = {
    kind: 'unreadable',
    problem: '/podinfo/annotations is a directory',
  };
  const after = (...reads: PauseRead[]): PauseSwitch =>
    reads.reduce(nextPauseSwitch, INITIAL_PAUSE_SWITCH);

  it.each([
    // Paused, then the file became unreadable: stay paused, and say why.
    ['paused, then unreadable', [read(true), unreadable], true, 'unreadable'],
    // Unpaused, then unreadable: keep the last known state.
    ['unpaused, then unreadable', [read(false), unreadable], false, 'unreadable'],
    // Never read: pause to be safe.
    ['unreadable from the start', [unreadable], true, 'unreadable'],
    // The volume disappeared after it was read: that is unreadable too, never "no switch".
    ['paused, then the volume vanished', [read(true), { kind: 'no-volume' }], true, 'unreadable'],
    // No downward-API volume was ever there (run outside the webhook's pods): no switch to honour.
    ['no volume from the start', [{ kind: 'no-volume' }], false, 'absent'],
    ['readable again', [read(true), unreadable, read(false)], false, 'ok'],
    // Unreadable, then the directory vanished: it was there once, so still paused.
    [
      'unreadable, then the volume vanished',
      [unreadable, { kind: 'no-volume' }],
      true,
      'unreadable',
    ],
  ] as const)('%s', (_name, reads, paused, source) => {
    const state = after(...reads);
    expect(state.paused).toBe(paused);
    expect(state.source).toBe(source);
  });

  it('never unpauses on an unreadable or vanished switch, whatever came before', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.boolean().map(read),
            fc.constant(unreadable),
            fc.constant<PauseRead>({ kind: 'no-volume' }),
          ),
          { minLength: 1, maxLength: 10 },
        ),
        (reads) => {
          const before = after(...reads.slice(0, -1));
          const last = reads.at(-1)!;
          const next = nextPauseSwitch(before, last);
          // Once the volume has been seen, nothing but a read of "false" unpauses.
          if (last.kind !== 'read' && before.paused && before.volumeSeen) {
            expect(next.paused).toBe(true);
          }
        },
      ),
    );
  });
});
