// The invariants a chaos episode must keep. Each checker is a pure function over the recorded trace
// (trace.ts) and returns the violations it found, each naming the invariant, the node and the moment,
// in words a person reading a failed episode can act on. No checker prints a share: the trace only
// holds digests, and noSecrets names a leaked secret by its index and a digest of it.
//
// Where the trace says nothing, the baseline every episode starts from holds (cluster.ts
// restoreBaseline): every server running, every key file current, every pause switch off.
import { createHash } from 'node:crypto';
import type { EpisodeTime, FaultKind, Trace, TraceEvent } from './trace.js';

export interface Violation {
  /** The checker that found it: the name of its function, e.g. 'noForbiddenSubmissions'. */
  invariant: string;
  node?: number;
  /** When it happened (ms since the episode started); the first occurrence when grouped. */
  t?: number;
  message: string;
}

/** The numbers the driver states, against which an episode is judged. */
export interface Limits {
  /**
   * Per fault kind, the most ms a node may take to be seen unsealed after it last became
   * unsealable (see unsealedInTime). The kind is that of the last fault touching the node.
   */
  readonly unsealWithinMs: Readonly<Partial<Record<FaultKind, number>>>;
  /** The same bound when no fault touched the node, or its kind has no entry above. */
  readonly defaultUnsealWithinMs: number;
  /**
   * How long a submission may trail a pause switch turned on (or key files made insufficient): a
   * request already in flight, or a check that read the old state just before the change.
   */
  readonly switchGraceMs: number;
  /** The width of the sliding window in which boundedRates counts events. */
  readonly rateWindowMs: number;
  /** The most `sys/unseal` requests (resets included) one sidecar may send in one window. */
  readonly maxSubmissionsPerWindow: number;
  /** The most requests of any kind one sidecar may send through its proxy in one window. */
  readonly maxRequestsPerWindow: number;
  /** The most log lines one sidecar may print in one window. */
  readonly maxLogLinesPerWindow: number;
}

/** Something a sidecar showed the world, for noSecrets. Node -1: not tied to one node. */
export interface Output {
  readonly node: number;
  readonly source: 'stdout' | 'stderr' | 'status' | 'metrics' | 'trace';
  readonly text: string;
}

type EventOf<K extends TraceEvent['kind']> = Extract<TraceEvent, { kind: K }>;
type Submission = EventOf<'submission'>;

/** The events in time order (stable: events recorded at the same ms keep their order). */
function ordered(trace: Trace): TraceEvent[] {
  return [...trace.events].sort((a, b) => a.t - b.t);
}

/** Events about one node; faults on node -1 (the whole cluster) touch every node. */
function ofNode(events: readonly TraceEvent[], node: number): TraceEvent[] {
  return events.filter((e) => e.node === node || (e.kind === 'fault' && e.node === -1));
}

function only<K extends TraceEvent['kind']>(events: readonly TraceEvent[], kind: K): EventOf<K>[] {
  return events.filter((e): e is EventOf<K> => e.kind === kind);
}

function nodes(trace: Trace): number[] {
  return Array.from({ length: trace.nodes }, (_, node) => node);
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

function violation(
  invariant: string,
  node: number | undefined,
  t: number | undefined,
  message: string,
): Violation {
  return {
    invariant,
    ...(node !== undefined && node >= 0 ? { node } : {}),
    ...(t !== undefined ? { t } : {}),
    message,
  };
}

// ---------------------------------------------------------------------------------------------
// 1. unsealedInTime

/**
 * Whether a node can be unsealed by its sidecar after `events` (one node's, in time order): its
 * server runs, its pause switch is off, and its key files hold at least t current shares. Stale or
 * foreign extras do not matter: the sidecar searches subsets.
 */
function eligible(events: readonly TraceEvent[]): boolean {
  const server = only(events, 'server').at(-1);
  const pause = only(events, 'pause').at(-1);
  const keys = only(events, 'keys').at(-1);
  const running = !server || !['killed', 'frozen'].includes(server.what);
  return running && !pause?.paused && (!keys || keys.currentShares >= keys.threshold);
}

interface Since {
  readonly t: EpisodeTime;
  readonly cause: string;
}

const SERVER_REOPENS: Partial<Record<EventOf<'server'>['what'], string>> = {
  started: 'its server started',
  thawed: 'its server thawed',
  'sealed-by-api': 'it was sealed through the API',
};

/** What an event did to make a node possibly sealed and unsealable again; undefined: nothing. */
function reopens(e: TraceEvent, pausedBefore: boolean): string | undefined {
  switch (e.kind) {
    case 'server':
      return SERVER_REOPENS[e.what];
    case 'pause':
      return pausedBefore && !e.paused ? 'its pause switch was turned off' : undefined;
    case 'keys':
      return `its key files were rewritten (${e.currentShares} current shares of ${e.threshold} needed)`;
    case 'fault':
      return e.phase === 'end'
        ? `the ${e.fault} fault${e.node === -1 ? ' on the cluster' : ''} ended`
        : undefined;
    default:
      return undefined;
  }
}

/** E: the latest moment the node became eligible and possibly sealed (the episode start if none). */
function eligibleSince(events: readonly TraceEvent[]): Since {
  let since: Since = { t: 0, cause: 'the episode started' };
  let paused = false;
  for (const e of events) {
    const cause = reopens(e, paused);
    if (cause) since = { t: e.t, cause };
    if (e.kind === 'pause') paused = e.paused;
  }
  return since;
}

/** When an event shows the node unsealed, in the server's own words; undefined: it does not. */
function unsealedAt(e: TraceEvent): EpisodeTime | undefined {
  switch (e.kind) {
    case 'seal-status':
      return e.reachable && e.sealed === false ? e.t : undefined;
    case 'submission': // the completing answer, exact, through the proxy
      return e.status === 200 && e.sealed === false ? (e.answeredAt ?? e.t) : undefined;
    case 'final':
      return e.server.reachable && e.server.sealed === false ? e.t : undefined;
    default:
      return undefined;
  }
}

/** The first moment the node was seen unsealed, by an event at or after `from`. */
function firstSeenUnsealed(
  events: readonly TraceEvent[],
  from: EpisodeTime,
): EpisodeTime | undefined {
  const seen = events
    .filter((e) => e.t >= from)
    .map(unsealedAt)
    .filter((t) => t !== undefined);
  return seen.length > 0 ? Math.min(...seen) : undefined;
}

/**
 * Every node that can be unsealed at the end of the episode was seen unsealed within the bound for
 * the last fault that touched it, counted from E, the latest moment it became unsealable and
 * possibly sealed: its server started, thawed or was sealed through the API, its pause switch was
 * turned off, its key files were rewritten, or a fault on it (or on the cluster) ended. "Seen
 * unsealed" is the first sign at or after E: a seal-status sample with sealed false, a submission
 * answered 200 with sealed false (when the answer came), or the final look.
 * A node whose server is down or frozen, whose switch is on, or whose key files hold fewer than t
 * current shares at the end is not judged here.
 */
export function unsealedInTime(trace: Trace, limits: Limits): Violation[] {
  const events = ordered(trace);
  const out: Violation[] = [];
  for (const final of only(events, 'final')) {
    const node = final.node;
    const history = ofNode(events, node).filter((e) => e.t <= final.t && e.kind !== 'final');
    if (!eligible(history)) continue;
    const since = eligibleSince(history);
    const fault = only(history, 'fault')
      .filter((e) => e.t <= since.t)
      .at(-1)?.fault;
    const limit = (fault && limits.unsealWithinMs[fault]) ?? limits.defaultUnsealWithinMs;
    const bound = `the bound after ${fault ? `a ${fault} fault` : 'no fault'} is ${limit} ms`;
    const became = `node ${node} became unsealable at ${since.t} ms (${since.cause})`;
    const seen = firstSeenUnsealed(ofNode(events, node), since.t);
    if (seen !== undefined) {
      if (seen - since.t > limit)
        out.push(
          violation(
            'unsealedInTime',
            node,
            since.t,
            `${became} but was first seen unsealed at ${seen} ms, ${seen - since.t} ms later; ${bound}`,
          ),
        );
      continue;
    }
    const waited = final.t - since.t;
    const state = final.server.reachable
      ? final.server.sealed === true
        ? 'is still sealed at the end'
        : 'was never seen unsealed (the server did not say at the end)'
      : 'was never seen unsealed, and its server did not answer at the end';
    const early = waited < limit ? ' (the episode ended before that bound passed)' : '';
    out.push(
      violation(
        'unsealedInTime',
        node,
        since.t,
        `${became} and ${state} (${final.t} ms), ${waited} ms later; ${bound}${early}`,
      ),
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// 2. noForbiddenSubmissions

interface Span {
  first: EpisodeTime;
  last: EpisodeTime;
  count: number;
}

function when(span: Span): string {
  return span.count === 1
    ? `at ${span.first} ms`
    : `the first at ${span.first} ms, the last at ${span.last} ms`;
}

/**
 * The event that put a node into the state `bad` describes, if that state is still in force just
 * before `t`: the first of the trailing run of events (strictly before t) for which `bad` holds.
 * A switch written "on" twice stays on since the first write.
 */
function badSince<E extends TraceEvent>(
  events: readonly E[],
  t: EpisodeTime,
  bad: (e: E) => boolean,
): E | undefined {
  let since: E | undefined;
  for (const e of events) {
    if (e.t >= t) break;
    since = bad(e) ? (since ?? e) : undefined;
  }
  return since;
}

interface Forbidden {
  readonly node: number;
  readonly reason: string;
  readonly span: Span;
}

function forbid(groups: Map<string, Forbidden>, key: string, reason: string, s: Submission): void {
  const group = groups.get(key);
  if (!group) groups.set(key, { node: s.node, reason, span: { first: s.t, last: s.t, count: 1 } });
  else {
    group.span.last = s.t;
    group.span.count += 1;
  }
}

/**
 * A sidecar submits no share (a `sys/unseal` other than a reset) to a node whose pause switch is on,
 * or whose key files hold fewer shares in all (any set) than the threshold, when the switch or the
 * files had been in that state since before `switchGraceMs` before the submission was sent. The
 * grace covers a request already in flight, or a check that read the state just before it changed;
 * a submission soon after the switch is turned off or the files are restored is allowed. Offending
 * submissions are grouped per node and per switch flip or key-file write.
 */
export function noForbiddenSubmissions(trace: Trace, limits: Limits): Violation[] {
  const events = ordered(trace);
  const groups = new Map<string, Forbidden>();
  const grace = limits.switchGraceMs;
  for (const node of nodes(trace)) {
    const history = ofNode(events, node);
    const pauses = only(history, 'pause');
    const keys = only(history, 'keys');
    for (const s of only(history, 'submission')) {
      if (s.reset) continue;
      const pause = badSince(pauses, s.t, (e) => e.paused);
      if (pause && pause.t < s.t - grace)
        forbid(
          groups,
          `${node} pause ${pause.t}`,
          `its pause switch was turned on at ${pause.t} ms`,
          s,
        );
      const files = badSince(keys, s.t, (e) => e.totalShares < e.threshold);
      if (files && files.t < s.t - grace)
        forbid(
          groups,
          `${node} keys ${files.t}`,
          `its key files held ${plural(files.totalShares, 'share')}, fewer than the threshold ${files.threshold}, from ${files.t} ms`,
          s,
        );
    }
  }
  return [...groups.values()].map((g) =>
    violation(
      'noForbiddenSubmissions',
      g.node,
      g.span.first,
      `node ${g.node} was sent ${plural(g.span.count, 'share')} although ${g.reason} (more than the ${grace} ms grace before): ${when(g.span)}`,
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// 3. noShareCountedTwice

/** Shares sent again in a round that had counted them, per node, round and share. */
type Repeats = Map<string, { node: number; first: Submission; span: Span }>;

function addRepeat(repeats: Repeats, node: number, first: Submission, again: Submission): void {
  const key = `${node} ${again.nonce} ${again.share}`;
  const repeat = repeats.get(key);
  if (!repeat) repeats.set(key, { node, first, span: { first: again.t, last: again.t, count: 1 } });
  else Object.assign(repeat.span, { last: again.t, count: repeat.span.count + 1 });
}

/**
 * No share is submitted to a node in a round that had already counted it. A round is the `nonce` of
 * the server's answers; the server counted share D in round N when it answered a submission of D
 * with status 200 and nonce N. Submitting D again in round N and being answered 200, sealed true,
 * nonce N is a violation, unless a reset or a server restart (killed, started) came in between.
 * Repeats of one share in one round are grouped.
 */
export function noShareCountedTwice(trace: Trace): Violation[] {
  const events = ordered(trace);
  const repeats: Repeats = new Map();
  for (const node of nodes(trace)) {
    // nonce → share digest → the submission the server counted it in
    const counted = new Map<string, Map<string, Submission>>();
    for (const e of ofNode(events, node)) {
      if (e.kind === 'server' && (e.what === 'started' || e.what === 'killed')) counted.clear();
      if (e.kind !== 'submission') continue;
      if (e.reset) counted.clear();
      if (e.reset || e.status !== 200 || !e.nonce || e.share === undefined) continue;
      const round = counted.get(e.nonce) ?? new Map<string, Submission>();
      counted.set(e.nonce, round);
      const first = round.get(e.share);
      if (!first) round.set(e.share, e);
      else if (e.sealed === true) addRepeat(repeats, node, first, e);
    }
  }
  return [...repeats.values()].map(({ node, first, span }) =>
    violation(
      'noShareCountedTwice',
      node,
      span.first,
      `node ${node} was sent share ${first.share ?? '?'} ${span.count === 1 ? 'again' : `${span.count} more times`} in round ${first.nonce?.slice(0, 8) ?? '?'}…, which had counted it at ${first.t} ms (the server answered 200, still sealed): ${when(span)}`,
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// 4. noSubmissionAfterCompletion

/** Whether an event could have sealed the node again (so a new round may be needed). */
function couldSeal(e: TraceEvent): boolean {
  if (e.kind === 'server')
    return e.what === 'killed' || e.what === 'started' || e.what === 'sealed-by-api';
  return (
    e.kind === 'fault' &&
    e.phase === 'start' &&
    (e.fault === 'api-seal' || e.fault === 'server-kill')
  );
}

/**
 * Once a node answered a sidecar's submission with status 200 and sealed false (the round is
 * complete), that sidecar sends it no further share (resets aside) until something could have sealed
 * it again: its server killed, started or sealed through the API, or an api-seal or server-kill
 * fault starting on it or on the cluster. Counted from the answer: a submission sent before it is
 * not late. Late submissions are grouped per completion.
 */
export function noSubmissionAfterCompletion(trace: Trace): Violation[] {
  const out: Violation[] = [];
  const events = ordered(trace);
  for (const node of nodes(trace)) {
    // When the node last answered that it is unsealed, and the submissions sent after that.
    let completedAt: EpisodeTime | undefined;
    let late: EpisodeTime[] = [];
    const close = (): void => {
      const [first, last] = [late[0], late[late.length - 1]];
      if (completedAt !== undefined && first !== undefined && last !== undefined)
        out.push(
          violation(
            'noSubmissionAfterCompletion',
            node,
            first,
            `node ${node} was sent ${plural(late.length, 'more share')} after it answered at ${completedAt} ms that it was unsealed, with nothing in between that could seal it again: ${when({ first, last, count: late.length })}`,
          ),
        );
      completedAt = undefined;
      late = [];
    };
    for (const e of ofNode(events, node)) {
      if (couldSeal(e)) close();
      if (e.kind !== 'submission' || e.reset) continue;
      // `>=`: times are whole milliseconds, and a share sent the moment the completing answer
      // arrived (loopback, an idle machine) is stamped with the answer's own millisecond. A share
      // sent before that answer came back has an earlier time.
      if (completedAt !== undefined && e.t >= completedAt) late.push(e.t);
      else if (completedAt === undefined && e.status === 200 && e.sealed === false)
        completedAt = e.answeredAt ?? e.t;
    }
    close();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// 5. sidecarsStayedUp

/** Every sidecar that exited was killed by the driver. */
export function sidecarsStayedUp(trace: Trace): Violation[] {
  return only(ordered(trace), 'sidecar')
    .filter((e) => e.what === 'exited' && e.killedByDriver !== true)
    .map((e) =>
      violation(
        'sidecarsStayedUp',
        e.node,
        e.t,
        `node ${e.node}'s sidecar exited at ${e.t} ms (exit code ${e.code ?? 'none'}, signal ${e.signal ?? 'none'}) and the driver had not killed it`,
      ),
    );
}

// ---------------------------------------------------------------------------------------------
// 6. noSecrets

/** A short name for a secret that says nothing about it: 6 hex characters of its SHA-256. */
function secretDigest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex').slice(0, 6);
}

/**
 * No output shows any form of any secret (shares in hex or base64, root tokens). A violation names
 * the node, the source, the secret's index in `secrets`, a digest of it and where it appears, never
 * the secret. (test/harness/leaks.ts leakedSecrets is not reused: it quotes a secret's first six
 * characters.) Empty forms are ignored: every text contains them.
 */
export function noSecrets(outputs: readonly Output[], secrets: readonly string[]): Violation[] {
  const out: Violation[] = [];
  for (const output of outputs) {
    const found = secrets.flatMap((secret, index) => {
      const at = secret ? output.text.indexOf(secret) : -1;
      return at < 0
        ? []
        : [
            `#${index} (sha256 ${secretDigest(secret)}…, ${secret.length} chars) at character ${at}`,
          ];
    });
    if (found.length === 0) continue;
    const where =
      output.node >= 0
        ? `node ${output.node}'s ${output.source}`
        : `the ${output.source} (no single node)`;
    out.push(
      violation(
        'noSecrets',
        output.node,
        undefined,
        `${where} shows ${plural(found.length, 'secret')}: ${found.join('; ')}`,
      ),
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// 7. boundedRates

/** The sliding window [start, start + width) holding the most of `times` (sorted). */
function busiestWindow(times: readonly number[], width: number): { start: number; count: number } {
  let best = { start: 0, count: 0 };
  let end = 0;
  times.forEach((start, i) => {
    while (end < times.length && (times[end] ?? Infinity) < start + width) end += 1;
    if (end - i > best.count) best = { start, count: end - i };
  });
  return best;
}

const RATED = [
  { kind: 'submission', what: 'unseal request', limit: 'maxSubmissionsPerWindow', verb: 'sent' },
  { kind: 'request', what: 'request', limit: 'maxRequestsPerWindow', verb: 'sent' },
  { kind: 'log', what: 'log line', limit: 'maxLogLinesPerWindow', verb: 'printed' },
] as const;

/**
 * No sidecar loops hot: per node, the submissions (resets included), the requests of any kind and the
 * log lines in any window of `rateWindowMs` stay at most their limits. The busiest window is named.
 */
export function boundedRates(trace: Trace, limits: Limits): Violation[] {
  const out: Violation[] = [];
  const events = ordered(trace);
  for (const node of nodes(trace)) {
    const history = ofNode(events, node);
    for (const rated of RATED) {
      const times = history.filter((e) => e.kind === rated.kind).map((e) => e.t);
      const worst = busiestWindow(times, limits.rateWindowMs);
      const limit = limits[rated.limit];
      if (worst.count > limit)
        out.push(
          violation(
            'boundedRates',
            node,
            worst.start,
            `node ${node}'s sidecar ${rated.verb} ${plural(worst.count, rated.what)} in the ${limits.rateWindowMs} ms from ${worst.start} ms (at most ${limit})`,
          ),
        );
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// 8. statusAgrees

function disagreements(final: EventOf<'final'>): string[] {
  const sealed = final.server.sealed;
  if (sealed === undefined)
    return ['the driver recorded no seal state for the server, so nothing can be compared'];
  const server = sealed ? 'sealed' : 'unsealed';
  const problems: string[] = [];
  const said = final.status?.vault?.sealed;
  if (!final.status) problems.push('/status did not answer');
  else if (typeof said !== 'boolean')
    problems.push(`/status vault.sealed is ${said === null ? 'null' : 'missing'}`);
  else if (said !== sealed) problems.push(`/status says vault.sealed ${said}`);
  if (final.sealedMetric === undefined)
    problems.push('/metrics has no vault_autounseal_vault_sealed');
  else if (final.sealedMetric !== (sealed ? 1 : 0))
    problems.push(`vault_autounseal_vault_sealed is ${final.sealedMetric}`);
  return problems.map((p) => `${p} while the server is ${server}`);
}

/**
 * At the end, each sidecar agrees with its server when the server answered: `/status` vault.sealed
 * equals the server's sealed, and vault_autounseal_vault_sealed is 1 when sealed, 0 when unsealed.
 * A missing /status, vault.sealed or metric is a violation.
 */
export function statusAgrees(trace: Trace): Violation[] {
  return only(ordered(trace), 'final')
    .filter((final) => final.server.reachable)
    .flatMap((final) => {
      const problems = disagreements(final);
      return problems.length === 0
        ? []
        : [
            violation(
              'statusAgrees',
              final.node,
              final.t,
              `node ${final.node} at the end (${final.t} ms): ${problems.join('; ')}`,
            ),
          ];
    });
}

// ---------------------------------------------------------------------------------------------

/** Every checker that reads only the trace (noSecrets also needs the outputs and the secrets). */
export function checkAll(trace: Trace, limits: Limits): Violation[] {
  return [
    ...unsealedInTime(trace, limits),
    ...noForbiddenSubmissions(trace, limits),
    ...noShareCountedTwice(trace),
    ...noSubmissionAfterCompletion(trace),
    ...sidecarsStayedUp(trace),
    ...boundedRates(trace, limits),
    ...statusAgrees(trace),
  ];
}

/** The violations as lines a person reads, grouped by invariant, each group in time order. */
export function summarise(violations: readonly Violation[]): string {
  if (violations.length === 0) return 'every invariant held';
  const groups = new Map<string, Violation[]>();
  for (const v of violations) groups.set(v.invariant, [...(groups.get(v.invariant) ?? []), v]);
  const lines = [
    `${plural(violations.length, 'violation')} of ${plural(groups.size, 'invariant')}:`,
  ];
  for (const [invariant, list] of groups) {
    lines.push(`${invariant} (${list.length}):`);
    const sorted = [...list].sort((a, b) => (a.t ?? Infinity) - (b.t ?? Infinity));
    for (const v of sorted) lines.push(`  - ${v.t !== undefined ? `${v.t} ms: ` : ''}${v.message}`);
  }
  return lines.join('\n');
}
