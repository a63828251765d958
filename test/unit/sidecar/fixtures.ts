// Test data the sidecar's unit tests share: shares, a sealed Shamir server's status (5 shares,
// threshold 3) and the round engine's usual starting points. Each test file overrides what it is
// about; what it does not mention is this.
import type { Share } from '../../../sidecar/key-parsing.js';
import {
  FRESH_ROUND,
  INITIAL_MEMORY,
  type Memory,
  type RoundMemory,
  type SealStatus,
  type Situation,
} from '../../../sidecar/seal-round.js';

/** Share number `n`, as 66 hex digits; `group` is its key directory's place when a test needs it. */
export function share(n: number, group?: number): Share {
  const hex = n.toString(16).padStart(66, '0');
  return group === undefined ? { hex } : { hex, group };
}

/** Five distinct shares, 1 to 5. */
export const SHARES: readonly Share[] = [share(1), share(2), share(3), share(4), share(5)];

/** Back-off from 1 s, doubling up to 60 s. */
export const TIMING = { baseMs: 1_000, maxMs: 60_000 };

/** The clock of a situation, unless a test sets its own. */
export const NOW = 1_000_000;

export const sealed = (overrides: Partial<SealStatus> = {}): SealStatus => ({
  initialized: true,
  sealed: true,
  threshold: 3,
  shares: 5,
  progress: 0,
  nonce: '',
  recoverySeal: false,
  type: 'shamir',
  version: '2.7.2',
  ...overrides,
});

export const withRound = (round: Partial<RoundMemory>): Memory => ({
  ...INITIAL_MEMORY,
  round: { ...FRESH_ROUND, ...round },
});

/** Sealed, three good shares loaded, not paused, nothing remembered yet. */
export const situation = (overrides: Partial<Situation> = {}): Situation => ({
  status: sealed(),
  shares: SHARES.slice(0, 3),
  paused: false,
  memory: INITIAL_MEMORY,
  now: NOW,
  ...overrides,
});
