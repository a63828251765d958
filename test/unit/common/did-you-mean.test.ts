// The "did you mean" of unknown UNSEAL_* variables (issue 21, item 15).
import { describe, expect, it } from 'vitest';
import { closestName, editDistance } from '../../../common/did-you-mean.js';

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['abc', '', 3],
    ['', 'abc', 3],
    ['abc', 'abc', 0],
    // One insertion, one deletion, one substitution.
    ['abc', 'abxc', 1],
    ['abc', 'ac', 1],
    ['abc', 'abd', 1],
    ['kitten', 'sitting', 3],
    ['UNSEAL_KEYS_DIRS', 'UNSEAL_KEYS_DIR', 1],
  ])('%j → %j: %d', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
  });
});

describe('closestName', () => {
  const known = ['INTERVAL', 'RETRY_INTERVAL', 'KEYS_DIR', 'KEY'];

  it.each([
    ['INTERVALL', 'INTERVAL'],
    ['KEYS_DIRS', 'KEYS_DIR'],
    // Within reach of two (KEYS_DIR 2 edits, KEY 3): the nearer wins, whatever the order.
    ['KEYS_D', 'KEYS_DIR'],
    // KEY 1 edit, KEYS_DIR 4.
    ['KEYS', 'KEY'],
    // Exactly three edits is still a typo; four is not.
    ['INTERVALXYZ', 'INTERVAL'],
    ['INTERVALWXYZ', undefined],
    ['SOMETHING_ELSE', undefined],
  ])('%s → %s', (name, expected) => {
    expect(closestName(name, known)).toBe(expected);
    expect(closestName(name, [...known].reverse())).toBe(expected);
  });

  it('of two equally close, the first listed', () => {
    expect(closestName('AB', ['AC', 'AD'])).toBe('AC');
  });

  it('nothing to choose from: no suggestion', () => {
    expect(closestName('X', [])).toBeUndefined();
  });
});
