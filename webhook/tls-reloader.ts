// Hot reload of the served certificate. cert-manager (or a kubelet-synced Secret) replaces the
// files by swapping the `..data` symlink, so the directories are watched, not the file paths, and
// the files are also re-read on a timer because watch events can be lost. A changed pair is
// validated (key matches certificate, certificate parses) before it replaces the served one; a bad
// pair is reported and the old one keeps serving (vault-k8s helper/cert/source_disk.go).
// A bad pair is retried every 2 s, since a `..data` swap can be read half-way; the failure is
// logged on first sight and then at most once a minute with a count (common/repeat-limiter.ts),
// not every 2 s for as long as the pair stays bad. The metric counts every attempt.
import type { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { watchDirectories, type DirWatcher } from '../common/dir-watcher.js';
import { cryptoModule, tlsModule } from '../common/lazy-builtins.js';
import { createRepeatLimiter } from '../common/repeat-limiter.js';
import { describeError } from '../common/shutdown.js';
import type { WebhookMetrics } from './metrics.js';

export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
  /** Unix seconds of the leaf certificate's notAfter. */
  readonly notAfterSeconds: number;
  readonly subject: string;
  readonly serialNumber: string;
}

export class TlsLoadError extends Error {
  constructor(
    readonly code: 'TLS_FILE_UNREADABLE' | 'TLS_CERT_INVALID' | 'TLS_KEY_MISMATCH',
    message: string,
  ) {
    super(message);
    this.name = 'TlsLoadError';
  }
}

/** Validates a PEM pair. Throws TlsLoadError, whose message never carries key material. */
export function parseTlsMaterial(cert: string, key: string): TlsMaterial {
  let leaf: X509Certificate;
  try {
    leaf = new (cryptoModule().X509Certificate)(cert);
  } catch {
    throw new TlsLoadError('TLS_CERT_INVALID', 'the certificate file holds no PEM certificate');
  }
  try {
    tlsModule().createSecureContext({ cert, key });
  } catch {
    throw new TlsLoadError(
      'TLS_KEY_MISMATCH',
      'the key file does not hold the private key of the certificate',
    );
  }
  return {
    cert,
    key,
    notAfterSeconds: Math.floor(Date.parse(leaf.validTo) / 1000),
    subject: leaf.subject,
    serialNumber: leaf.serialNumber,
  };
}

export async function loadTlsFiles(certFile: string, keyFile: string): Promise<TlsMaterial> {
  let cert: string;
  let key: string;
  try {
    [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  } catch (error: unknown) {
    const { code } = describeError(error);
    throw new TlsLoadError(
      'TLS_FILE_UNREADABLE',
      `cannot read ${certFile} or ${keyFile}${code ? ` (${code})` : ''}`,
    );
  }
  return parseTlsMaterial(cert, key);
}

export interface TlsReloaderDeps {
  readonly certFile: string;
  readonly keyFile: string;
  /** The pair already being served. */
  readonly initial: TlsMaterial;
  /** Installs a new pair, e.g. `server.setSecureContext({ cert, key })`. */
  readonly apply: (material: TlsMaterial) => void;
  readonly logger: Logger;
  readonly metrics: Pick<WebhookMetrics, 'certExpiry' | 'tlsReloads'>;
  /** Periodic re-read, in case a watch event is lost. */
  readonly rereadIntervalMs?: number;
  /** Clock of the repeat limiter on failure logs; `Date.now` unless a test passes its own. */
  readonly now?: () => number;
}

export interface TlsReloader {
  /** Re-reads the files now; resolves `true` when a new pair is being served. */
  reload(): Promise<boolean>;
  current(): TlsMaterial;
  close(): Promise<void>;
}

const DEFAULT_REREAD_MS = 60_000;
// During a `..data` swap the certificate and the key can be read from two generations: retry soon.
const RETRY_AFTER_FAILURE_MS = 2_000;

export function startTlsReloader(deps: TlsReloaderDeps): TlsReloader {
  let current = deps.initial;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let running: Promise<'changed' | 'unchanged' | 'failed'> | undefined;
  const now = deps.now ?? Date.now;
  const failures = createRepeatLimiter();
  deps.metrics.certExpiry.set(current.notAfterSeconds);

  const schedule = (ms: number): void => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void reload(), ms);
    timer.unref();
  };

  const attempt = async (): Promise<'changed' | 'unchanged' | 'failed'> => {
    try {
      const next = await loadTlsFiles(deps.certFile, deps.keyFile);
      // Readable and matching again: the next failure is news, and is logged at once.
      failures.clear('');
      if (next.cert === current.cert && next.key === current.key) return 'unchanged';
      deps.apply(next);
      current = next;
      deps.metrics.certExpiry.set(next.notAfterSeconds);
      deps.metrics.tlsReloads.inc({ result: 'success' });
      deps.logger.info(
        {
          subject: next.subject,
          serialNumber: next.serialNumber,
          notAfter: new Date(next.notAfterSeconds * 1000).toISOString(),
        },
        'TLS certificate reloaded',
      );
      return 'changed';
    } catch (error: unknown) {
      deps.metrics.tlsReloads.inc({ result: 'failure' });
      const err = describeError(error);
      // One key per kind of failure: a different problem is logged at once.
      const { log, suppressed } = failures.shouldLog(err.code ?? 'unknown', now());
      if (log) {
        deps.logger.error(
          { err, suppressed },
          'TLS reload failed; still serving the previous certificate',
        );
      }
      return 'failed';
    }
  };

  // One reload at a time: a watch event during a reload waits for it, then reads again.
  const reload = async (): Promise<boolean> => {
    while (running) await running;
    running = attempt();
    const outcome = await running;
    running = undefined;
    schedule(
      outcome === 'failed' ? RETRY_AFTER_FAILURE_MS : (deps.rereadIntervalMs ?? DEFAULT_REREAD_MS),
    );
    return outcome === 'changed';
  };

  const dirs = [...new Set([dirname(deps.certFile), dirname(deps.keyFile)])];
  const watcher: DirWatcher = watchDirectories(dirs, () => void reload());
  schedule(deps.rereadIntervalMs ?? DEFAULT_REREAD_MS);

  return {
    reload,
    current: () => current,
    async close(): Promise<void> {
      closed = true;
      if (timer) clearTimeout(timer);
      await watcher.close();
    },
  };
}
