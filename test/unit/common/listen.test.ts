// The dual-stack listener's way back to IPv4 (issue 21, item 9): only `::`, only for "no IPv6".
import { describe, expect, it } from 'vitest';
import { ipv4Fallback, listenWithFallback } from '../../../common/listen.js';

describe('ipv4Fallback', () => {
  it.each([
    // No IPv6 in the kernel, or no IPv6 address in the pod.
    ['::', 'EAFNOSUPPORT', '0.0.0.0'],
    ['::', 'EADDRNOTAVAIL', '0.0.0.0'],
    // Any other failure is real: a port in use must not move the listener.
    ['::', 'EADDRINUSE', undefined],
    ['::', 'EACCES', undefined],
    ['::', undefined, undefined],
    ['::', 42, undefined],
    // An address the operator chose is never replaced.
    ['::1', 'EADDRNOTAVAIL', undefined],
    ['0.0.0.0', 'EAFNOSUPPORT', undefined],
  ])('%s failing with %s → %s', (host, code, fallback) => {
    expect(ipv4Fallback(host, code)).toBe(fallback);
  });
});

describe('listenWithFallback', () => {
  function fakeApp(failures: Record<string, string>): {
    app: { listen(o: { host: string; port: number }): Promise<unknown> };
    tried: string[];
  } {
    const tried: string[] = [];
    return {
      tried,
      app: {
        listen: async ({ host }) => {
          tried.push(host);
          const code = failures[host];
          if (code) throw Object.assign(new Error(`listen ${code}`), { code });
          return undefined;
        },
      },
    };
  }

  function sink(): {
    logger: { warn(f: Record<string, unknown>, m: string): void };
    lines: unknown[];
  } {
    const lines: unknown[] = [];
    return { lines, logger: { warn: (fields, message) => lines.push({ ...fields, message }) } };
  }

  it('listens on :: when it can, without a word', async () => {
    const { app, tried } = fakeApp({});
    const { logger, lines } = sink();
    await expect(listenWithFallback(app, { host: '::', port: 8210 }, logger)).resolves.toBe('::');
    expect(tried).toEqual(['::']);
    expect(lines).toEqual([]);
  });

  it('falls back to 0.0.0.0 on a host without IPv6, with one log line', async () => {
    const { app, tried } = fakeApp({ '::': 'EAFNOSUPPORT' });
    const { logger, lines } = sink();
    await expect(listenWithFallback(app, { host: '::', port: 8210 }, logger)).resolves.toBe(
      '0.0.0.0',
    );
    expect(tried).toEqual(['::', '0.0.0.0']);
    expect(lines).toEqual([
      {
        host: '::',
        code: 'EAFNOSUPPORT',
        fallback: '0.0.0.0',
        message: 'no IPv6 on this host: listening on 0.0.0.0:8210 (IPv4 only) instead',
      },
    ]);
  });

  it('passes any other failure on, untouched', async () => {
    const { app, tried } = fakeApp({ '::': 'EADDRINUSE' });
    const { logger, lines } = sink();
    await expect(listenWithFallback(app, { host: '::', port: 8210 }, logger)).rejects.toThrow(
      'listen EADDRINUSE',
    );
    expect(tried).toEqual(['::']);
    expect(lines).toEqual([]);
  });
});
