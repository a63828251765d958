// The sidecar's metrics; their names are part of the outward contract (README). Registered on the registry
// passed in; prom-client's global registry is never touched.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createBuildInfoGauge, UNKNOWN_BUILD, type BuildInfo } from '../common/build-info.js';

export interface SidecarMetrics {
  readonly vaultUp: Gauge;
  readonly vaultSealed: Gauge;
  readonly vaultInitialized: Gauge;
  readonly unsealThreshold: Gauge;
  readonly keysLoaded: Gauge;
  readonly keyFilesInvalid: Gauge;
  readonly keysInsufficient: Gauge;
  readonly paused: Gauge;
  readonly pauseSwitchUnreadable: Gauge;
  readonly keyFilesSuspect: Gauge;
  readonly keySetRejected: Gauge;
  readonly keyFilesRootToken: Gauge;
  readonly buildInfo: Gauge<'version' | 'revision'>;
  readonly checks: Counter<'result'>;
  readonly keySubmissions: Counter<'result'>;
  readonly unseals: Counter<'result'>;
  readonly unsealDuration: Histogram;
  readonly lastUnsealTimestamp: Gauge;
}

export function createSidecarMetrics(
  registry: Registry,
  build: BuildInfo = UNKNOWN_BUILD,
): SidecarMetrics {
  const registers = [registry];
  const gauge = (name: string, help: string): Gauge => new Gauge({ name, help, registers });
  const metrics: SidecarMetrics = {
    vaultUp: gauge('vault_autounseal_vault_up', '1 when the last seal-status check got an answer'),
    vaultSealed: gauge(
      'vault_autounseal_vault_sealed',
      '1 when the server is sealed, 0 when unsealed',
    ),
    vaultInitialized: gauge(
      'vault_autounseal_vault_initialized',
      '1 when the server is initialised',
    ),
    unsealThreshold: gauge(
      'vault_autounseal_unseal_threshold',
      'Shares needed to unseal (t), as last reported',
    ),
    keysLoaded: gauge(
      'vault_autounseal_keys_loaded',
      'Distinct valid unseal shares loaded from the key files',
    ),
    keyFilesInvalid: gauge(
      'vault_autounseal_key_files_invalid',
      'Key files (or directories) that could not be used',
    ),
    keysInsufficient: gauge(
      'vault_autounseal_keys_insufficient',
      '1 while the server is sealed and fewer distinct shares are loaded than its threshold',
    ),
    paused: gauge('vault_autounseal_paused', '1 while unsealing is paused by the pod annotation'),
    pauseSwitchUnreadable: gauge(
      'vault_autounseal_pause_switch_unreadable',
      '1 while the downward-API annotations file cannot be read; the last known pause state is kept (paused if never read)',
    ),
    keyFilesSuspect: gauge(
      'vault_autounseal_key_files_suspect',
      'Key files whose share the server rejected, shown by another combination of shares that unsealed it; 0 again when the key files change',
    ),
    keySetRejected: gauge(
      'vault_autounseal_key_set_rejected',
      '1 while the server has rejected every combination of the loaded key set and no round of the sidecar has unsealed it since (an unseal by someone else does not clear it); 0 again when the key files change',
    ),
    keyFilesRootToken: gauge(
      'vault_autounseal_key_files_root_token',
      'Key files that hold a Vault token (the root token of operator init); their shares are still used, but the token does not belong next to the server. Follows the key files',
    ),
    buildInfo: createBuildInfoGauge(registry, build),
    checks: new Counter({
      name: 'vault_autounseal_checks_total',
      help: 'Seal-status checks, by result (ok, error)',
      labelNames: ['result'],
      registers,
    }),
    keySubmissions: new Counter({
      name: 'vault_autounseal_key_submissions_total',
      help: 'Unseal shares sent to the server, by result (accepted, rejected, error, foreign-rejected: a round that held someone else’s shares failed)',
      labelNames: ['result'],
      registers,
    }),
    unseals: new Counter({
      name: 'vault_autounseal_unseals_total',
      help: 'Finished unseal rounds, by result (success, failure)',
      labelNames: ['result'],
      registers,
    }),
    unsealDuration: new Histogram({
      name: 'vault_autounseal_unseal_duration_seconds',
      help: 'Time from first seeing the server sealed to seeing it unsealed',
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
      registers,
    }),
    lastUnsealTimestamp: gauge(
      'vault_autounseal_last_unseal_timestamp_seconds',
      'Unix time of the last successful unseal',
    ),
  };
  // Export every labelled series from the start, so rate() and absent() work before the first event.
  for (const result of ['ok', 'error']) metrics.checks.inc({ result }, 0);
  for (const result of ['accepted', 'rejected', 'error', 'foreign-rejected'])
    metrics.keySubmissions.inc({ result }, 0);
  for (const result of ['success', 'failure']) metrics.unseals.inc({ result }, 0);
  return metrics;
}
