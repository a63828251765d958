// The webhook's metrics (names fixed: the alerts and dashboards under deploy/ use them), registered
// on the one registry the composition root passes in.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createBuildInfoGauge, UNKNOWN_BUILD, type BuildInfo } from '../common/build-info.js';
import type { AdmissionResultLabel } from './admission.js';

export interface WebhookMetrics {
  readonly admissions: Counter<'result' | 'reason'>;
  readonly admissionDuration: Histogram;
  readonly certExpiry: Gauge;
  readonly tlsReloads: Counter<'result'>;
  recordAdmission(result: AdmissionResultLabel, reason: string, seconds: number): void;
}

export function createWebhookMetrics(
  registry: Registry,
  build: BuildInfo = UNKNOWN_BUILD,
): WebhookMetrics {
  const registers = [registry];
  createBuildInfoGauge(registry, build);
  const admissions = new Counter({
    name: 'vault_autounseal_webhook_admissions_total',
    help: 'Admission reviews answered, by result (injected, skipped, denied, error) and reason.',
    labelNames: ['result', 'reason'] as const,
    registers,
  });
  const admissionDuration = new Histogram({
    name: 'vault_autounseal_webhook_admission_duration_seconds',
    help: 'Time to answer one admission review, from parsed body to response.',
    // Deciding is pure and in memory: sub-millisecond normally, anything near a second is a problem.
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers,
  });
  const certExpiry = new Gauge({
    name: 'vault_autounseal_webhook_tls_cert_expiry_timestamp_seconds',
    help: 'Unix time at which the served TLS certificate expires (its notAfter).',
    registers,
  });
  const tlsReloads = new Counter({
    name: 'vault_autounseal_webhook_tls_reloads_total',
    help: 'Attempts to load changed TLS files, by result (success, failure).',
    labelNames: ['result'] as const,
    registers,
  });
  return {
    admissions,
    admissionDuration,
    certExpiry,
    tlsReloads,
    recordAdmission(result, reason, seconds): void {
      admissions.inc({ result, reason });
      admissionDuration.observe(seconds);
    },
  };
}
