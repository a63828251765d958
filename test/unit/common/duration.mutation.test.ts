// Rules of duration parsing that the mutation run (docs/mutation.md) showed no test held: each
// test here failed against at least one surviving mutant of common/duration.ts.
import { describe, expect, it } from 'vitest';
import { checkDuration, parseDuration } from '../../../common/duration.js';

describe('parseDuration', () => {
  it.each([
    // Go's compound form is not read as its first part: 1h30m is not 1h.
    ['1h30m'],
    // A sign, or anything before or after the number and its unit.
    ['-5s'],
    ['5s0'],
    ['about 5s'],
  ])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it.each([
    // Fractions, with one digit or several.
    ['1.5s', 1_500],
    ['0.25m', 15_000],
    ['1.125h', 4_050_000],
  ])('reads %s as %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it('ignores blanks around the value (a value read from a file ends with a newline)', () => {
    expect(parseDuration(' 5s\n')).toBe(5_000);
  });
});

describe('checkDuration', () => {
  const range = { minMs: 100, maxMs: 3_600_000 };

  it.each([
    // Both ends of the range are accepted.
    ['100ms', 100],
    ['1h', 3_600_000],
  ])('accepts %s, an end of the range', (text, ms) => {
    expect(checkDuration(text, range)).toEqual({ ok: true, ms });
  });

  it.each([['99ms'], ['3600001ms']])('refuses %s, just outside it, naming the range', (text) => {
    expect(checkDuration(text, range)).toEqual({
      ok: false,
      message: `"${text}" is out of range: a duration from 100ms to 1h (such as 500ms, 5s or 2m)`,
    });
  });
});
