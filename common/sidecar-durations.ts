// The sane range of each sidecar duration. Both programs read it: the sidecar validates its own
// settings, and the webhook validates the `vault-autounseal.io/interval` annotation that it turns
// into UNSEAL_INTERVAL, so a pod is refused at admission instead of crash-looping later.
import type { DurationRange } from './duration.js';

export const SIDECAR_DURATION_RANGES = {
  /** Check period while unsealed. Below 100 ms is a busy loop; above 1 h a restart goes unseen. */
  UNSEAL_INTERVAL: { minMs: 100, maxMs: 3_600_000 },
  /** Check period while sealed or unreachable. */
  UNSEAL_RETRY_INTERVAL: { minMs: 50, maxMs: 60_000 },
  /** Ceiling of the back-off after failures. */
  UNSEAL_MAX_BACKOFF: { minMs: 1_000, maxMs: 3_600_000 },
  /** Total deadline of one request to the server (a raft follower's unseal can block for seconds). */
  UNSEAL_REQUEST_TIMEOUT: { minMs: 100, maxMs: 120_000 },
} as const satisfies Record<string, DurationRange>;
