// Which connection gives way when a listener is full (docs/adr/0005-ops-port-fairness.md).
//
// Refusing the newcomer, as Node's `server.maxConnections` does, lets whoever came first hold the
// port: one client with 64 idle keep-alive sockets kept every kubelet probe out. Here the newcomer
// is let in and an idle connection is closed instead: the oldest idle one of the same source when
// that source is at its own cap, else the oldest idle one of the source holding the most. A
// connection serving a request is never closed, so a probe that has sent its request is answered;
// only when every connection is busy is the newcomer refused. A kubelet probe, on its own fresh
// connection with its request sent at once, is the newest connection and the last to go.

export interface FairnessLimits {
  /** Open connections at most, all sources together. */
  readonly maxConnections: number;
  /** Open connections at most from one remote address. */
  readonly maxConnectionsPerSource: number;
}

export interface OpenConnection<Id> {
  readonly id: Id;
  /** The remote address. */
  readonly source: string;
  /** When the connection last became idle (opened, or its last response ended); null while it serves a request. */
  readonly idleSince: number | null;
}

/** Which of the two caps a newcomer met. */
export type FullLimit = 'per-source' | 'total';

export type Admission<Id> =
  | { readonly kind: 'accept' }
  /** Close `victim`, then accept the newcomer. */
  | { readonly kind: 'evict'; readonly victim: OpenConnection<Id>; readonly limit: FullLimit }
  /** Every connection that could give way is busy: close the newcomer. */
  | { readonly kind: 'refuse'; readonly limit: FullLimit };

/**
 * A quarter of the total, at least 1: one source can never fill the listener alone, and in a pod
 * the kubelet, Prometheus and any other client are different sources.
 */
export function perSourceCap(maxConnections: number): number {
  return Math.max(1, Math.ceil(maxConnections / 4));
}

/** The idle connection that has been idle longest; the earliest in `open` on a tie. */
function longestIdle<Id>(open: readonly OpenConnection<Id>[]): OpenConnection<Id> | undefined {
  let oldest: OpenConnection<Id> | undefined;
  for (const connection of open) {
    if (connection.idleSince === null) continue;
    if (oldest?.idleSince == null || connection.idleSince < oldest.idleSince) oldest = connection;
  }
  return oldest;
}

/**
 * The idle connection of the source holding the most connections (idle or not); among that
 * source's, or on a tie between sources, the one idle longest.
 */
function busiestSourcesIdle<Id>(
  open: readonly OpenConnection<Id>[],
): OpenConnection<Id> | undefined {
  const counts = new Map<string, number>();
  for (const { source } of open) counts.set(source, (counts.get(source) ?? 0) + 1);
  const held = (connection: OpenConnection<Id>): number => counts.get(connection.source) ?? 0;
  let victim: OpenConnection<Id> | undefined;
  for (const connection of open) {
    if (connection.idleSince === null) continue;
    if (
      victim?.idleSince == null ||
      held(connection) > held(victim) ||
      (held(connection) === held(victim) && connection.idleSince < victim.idleSince)
    ) {
      victim = connection;
    }
  }
  return victim;
}

/** What to do with a new connection from `source`, given those open now. */
export function admitConnection<Id>(
  open: readonly OpenConnection<Id>[],
  source: string,
  limits: FairnessLimits,
): Admission<Id> {
  const fromSource = open.filter((connection) => connection.source === source);
  if (fromSource.length >= limits.maxConnectionsPerSource) {
    const victim = longestIdle(fromSource);
    return victim
      ? { kind: 'evict', victim, limit: 'per-source' }
      : { kind: 'refuse', limit: 'per-source' };
  }
  if (open.length >= limits.maxConnections) {
    const victim = busiestSourcesIdle(open);
    return victim ? { kind: 'evict', victim, limit: 'total' } : { kind: 'refuse', limit: 'total' };
  }
  return { kind: 'accept' };
}
