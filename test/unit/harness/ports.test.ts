// The test harness's port choice (test/harness/ports.ts): outside the kernel's ephemeral range,
// where no outgoing connection can take a server's port between the choice and the bind.
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  ephemeralRange,
  freePort,
  freePorts,
  LOWEST_PORT,
  spanOutside,
  WORKER_SLICES,
  workerSpan,
} from '../../harness/ports.js';

describe('ephemeralRange', () => {
  it('reads the two numbers of ip_local_port_range', () => {
    expect(ephemeralRange(() => '32768\t60999\n')).toEqual([32_768, 60_999]);
    expect(ephemeralRange(() => '1024 65535')).toEqual([1_024, 65_535]);
  });

  it("assumes Linux's default when the file is unreadable or odd", () => {
    const unreadable = (): string => {
      throw new Error('ENOENT');
    };
    expect(ephemeralRange(unreadable)).toEqual([32_768, 60_999]);
    expect(ephemeralRange(() => 'garbage')).toEqual([32_768, 60_999]);
    expect(ephemeralRange(() => '60999 32768')).toEqual([32_768, 60_999]);
  });
});

describe('spanOutside', () => {
  it('takes the ports below the default range', () => {
    expect(spanOutside([32_768, 60_999])).toEqual([LOWEST_PORT, 32_767]);
  });

  it('takes the ports above a range that starts low', () => {
    expect(spanOutside([11_000, 40_000])).toEqual([40_001, 65_535]);
  });

  it('gives up when the range leaves too few ports', () => {
    expect(spanOutside([1_024, 65_535])).toBeUndefined();
    expect(spanOutside([11_000, 64_000])).toBeUndefined();
  });
});

describe('workerSpan', () => {
  const whole = [LOWEST_PORT, 32_767] as const;

  it('gives each vitest worker its own part of the span, none shared', () => {
    const slices = Array.from({ length: WORKER_SLICES }, (_, i) =>
      workerSpan(whole, String(i + 1)),
    );
    for (const [i, [from, to]] of slices.entries()) {
      expect(from).toBeGreaterThanOrEqual(whole[0]);
      expect(to).toBeLessThanOrEqual(whole[1]);
      expect(to - from + 1).toBeGreaterThan(2_000);
      if (i > 0) expect(from).toBeGreaterThan(slices[i - 1]![1]);
    }
  });

  it('wraps past the last slice, and keeps the whole span outside vitest', () => {
    expect(workerSpan(whole, String(WORKER_SLICES + 1))).toEqual(workerSpan(whole, '1'));
    expect(workerSpan(whole, undefined)).toEqual(whole);
    expect(workerSpan(whole, '0')).toEqual(whole);
    expect(workerSpan(whole, 'x')).toEqual(whole);
  });
});

describe('freePort', () => {
  const [low, high] = ephemeralRange();
  const span = spanOutside([low, high]);

  it('hands out ports outside the ephemeral range, each once, that can be listened on', async () => {
    expect(span).toBeDefined();
    const ports = await freePorts(20);
    expect(new Set(ports).size).toBe(20);
    // Within this worker's own slice of the span.
    const [from, to] = workerSpan(span!, process.env['VITEST_POOL_ID']);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(from);
      expect(port).toBeLessThanOrEqual(to);
    }
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(ports[0], '127.0.0.1', resolve));
    server.close();
  });

  it('skips a port something is listening on', async () => {
    const first = await freePort();
    // The next port in this process's walk, taken before it is handed out.
    const blocker = createServer();
    const taken = await new Promise<boolean>((resolve) => {
      blocker.once('error', () => resolve(false));
      blocker.listen(first + 1, '127.0.0.1', () => resolve(true));
    });
    const next = await freePort();
    blocker.close();
    expect(taken).toBe(true);
    expect(next).not.toBe(first + 1);
    expect(next).not.toBe(first);
  });
});
