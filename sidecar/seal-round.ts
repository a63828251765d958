// The unseal round engine: given what the server last said, the shares we hold and what we already
// sent in this round, what next? Pure functions over plain data; the loop in unsealer.ts does the I/O.
// Why each rule exists is in ../shared/vault-api.md ("Traps, in one list").
import type { Share } from './key-parsing.js';

/** The fields of `GET /v1/sys/seal-status` (and of an unseal answer) that decisions use. */
export interface SealStatus {
  readonly initialized: boolean;
  readonly sealed: boolean;
  /** Threshold `t`; with a recovery seal it describes recovery keys. 0 when not initialised. */
  readonly threshold: number;
  readonly shares: number;
  readonly progress: number;
  /** Identifies the open round; `""` when none is open. */
  readonly nonce: string;
  readonly recoverySeal: boolean;
  readonly type: string;
  readonly version: string;
}

/** What this sidecar sent in the round identified by `nonce`. Held in memory only. */
export interface RoundMemory {
  readonly nonce: string;
  /** Hex of the shares sent in this round. Never logged or reported. */
  readonly submitted: readonly string[];
  /** The round already had shares from someone else when we joined it. */
  readonly joinedForeignRound: boolean;
  /** Set when our last share was accepted but the node stayed sealed (a raft follower joining). */
  readonly awaitingSince: number | undefined;
}

export const FRESH_ROUND: RoundMemory = Object.freeze({
  nonce: '',
  submitted: [],
  joinedForeignRound: false,
  awaitingSince: undefined,
});

/** After the last share a raft follower may answer sealed with progress 0 while it joins. */
export const AWAIT_UNSEAL_MS = 30_000;

export type BlockReason = 'paused' | 'recovery-seal' | 'insufficient-keys' | 'wrong-keys';

export type Action =
  | { readonly kind: 'idle'; readonly reason: 'unsealed' | 'not-initialized' }
  | { readonly kind: 'blocked'; readonly reason: BlockReason }
  | { readonly kind: 'await-unseal' }
  | { readonly kind: 'submit'; readonly share: Share }
  | { readonly kind: 'reset' };

export interface Situation {
  readonly status: SealStatus;
  /** Distinct valid shares, in a stable order. */
  readonly shares: readonly Share[];
  readonly paused: boolean;
  readonly round: RoundMemory;
  /** Until this time (ms) a rejected key set is not tried again. */
  readonly backoffUntil: number;
  readonly now: number;
}

/**
 * Forgets our part of a round the server no longer has: the nonce changed (someone finished or
 * reset it) or no round is open. Call with every fresh status before deciding.
 */
export function reconcileRound(round: RoundMemory, status: SealStatus, now: number): RoundMemory {
  if (!status.sealed || !status.initialized) return FRESH_ROUND;
  if (round.awaitingSince !== undefined) {
    return now - round.awaitingSince < AWAIT_UNSEAL_MS ? round : FRESH_ROUND;
  }
  if (status.nonce === '' || status.progress === 0) return FRESH_ROUND;
  if (round.nonce !== '' && round.nonce !== status.nonce) return FRESH_ROUND;
  return round;
}

/** What to do next. Unsealed ⇒ idle; paused ⇒ nothing is submitted; fewer than t shares ⇒ nothing. */
export function decide(situation: Situation): Action {
  const { status, shares, round } = situation;
  if (!status.initialized) return { kind: 'idle', reason: 'not-initialized' };
  if (status.recoverySeal) return { kind: 'blocked', reason: 'recovery-seal' };
  if (!status.sealed) return { kind: 'idle', reason: 'unsealed' };
  // Sealed with t = 0: the server is in the middle of its own init. Nothing to do yet.
  if (status.threshold < 1) return { kind: 'idle', reason: 'not-initialized' };
  if (situation.paused) return { kind: 'blocked', reason: 'paused' };
  if (round.awaitingSince !== undefined) return { kind: 'await-unseal' };
  if (shares.length < status.threshold) {
    return { kind: 'blocked', reason: 'insufficient-keys' };
  }
  if (situation.now < situation.backoffUntil) return { kind: 'blocked', reason: 'wrong-keys' };
  const next = shares.find((share) => !round.submitted.includes(share.hex));
  // Every share we hold is already in this round and it is still open: it can only have been
  // filled by others' shares, so clear it and start a clean one.
  return next ? { kind: 'submit', share: next } : { kind: 'reset' };
}

/** How the server answered one `PUT /v1/sys/unseal`. */
export type UnsealAnswer =
  | { readonly kind: 'status'; readonly status: SealStatus }
  /** 400 (500 on Vault 1.3–1.12) at the threshold: the round's share set is wrong. */
  | { readonly kind: 'rejected' }
  /** Anything else: timeout, connection error, an unexpected status. */
  | { readonly kind: 'error'; readonly wasLastShare: boolean };

export type RoundEvent =
  | 'unsealed'
  | 'progress'
  | 'duplicate'
  | 'awaiting-unseal'
  | 'rejected'
  | 'rejected-foreign-round'
  | 'error';

/** Folds one answer into the round memory, and names what happened. */
export function afterSubmit(
  round: RoundMemory,
  sent: { readonly share: Share; readonly progressBefore: number },
  answer: UnsealAnswer,
  now: number,
): { round: RoundMemory; event: RoundEvent } {
  if (answer.kind === 'rejected') {
    return {
      round: FRESH_ROUND,
      event: round.joinedForeignRound ? 'rejected-foreign-round' : 'rejected',
    };
  }
  const submitted = [...round.submitted, sent.share.hex];
  if (answer.kind === 'error') {
    const awaitingSince = answer.wasLastShare ? now : undefined;
    return { round: { ...round, submitted, awaitingSince }, event: 'error' };
  }
  const { status } = answer;
  if (!status.sealed) return { round: FRESH_ROUND, event: 'unsealed' };
  if (status.progress === 0) {
    // Accepted at the threshold, yet still sealed: a raft follower joining. Poll, never resubmit.
    return { round: { ...FRESH_ROUND, awaitingSince: now }, event: 'awaiting-unseal' };
  }
  const joinedForeignRound =
    round.submitted.length === 0 ? sent.progressBefore > 0 : round.joinedForeignRound;
  const next: RoundMemory = {
    nonce: status.nonce,
    submitted,
    joinedForeignRound,
    awaitingSince: undefined,
  };
  return { round: next, event: status.progress > sent.progressBefore ? 'progress' : 'duplicate' };
}

/** Exponential back-off after the n-th consecutive rejection of one key set, capped. */
export function backoffDelay(rejections: number, baseMs: number, maxMs: number): number {
  if (rejections <= 0) return 0;
  return Math.min(maxMs, baseMs * 2 ** Math.min(rejections - 1, 30));
}

/** Unseal errors that mean "this share set is wrong", across OpenBao and Vault versions. */
export function isKeySetRejection(httpStatus: number, message: string): boolean {
  if (httpStatus !== 400 && httpStatus !== 500) return false;
  return /invalid key|message authentication failed|duplicate part|all parts must be the same length/i.test(
    message,
  );
}
