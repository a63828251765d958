import { describe, expect, it } from 'vitest';
import { createRepeatLimiter } from '../../../common/repeat-limiter.js';

describe('createRepeatLimiter', () => {
  it('logs the first occurrence, then at most once a window with the count it held back', () => {
    const limiter = createRepeatLimiter(60_000);
    expect(limiter.shouldLog('seal-status:tls', 0)).toEqual({ log: true, suppressed: 0 });
    expect(limiter.shouldLog('seal-status:tls', 1_000).log).toBe(false);
    expect(limiter.shouldLog('seal-status:tls', 2_000).log).toBe(false);
    expect(limiter.shouldLog('seal-status:tls', 60_000)).toEqual({ log: true, suppressed: 2 });
  });

  it('keeps keys apart, and forgets a whole family when the condition clears', () => {
    const limiter = createRepeatLimiter(60_000);
    limiter.shouldLog('seal-status:tls', 0);
    limiter.shouldLog('seal-status:timeout', 0);
    limiter.shouldLog('unseal:timeout', 0);
    limiter.clear('seal-status:');
    expect(limiter.shouldLog('seal-status:tls', 1).log).toBe(true);
    expect(limiter.shouldLog('seal-status:timeout', 1).log).toBe(true);
    expect(limiter.shouldLog('unseal:timeout', 1).log).toBe(false);
  });
});
