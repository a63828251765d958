import type { Logger } from 'pino';

/** The part of `process` shutdown uses; tests pass an EventEmitter. */
export interface ShutdownHost {
  on(signal: 'SIGTERM' | 'SIGINT', listener: (signal: NodeJS.Signals) => void): unknown;
  exit(code: number): void;
}

export interface ShutdownOptions {
  readonly logger: Logger;
  /** Hard limit: the contract promises exit within 5 s of SIGTERM. */
  readonly timeoutMs: number;
  readonly close: () => Promise<void>;
  /** Defaults to the real process. */
  readonly host?: ShutdownHost;
}

/**
 * On SIGTERM or SIGINT: run `close` once, then exit 0. If closing hangs, exit 1 at the deadline
 * so the kubelet never has to SIGKILL us. A second signal while closing is ignored.
 */
export function exitOnSignals(options: ShutdownOptions): void {
  const host = options.host ?? process;
  let closing = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (closing) {
      options.logger.info({ signal }, 'already shutting down; signal ignored');
      return;
    }
    closing = true;
    options.logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      options.logger.error({ timeoutMs: options.timeoutMs }, 'shutdown timed out');
      host.exit(1);
    }, options.timeoutMs);
    deadline.unref();
    options.close().then(
      () => {
        clearTimeout(deadline);
        options.logger.info('stopped');
        host.exit(0);
      },
      (error: unknown) => {
        clearTimeout(deadline);
        options.logger.error({ err: describeError(error) }, 'error while shutting down');
        host.exit(1);
      },
    );
  };
  // `on`, not `once`: with its listener gone, a signal gets Node's default action, and a second
  // SIGTERM would kill the process mid-close. The listener stays, and `closing` ignores repeats.
  host.on('SIGTERM', onSignal);
  host.on('SIGINT', onSignal);
}

/** A plain, secret-free summary of an unknown thrown value: name, code and message only. */
export function describeError(error: unknown): { name: string; code?: string; message: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string'
      ? { name: error.name, code, message: error.message }
      : { name: error.name, message: error.message };
  }
  return { name: 'Error', message: String(error) };
}
