// What one chaos episode records: every action of the driver, every request the sidecars sent
// (seen by a recording proxy between each sidecar and its server, so the record is the server's
// word, not the sidecar's), the servers' seal status sampled directly, and what each sidecar printed.
// The invariant checkers (checks.ts) are pure functions over this record.

/** Milliseconds since the episode started. */
export type EpisodeTime = number;

export type FaultKind =
  | 'server-kill' // SIGKILL a server (the leader when `detail` says so), then start it again
  | 'server-freeze' // SIGSTOP a server, SIGCONT a few seconds later: its socket stays open
  | 'api-seal' // PUT sys/seal on a node
  | 'stranger-right' // another client submits shares from the right set
  | 'stranger-wrong' // another client submits shares from another cluster
  | 'rekey' // the cluster is rekeyed; the key files are rotated before, during or after
  | 'keys-corrupt' // a key file is corrupted, emptied, or removed, then restored
  | 'sidecar-kill' // a sidecar is SIGKILLed mid-round and started again
  | 'pause-flip'; // the pause switch is turned on, then off

export type TraceEvent =
  /** The driver began (phase 'start') or finished (phase 'end') a fault. */
  | {
      kind: 'fault';
      t: EpisodeTime;
      fault: FaultKind;
      phase: 'start' | 'end';
      node: number;
      detail?: string;
    }
  /** A server process changed: killed (SIGKILL), started, frozen (SIGSTOP) or thawed (SIGCONT). */
  | {
      kind: 'server';
      t: EpisodeTime;
      node: number;
      what: 'killed' | 'started' | 'frozen' | 'thawed' | 'sealed-by-api';
    }
  /**
   * One `PUT sys/unseal` (or `sys/unseal` with reset) a sidecar sent, as the proxy saw it. The share
   * is never recorded: `share` is a short digest of it, and `shareSet` says which set the driver
   * knows it from ('current' = the server's share set at that moment, 'old' = before a rekey,
   * 'foreign' = another cluster, 'unknown').
   */
  | {
      kind: 'submission';
      t: EpisodeTime;
      /** When the answer came back (undefined: no answer, the connection failed or timed out). */
      answeredAt?: EpisodeTime;
      node: number;
      reset: boolean;
      share?: string;
      shareSet?: 'current' | 'old' | 'foreign' | 'unknown';
      status?: number;
      sealed?: boolean;
      progress?: number;
      threshold?: number;
      nonce?: string;
    }
  /** Every request a sidecar sent through the proxy, submissions included. */
  | { kind: 'request'; t: EpisodeTime; node: number; method: string; path: string; status?: number }
  /** The server's seal status, polled directly by the driver (not through the proxy). */
  | {
      kind: 'seal-status';
      t: EpisodeTime;
      node: number;
      reachable: boolean;
      sealed?: boolean;
      progress?: number;
      nonce?: string;
    }
  /** The pause switch as the driver wrote it into the node's downward-API file. */
  | { kind: 'pause'; t: EpisodeTime; node: number; paused: boolean }
  /**
   * The key files as the driver wrote them: how many distinct shares of the server's current set
   * they hold, how many shares they hold in all (any set), and the threshold t.
   */
  | {
      kind: 'keys';
      t: EpisodeTime;
      node: number;
      currentShares: number;
      totalShares: number;
      threshold: number;
    }
  /** A sidecar process started, or exited (by itself, or because the driver killed it). */
  | {
      kind: 'sidecar';
      t: EpisodeTime;
      node: number;
      what: 'started' | 'exited';
      killedByDriver?: boolean;
      code?: number | null;
      signal?: string | null;
    }
  /** One JSON log line a sidecar printed (shares redacted before it is stored). */
  | { kind: 'log'; t: EpisodeTime; node: number; level: number; msg: string }
  /** The end of the episode: what each sidecar said last, and the server's own state. */
  | {
      kind: 'final';
      t: EpisodeTime;
      node: number;
      server: { reachable: boolean; sealed?: boolean };
      status?: { state?: string; vault?: { sealed?: boolean | null } };
      /** The value of vault_autounseal_vault_sealed in /metrics. */
      sealedMetric?: number;
    };

export interface Trace {
  readonly seed: number;
  readonly episode: number;
  readonly nodes: number;
  readonly events: readonly TraceEvent[];
}
