// The unseal round engine: given what the server last said, the shares we hold and one small
// record of what we did (the open round, the candidate share sets the server rejected, the
// back-off), what next? Pure functions over plain data; the loop in unsealer.ts does the I/O.
// Why each rule exists: docs/adr/0001-unseal-rounds.md.
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
  /** How many of our submissions moved the server's progress. */
  readonly counted: number;
  /**
   * The round holds shares that are not ours: progress was above what we had put in. Known at
   * submit time, so a failure of such a round is never taken for a rejection of our key set.
   */
  readonly foreign: boolean;
  /** Set when our last share was accepted but the node stayed sealed (a raft follower joining). */
  readonly awaitingSince: number | undefined;
}

export const FRESH_ROUND: RoundMemory = Object.freeze({
  nonce: '',
  submitted: [],
  counted: 0,
  foreign: false,
  awaitingSince: undefined,
});

/**
 * The search for a working set of `t` shares among the loaded ones. A key set with one stale share
 * (a file left over after a rekey, one stale Secret in split custody) still holds a working set:
 * after a rejection of a round made of our shares alone, the next clean round tries the next
 * candidate set, in a bounded, deterministic order (`candidateSet`).
 */
export interface SearchMemory {
  /** The key set (its fingerprint) these facts are about; a new key set starts a new search. */
  readonly keySet: string;
  /** Index of the candidate set the next clean round uses. Kept after an unseal: it worked. */
  readonly candidate: number;
  /** Candidate sets the server rejected in this search, as indices into the shares. */
  readonly rejected: readonly (readonly number[])[];
  /** Every candidate was rejected: the key set as a whole does not unseal this server. */
  readonly exhausted: boolean;
  /**
   * The exhaustion was reported (logged at error level). Cleared when the server is unsealed (by
   * anyone) or the key set changes, so a rejection in a later episode is reported again.
   */
  readonly reported: boolean;
  /** Hex of the shares a working set showed to be bad. Kept until the key set changes. */
  readonly suspects: readonly string[];
  /**
   * The verdict: every candidate of this key set was rejected, and no round of ours has unsealed
   * the server since. Unlike `exhausted`, it outlasts the back-off and an unseal by someone else
   * (an operator by hand): only a new key set or our own unseal clears it. Until then the next
   * restart stays sealed, so it stays visible.
   */
  readonly keySetRejected: boolean;
}

export interface BackoffMemory {
  /** Why we wait: the key set was rejected, or the server failed our requests. */
  readonly reason: 'wrong-keys' | 'errors' | undefined;
  /** Consecutive exhausted searches of this key set. */
  readonly rejections: number;
  /** Consecutive failed requests (5xx, timeouts, unparsable answers) since the last good answer. */
  readonly errors: number;
  /** No submission before this time (ms). */
  readonly until: number;
}

/** Everything the loop remembers between checks; every "what next" derives from it plus what it sees. */
export interface Memory {
  readonly round: RoundMemory;
  readonly search: SearchMemory;
  readonly backoff: BackoffMemory;
}

const NO_BACKOFF: BackoffMemory = Object.freeze({
  reason: undefined,
  rejections: 0,
  errors: 0,
  until: 0,
});

const newSearch = (keySet: string): SearchMemory => ({
  keySet,
  candidate: 0,
  rejected: [],
  exhausted: false,
  reported: false,
  suspects: [],
  keySetRejected: false,
});

export const INITIAL_MEMORY: Memory = Object.freeze({
  round: FRESH_ROUND,
  search: newSearch(''),
  backoff: NO_BACKOFF,
});

/** After the last share a raft follower may answer sealed with progress 0 while it joins. */
export const AWAIT_UNSEAL_MS = 30_000;

/**
 * At most this many candidate sets are tried per search. With t = 3 and 5 shares all 10 sets fit;
 * with one bad share among the first t + 1, a working set is found within t + 1 rounds.
 */
export const MAX_CANDIDATE_SETS = 32;

export type BlockReason =
  'paused' | 'recovery-seal' | 'insufficient-keys' | 'wrong-keys' | 'backing-off';

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
  readonly memory: Memory;
  readonly now: number;
}

/** n choose k, saturating at `cap` (we never need more than the bound). */
export function combinations(n: number, k: number, cap = Number.MAX_SAFE_INTEGER): number {
  if (k < 0 || k > n) return 0;
  const r = Math.min(k, n - k);
  let result = 1;
  for (let i = 1; i <= r; i++) {
    result = (result * (n - r + i)) / i;
    if (result >= cap) return cap;
  }
  return Math.round(result);
}

/** How many candidate sets a search of `shareCount` shares at threshold `t` tries. */
export function candidateCount(shareCount: number, threshold: number): number {
  return combinations(shareCount, threshold, MAX_CANDIDATE_SETS);
}

/**
 * The `index`-th candidate set of `t` share indices. With one key directory (one group), colex
 * order: {0,1,2}, {0,1,3}, {0,2,3}, {1,2,3}, {0,1,4}, … Every set within the first m shares comes
 * before any set that uses share m, so with b bad shares among the first t + b, a working set is
 * among the first C(t + b, t) candidates, and a bad share sorting first costs at most t more rounds.
 *
 * With several key directories, `groups` gives how many shares each holds, in order. First the
 * sets within each directory (colex, directory by directory), then the sets that mix directories
 * (colex). A node that was down or sealed during a rekey still needs the shares of before it; kept
 * in a second directory, they are reached within C(n₁, t) + 1 candidates instead of beyond the cap.
 */
export function candidateSet(
  shareCount: number,
  threshold: number,
  index: number,
  groups: readonly number[] = [shareCount],
): number[] | undefined {
  if (threshold < 1 || threshold > shareCount || index < 0) return undefined;
  if (index >= candidateCount(shareCount, threshold)) return undefined;
  let step = 0;
  for (const set of candidateOrder(shareCount, threshold, groups)) {
    if (step++ === index) return set;
  }
  return undefined;
}

/** Every t-set of the shares once: per-directory sets first, then the mixed ones (see above). */
function* candidateOrder(
  shareCount: number,
  threshold: number,
  groups: readonly number[],
): Generator<number[]> {
  const several = groups.length > 1;
  if (several) {
    let offset = 0;
    for (const size of groups) {
      for (const set of colex(size, threshold)) yield set.map((i) => i + offset);
      offset += size;
    }
  }
  for (const set of colex(shareCount, threshold)) {
    if (!several || !withinOneGroup(set, groups)) yield set;
  }
}

function* colex(shareCount: number, threshold: number): Generator<number[]> {
  if (threshold < 1 || threshold > shareCount) return;
  const set = Array.from({ length: threshold }, (_, i) => i);
  do yield [...set];
  while (colexSuccessor(set, shareCount));
}

/** Whether a sorted set's first and last share come from the same directory. */
function withinOneGroup(set: readonly number[], groups: readonly number[]): boolean {
  const groupOf = (share: number): number => {
    let end = 0;
    for (let g = 0; g < groups.length; g++) {
      end += groups[g] ?? 0;
      if (share < end) return g;
    }
    return groups.length;
  };
  return groupOf(set[0] ?? 0) === groupOf(set[set.length - 1] ?? 0);
}

/** How many shares each key directory gave, in order (shares arrive in directory order). */
export function groupSizes(shares: readonly Share[]): number[] {
  const sizes: number[] = [];
  let current: number | undefined;
  for (const share of shares) {
    const group = share.group ?? 0;
    if (sizes.length === 0 || group !== current) sizes.push(0);
    sizes[sizes.length - 1] = (sizes[sizes.length - 1] ?? 0) + 1;
    current = group;
  }
  return sizes;
}

/** Advances `set` to its colex successor in place: raise the lowest element that can move up. */
function colexSuccessor(set: number[], shareCount: number): boolean {
  const t = set.length;
  let i = 0;
  while (i < t && (set[i] ?? 0) + 1 === (set[i + 1] ?? shareCount)) i++;
  if (i === t) return false;
  set[i] = (set[i] ?? 0) + 1;
  for (let j = 0; j < i; j++) set[j] = j;
  return true;
}

/** The order in which to offer our shares in a round: the candidate set first, then the others. */
function roundOrder(shares: readonly Share[], threshold: number, candidate: number): Share[] {
  const chosen = candidateSet(shares.length, threshold, candidate, groupSizes(shares)) ?? [];
  const rest = shares.map((_, i) => i).filter((i) => !chosen.includes(i));
  return [...chosen, ...rest].map((i) => shares[i]).filter((s): s is Share => s !== undefined);
}

/** A new key set (a rekey, a fixed Secret) deserves a clean search at once, without back-off. */
export function withKeySet(memory: Memory, keySet: string): Memory {
  if (keySet === memory.search.keySet) return memory;
  return { round: FRESH_ROUND, search: newSearch(keySet), backoff: NO_BACKOFF };
}

/**
 * Folds a fresh seal status into the memory: forgets our part of a round the server no longer has
 * (the nonce changed, or no round is open), clears what an unseal settles, and starts the search
 * again once the back-off after an exhausted search has passed. Call before every decision.
 */
export function reconcile(
  memory: Memory,
  status: SealStatus,
  now: number,
): { memory: Memory; event?: 'await-expired' } {
  const { round } = memory;
  if (!status.initialized) return { memory: { ...memory, round: FRESH_ROUND } };
  if (!status.sealed) {
    // Unsealed after our own last share was accepted (a follower that finished joining): ours.
    // Otherwise someone else finished it, and what we learnt about our key set still holds.
    const ours = round.awaitingSince !== undefined && !round.foreign;
    return { memory: ours ? afterUnsealed(memory) : unsealedByOthers(memory) };
  }
  if (round.awaitingSince !== undefined) {
    if (now - round.awaitingSince < AWAIT_UNSEAL_MS) return { memory };
    return { memory: { ...memory, round: FRESH_ROUND }, event: 'await-expired' };
  }
  const search =
    memory.search.exhausted && now >= memory.backoff.until
      ? { ...memory.search, candidate: 0, rejected: [], exhausted: false }
      : memory.search;
  return { memory: { ...memory, round: stillOpen(round, status) ? round : FRESH_ROUND, search } };
}

/**
 * Our round is still the server's: a round is open and its nonce is the one we saw. A server that
 * shows progress without a nonce (none does, unless broken or hostile) keeps our round too: one
 * share per round position, never the same share again and again.
 */
function stillOpen(round: RoundMemory, status: SealStatus): boolean {
  if (status.progress === 0) return false;
  return round.nonce === '' || round.nonce === status.nonce;
}

/** The server is unsealed: the round, the back-off and the rejection report are settled. */
function afterUnsealed(memory: Memory): Memory {
  const search: SearchMemory = {
    ...memory.search,
    candidate: memory.search.exhausted ? 0 : memory.search.candidate,
    rejected: [],
    exhausted: false,
    reported: false,
    keySetRejected: false,
  };
  return { round: FRESH_ROUND, search, backoff: NO_BACKOFF };
}

/**
 * Someone else unsealed the server: the verdict on our key set and the back-off stand (the next
 * restart would fail the same way), but a new episode reports the rejection again.
 */
function unsealedByOthers(memory: Memory): Memory {
  const search = memory.search.reported ? { ...memory.search, reported: false } : memory.search;
  return { ...memory, round: FRESH_ROUND, search };
}

/** What to do next. Unsealed ⇒ idle; paused ⇒ nothing is submitted; fewer than t shares ⇒ nothing. */
export function decide(situation: Situation): Action {
  const held = holdBack(situation);
  if (held) return held;
  const { status, shares, memory } = situation;
  const order = roundOrder(shares, status.threshold, memory.search.candidate);
  const next = order.find((share) => !memory.round.submitted.includes(share.hex));
  // Every share we hold is already in this round and it is still open: it can only have been
  // filled by others' shares, so clear it and start a clean one.
  return next ? { kind: 'submit', share: next } : { kind: 'reset' };
}

/** Why nothing is submitted now, in order of precedence; undefined when a round may go on. */
function holdBack(situation: Situation): Action | undefined {
  const { status, memory } = situation;
  if (!status.initialized) return { kind: 'idle', reason: 'not-initialized' };
  if (status.recoverySeal) return { kind: 'blocked', reason: 'recovery-seal' };
  if (!status.sealed) return { kind: 'idle', reason: 'unsealed' };
  // Sealed with t = 0: the server is in the middle of its own init. Nothing to do yet.
  if (status.threshold < 1) return { kind: 'idle', reason: 'not-initialized' };
  if (situation.paused) return { kind: 'blocked', reason: 'paused' };
  if (memory.round.awaitingSince !== undefined) return { kind: 'await-unseal' };
  if (situation.shares.length < status.threshold) {
    return { kind: 'blocked', reason: 'insufficient-keys' };
  }
  if (situation.now < memory.backoff.until) {
    const reason = memory.backoff.reason === 'wrong-keys' ? 'wrong-keys' : 'backing-off';
    return { kind: 'blocked', reason };
  }
  return undefined;
}

/** How the server answered one `PUT /v1/sys/unseal`. */
export type UnsealAnswer =
  | { readonly kind: 'status'; readonly status: SealStatus }
  /** 400 (500 on Vault 1.3–1.12) at the threshold: the round's share set is wrong. */
  | { readonly kind: 'rejected' }
  /**
   * Anything else: an unexpected status, a connection error, an unparsable answer, or a timeout.
   * Only a timeout of the last share can mean "a raft follower is joining" (its call blocks).
   */
  | { readonly kind: 'error'; readonly wasLastShare: boolean; readonly timedOut?: boolean };

export type RoundEvent =
  /** Our own round completed: our shares unsealed the server. */
  | 'unsealed'
  /**
   * The server is unsealed, but not by a round of ours (it held someone else's shares, or was
   * already unsealed): no success, no suspects, and nothing learnt about our key set is cleared.
   */
  | 'unsealed-by-others'
  | 'progress'
  | 'duplicate'
  | 'awaiting-unseal'
  /** Our own round failed; the next candidate set is tried at once. */
  | 'candidate-rejected'
  /** Our own round failed and no candidate set is left: the key set is wrong. Back off. */
  | 'key-set-rejected'
  /** A round that held someone else's shares failed: not evidence against our key set. */
  | 'rejected-foreign-round'
  | 'error';

export interface Sent {
  readonly share: Share;
  readonly progressBefore: number;
  readonly threshold: number;
  /** All shares loaded, in the order `decide` saw them (to name the rejected set). */
  readonly shares: readonly Share[];
}

export interface BackoffTiming {
  readonly baseMs: number;
  readonly maxMs: number;
}

/** When the answer came, and how to back off after a failure. */
export interface SubmitContext {
  readonly now: number;
  readonly timing: BackoffTiming;
}

type Folded = { memory: Memory; event: RoundEvent };

/** Folds one answer into the memory, and names what happened. */
export function afterSubmit(
  memory: Memory,
  sent: Sent,
  answer: UnsealAnswer,
  context: SubmitContext,
): Folded {
  const { round } = memory;
  // Progress above our own count before this share: someone else's shares are in the round. And
  // a round that reaches t (a verdict, or unsealed) while fewer than t of ours counted in it holds
  // someone else's, however stale the progress we last saw: another submitter may have put a
  // share in between our answer and this share.
  const foreign =
    round.foreign ||
    sent.progressBefore > round.counted ||
    (completes(answer) && round.counted + 1 < sent.threshold);
  if (answer.kind === 'rejected') {
    if (foreign) {
      return { memory: { ...memory, round: FRESH_ROUND }, event: 'rejected-foreign-round' };
    }
    return rejectOwnRound(memory, sent, context);
  }
  if (answer.kind === 'error') return afterFailedSubmit(memory, sent, answer, context);
  return afterAnswer(memory, sent, answer.status, { foreign, now: context.now });
}

/** The answer ends the round: a verdict at the threshold, or the server unsealed. */
function completes(answer: UnsealAnswer): boolean {
  return answer.kind === 'rejected' || (answer.kind === 'status' && !answer.status.sealed);
}

function afterFailedSubmit(
  memory: Memory,
  sent: Sent,
  answer: Extract<UnsealAnswer, { kind: 'error' }>,
  context: SubmitContext,
): Folded {
  const submitted = [...memory.round.submitted, sent.share.hex];
  if (answer.wasLastShare && answer.timedOut === true) {
    // A follower's last-share call can block while it joins: wait for it, never resubmit.
    const waiting: RoundMemory = { ...memory.round, submitted, awaitingSince: context.now };
    return { memory: { ...memory, round: waiting }, event: 'awaiting-unseal' };
  }
  const backoff = afterError(memory.backoff, context.now, context.timing);
  return { memory: { ...memory, round: { ...memory.round, submitted }, backoff }, event: 'error' };
}

/** The server answered with a seal status: unsealed, a follower joining, or the round goes on. */
function afterAnswer(
  memory: Memory,
  sent: Sent,
  status: SealStatus,
  at: { readonly foreign: boolean; readonly now: number },
): Folded {
  const submitted = [...memory.round.submitted, sent.share.hex];
  if (!status.sealed) {
    // Not our round: someone else unsealed it. What the search learnt stands.
    if (at.foreign) return { memory: unsealedByOthers(memory), event: 'unsealed-by-others' };
    const suspects = suspectsOf(memory.search, sent, submitted);
    const unsealed = afterUnsealed(memory);
    return { memory: { ...unsealed, search: { ...unsealed.search, suspects } }, event: 'unsealed' };
  }
  const backoff = clearErrors(memory.backoff);
  if (status.progress === 0) {
    // Accepted at the threshold, yet still sealed: a raft follower joining. Poll, never resubmit.
    const waiting: RoundMemory = { ...FRESH_ROUND, foreign: at.foreign, awaitingSince: at.now };
    return { memory: { ...memory, round: waiting, backoff }, event: 'awaiting-unseal' };
  }
  // Another nonce than the one we were in: that round ended (someone finished or reset it) and our
  // share went into a new one, as its only share of ours.
  const ended = memory.round.nonce !== '' && status.nonce !== memory.round.nonce;
  const before = ended
    ? { progress: 0, counted: 0, foreign: false }
    : {
        progress: sent.progressBefore,
        counted: memory.round.counted,
        foreign: at.foreign,
      };
  const moved = status.progress > before.progress;
  const next: RoundMemory = {
    nonce: status.nonce,
    submitted: ended ? [sent.share.hex] : submitted,
    counted: before.counted + (moved ? 1 : 0),
    // Progress that jumped by more than our one share: someone submitted alongside us.
    foreign: before.foreign || status.progress > before.progress + 1,
    awaitingSince: undefined,
  };
  return { memory: { ...memory, round: next, backoff }, event: moved ? 'progress' : 'duplicate' };
}

/** A round made of our shares alone failed: that candidate set holds a bad share. */
function rejectOwnRound(memory: Memory, sent: Sent, context: SubmitContext): Folded {
  const { now, timing } = context;
  const indices = [...memory.round.submitted, sent.share.hex]
    .map((hex) => sent.shares.findIndex((s) => s.hex === hex))
    .filter((i) => i >= 0)
    .sort((a, b) => a - b);
  const candidate = memory.search.candidate + 1;
  const exhausted = candidate >= candidateCount(sent.shares.length, sent.threshold);
  const search: SearchMemory = {
    ...memory.search,
    candidate: exhausted ? memory.search.candidate : candidate,
    rejected: [...memory.search.rejected, indices],
    exhausted,
    keySetRejected: memory.search.keySetRejected || exhausted,
  };
  if (!exhausted) {
    return { memory: { ...memory, round: FRESH_ROUND, search }, event: 'candidate-rejected' };
  }
  const rejections = memory.backoff.rejections + 1;
  const backoff: BackoffMemory = {
    reason: 'wrong-keys',
    rejections,
    errors: memory.backoff.errors,
    until: now + backoffDelay(rejections, timing.baseMs, timing.maxMs),
  };
  return { memory: { round: FRESH_ROUND, search, backoff }, event: 'key-set-rejected' };
}

/** Any failure other than a rejection waits too: nothing is retried in a tight loop. */
function afterError(backoff: BackoffMemory, now: number, timing: BackoffTiming): BackoffMemory {
  const errors = backoff.errors + 1;
  const until = Math.max(backoff.until, now + backoffDelay(errors, timing.baseMs, timing.maxMs));
  return { ...backoff, reason: 'errors', errors, until };
}

/** The server answered properly again: request failures no longer count towards the back-off. */
function clearErrors(backoff: BackoffMemory): BackoffMemory {
  if (backoff.errors === 0) return backoff;
  return { ...backoff, errors: 0, reason: backoff.rejections > 0 ? 'wrong-keys' : undefined };
}

/** A reset (`reset: true`) failed or answered oddly: back off like any other failed request. */
export function afterFailedRequest(memory: Memory, context: SubmitContext): Memory {
  const backoff = afterError(memory.backoff, context.now, context.timing);
  return { ...memory, round: FRESH_ROUND, backoff };
}

/**
 * The shares a working set shows to be bad: every rejected set held at least one bad share, and
 * the shares of the set that worked are good, so what is left of each rejected set is suspect.
 */
function suspectsOf(search: SearchMemory, sent: Sent, winning: readonly string[]): string[] {
  if (search.rejected.length === 0) return [...search.suspects];
  const good = new Set(winning);
  const suspects = new Set<string>();
  for (const set of search.rejected) {
    for (const i of set) {
      const hex = sent.shares[i]?.hex;
      if (hex !== undefined && !good.has(hex)) suspects.add(hex);
    }
  }
  return [...suspects];
}

/** Exponential back-off after the n-th consecutive failure, capped. */
export function backoffDelay(failures: number, baseMs: number, maxMs: number): number {
  if (failures <= 0) return 0;
  return Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 30));
}

/** Unseal errors that mean "this share set is wrong", across OpenBao and Vault versions. */
export function isKeySetRejection(httpStatus: number, message: string): boolean {
  if (httpStatus !== 400 && httpStatus !== 500) return false;
  return /invalid key|message authentication failed|duplicate part|all parts must be the same length/i.test(
    message,
  );
}
