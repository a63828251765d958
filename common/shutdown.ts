import type { Logger } from 'pino';

export interface ShutdownOptions {
  readonly logger: Logger;
  /** Hard limit: the contract promises exit within 5 s of SIGTERM. */
  readonly timeoutMs: number;
  readonly close: () => Promise<void>;
}

/**
 * On SIGTERM or SIGINT: run `close` once, then exit 0. If closing hangs, exit 1 at the deadline
 * so the kubelet never has to SIGKILL us. A second signal while closing is ignored.
 */
export function exitOnSignals(options: ShutdownOptions): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (closing) return;
    closing = true;
    options.logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      options.logger.error({ timeoutMs: options.timeoutMs }, 'shutdown timed out');
      process.exit(1);
    }, options.timeoutMs);
    deadline.unref();
    options.close().then(
      () => {
        options.logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        options.logger.error({ err: describeError(error) }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
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
