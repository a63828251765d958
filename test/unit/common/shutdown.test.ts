// exitOnSignals, both programs' shutdown: close once, exit 0, never die of a second signal.
// A plain EventEmitter stands in for the process, so signals and exits are observed, not suffered.
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import { exitOnSignals } from '../../../common/shutdown.js';

function fakeProcess(): EventEmitter & { exits: number[]; exit(code: number): void } {
  const host = Object.assign(new EventEmitter(), {
    exits: [] as number[],
    exit(code: number): void {
      host.exits.push(code);
    },
  });
  return host;
}

function sink(): { logger: ReturnType<typeof createLogger>; messages: () => string[] } {
  const lines: Array<{ msg: string }> = [];
  const logger = createLogger({
    level: 'info',
    name: 'shutdown-test',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) },
  });
  return { logger, messages: () => lines.map((l) => l.msg) };
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

afterEach(() => {
  vi.useRealTimers();
});

describe('exitOnSignals', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'on %s: closes, says "stopped", exits 0',
    async (signal) => {
      const host = fakeProcess();
      const { logger, messages } = sink();
      const close = vi.fn(() => Promise.resolve());
      exitOnSignals({ logger, timeoutMs: 5_000, close, host });

      host.emit(signal, signal);
      await flush();
      expect(close).toHaveBeenCalledTimes(1);
      expect(host.exits).toEqual([0]);
      expect(messages()).toEqual(['shutting down', 'stopped']);
    },
  );

  describe('when a second signal comes while closing', () => {
    it.each([
      ['SIGTERM', 'SIGTERM'], // kubelet and an impatient operator
      ['SIGTERM', 'SIGINT'], // a terminal's Ctrl-C on top
      ['SIGINT', 'SIGINT'],
    ] as const)(
      '%s then %s: still listened for, ignored, one close, exit 0',
      async (first, second) => {
        const host = fakeProcess();
        const { logger } = sink();
        let finish: () => void = () => undefined;
        const close = vi.fn(() => new Promise<void>((resolve) => (finish = resolve)));
        exitOnSignals({ logger, timeoutMs: 5_000, close, host });

        host.emit(first, first);
        // With `once`, the handler would be gone here and Node's default action (death) would apply.
        expect(host.listenerCount(second)).toBe(1);
        host.emit(second, second);
        finish();
        await flush();
        expect(close).toHaveBeenCalledTimes(1);
        expect(host.exits).toEqual([0]);
      },
    );
  });

  it('exits 1 at the deadline when closing hangs', async () => {
    vi.useFakeTimers();
    const host = fakeProcess();
    const { logger, messages } = sink();
    exitOnSignals({
      logger,
      timeoutMs: 4_500,
      close: () => new Promise<void>(() => undefined),
      host,
    });

    host.emit('SIGTERM', 'SIGTERM');
    await vi.advanceTimersByTimeAsync(4_499);
    expect(host.exits).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(host.exits).toEqual([1]);
    expect(messages()).toContain('shutdown timed out');
  });

  it('exits 1 when closing fails, describing the error by name and message only', async () => {
    const host = fakeProcess();
    const { logger, messages } = sink();
    exitOnSignals({
      logger,
      timeoutMs: 5_000,
      close: () => Promise.reject(new Error('listener would not close')),
      host,
    });

    host.emit('SIGTERM', 'SIGTERM');
    await flush();
    expect(host.exits).toEqual([1]);
    expect(messages()).toContain('error while shutting down');
  });
});
