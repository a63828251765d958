// parseDuration at the edge of what a number can hold: a value too large for a double is refused,
// never turned into Infinity (a timer of Infinity ms would fire at once: Node clamps it to 1 ms).
import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../../common/duration.js';

describe('parseDuration', () => {
  it.each([
    // 400 nines overflow a double: Number() gives Infinity.
    [`${'9'.repeat(400)}s`],
    [`${'9'.repeat(400)}ms`],
    [`${'9'.repeat(310)}.5h`],
  ])('refuses %s', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('still reads the largest durations a double holds', () => {
    expect(parseDuration(`${'9'.repeat(300)}ms`)).toBe(Number(`${'9'.repeat(300)}`));
  });
});
