// When a failure to reach the server is logged as a warning (a routine restart) and when as an
// error (sidecar/outage-level.ts).
import { describe, expect, it } from 'vitest';
import {
  isRestartLike,
  outageLevel,
  RESTART_GRACE_MS,
  ROUTINE_FAILURES,
} from '../../../sidecar/outage-level.js';
import type { VaultFailure } from '../../../sidecar/vault-client.js';

const refused: VaultFailure = { code: 'unreachable', message: 'x', errno: 'ECONNREFUSED' };
const NOW = 1_000_000;
const inWindow = { restartExpectedUntil: NOW + 1, consecutiveFailures: 50, now: NOW };
const pastWindow = { restartExpectedUntil: NOW, consecutiveFailures: 1, now: NOW };

describe('a failure that looks like a restart', () => {
  it.each(['ECONNREFUSED', 'ECONNRESET', 'EPIPE'])('is %s on an unreachable server', (errno) => {
    expect(isRestartLike({ code: 'unreachable', errno })).toBe(true);
  });
  it.each([
    [{ code: 'unreachable', errno: 'ENOTFOUND' }],
    [{ code: 'unreachable', errno: 'EHOSTUNREACH' }],
    [{ code: 'unreachable' }],
    [{ code: 'timeout', errno: 'ECONNREFUSED' }],
    [{ code: 'tls' }],
    [{ code: 'http' }],
  ] as const)('is not %j', (failure) => {
    expect(isRestartLike(failure)).toBe(false);
  });
});

describe('the level of a failure', () => {
  it('is warn for a refusal inside the restart window, however many checks failed', () => {
    expect(outageLevel(refused, inWindow)).toBe('warn');
  });
  it(`is warn for the first ${ROUTINE_FAILURES} refusals in a row past the window, then error`, () => {
    for (let n = 1; n <= ROUTINE_FAILURES; n++) {
      expect(outageLevel(refused, { ...pastWindow, consecutiveFailures: n })).toBe('warn');
    }
    expect(outageLevel(refused, { ...pastWindow, consecutiveFailures: ROUTINE_FAILURES + 1 })).toBe(
      'error',
    );
  });
  it('is error at once for what a restart does not look like, even in the window', () => {
    expect(outageLevel({ code: 'timeout' }, inWindow)).toBe('error');
    expect(outageLevel({ code: 'unreachable', errno: 'ENOTFOUND' }, inWindow)).toBe('error');
  });
  it('gives the window a length a pod restart fits in: 30 s', () => {
    expect(RESTART_GRACE_MS).toBe(30_000);
  });
});
