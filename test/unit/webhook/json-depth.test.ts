import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../../../webhook/json-depth.js';

const nested = (depth: number): unknown =>
  JSON.parse('{"a":'.repeat(depth) + '1' + '}'.repeat(depth)) as unknown;

describe('nestsDeeperThan', () => {
  it.each([
    [nested(0), 0, false], // a scalar has no depth
    [nested(1), 1, false],
    [nested(2), 1, true],
    [[[[]]], 3, false],
    [[[[[]]]], 3, true],
    [{ a: [1, { b: 2 }] }, 3, false], // object, array, object
    [{ a: [1, { b: {} }] }, 3, true],
  ])('%j within %d levels: deeper is %s', (value, max, deeper) => {
    expect(nestsDeeperThan(value, max)).toBe(deeper);
  });

  it('walks 400,000 levels without a stack overflow', () => {
    expect(nestsDeeperThan(nested(400_000), MAX_JSON_DEPTH)).toBe(true);
  });
});
