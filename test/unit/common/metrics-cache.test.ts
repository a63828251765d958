// A /metrics flood must not render the registry once per request: renders are shared while one
// runs and for a short time after (issue 21, item 6).
import { describe, expect, it } from 'vitest';
import { METRICS_MAX_AGE_MS, cachedRender } from '../../../common/metrics-cache.js';

/** A render whose calls are counted and whose completion the test controls. */
function scriptedRender() {
  const pending: Array<{ resolve: (body: string) => void; reject: (error: Error) => void }> = [];
  let calls = 0;
  const render = (): Promise<string> => {
    calls += 1;
    return new Promise((resolve, reject) => pending.push({ resolve, reject }));
  };
  return {
    render,
    calls: () => calls,
    finish: (body: string) => pending.shift()?.resolve(body),
    fail: (error: Error) => pending.shift()?.reject(error),
  };
}

function clock(start = 1_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('cachedRender', () => {
  it('renders once for any number of scrapes within the window', async () => {
    const time = clock();
    let calls = 0;
    const scrape = cachedRender(() => Promise.resolve(`render ${++calls}`), {
      maxAgeMs: 1_000,
      now: time.now,
    });
    const bodies: string[] = [];
    for (let i = 0; i < 50; i++) {
      bodies.push(await scrape());
      time.advance(19); // 50 scrapes over 950 ms
    }
    expect(calls).toBe(1);
    expect(new Set(bodies)).toEqual(new Set(['render 1']));
  });

  it('renders again once the window has passed since the last render ended', async () => {
    const time = clock();
    let calls = 0;
    const scrape = cachedRender(() => Promise.resolve(`render ${++calls}`), {
      maxAgeMs: 1_000,
      now: time.now,
    });
    expect(await scrape()).toBe('render 1');
    time.advance(999);
    expect(await scrape()).toBe('render 1');
    time.advance(1);
    expect(await scrape()).toBe('render 2');
  });

  it('shares one render among scrapes that arrive while it runs', async () => {
    const time = clock();
    const script = scriptedRender();
    const scrape = cachedRender(script.render, { maxAgeMs: 1_000, now: time.now });
    const waiting = [scrape(), scrape(), scrape()];
    expect(script.calls()).toBe(1);
    script.finish('body');
    expect(await Promise.all(waiting)).toEqual(['body', 'body', 'body']);
  });

  it('measures the window from the end of a slow render, not its start', async () => {
    const time = clock();
    const script = scriptedRender();
    const scrape = cachedRender(script.render, { maxAgeMs: 1_000, now: time.now });
    const first = scrape();
    time.advance(1_500);
    script.finish('slow');
    expect(await first).toBe('slow');
    time.advance(500);
    expect(await scrape()).toBe('slow');
    expect(script.calls()).toBe(1);
  });

  it('keeps no failed render: every waiting scrape fails, the next one renders again', async () => {
    const time = clock();
    const script = scriptedRender();
    const scrape = cachedRender(script.render, { maxAgeMs: 1_000, now: time.now });
    const waiting = [scrape(), scrape()];
    script.fail(new Error('collect failed'));
    for (const result of await Promise.allSettled(waiting)) {
      expect(result).toMatchObject({ status: 'rejected', reason: { message: 'collect failed' } });
    }
    const next = scrape();
    expect(script.calls()).toBe(2);
    script.finish('recovered');
    expect(await next).toBe('recovered');
  });

  it('keeps a body for one second by default: well under any scrape interval', () => {
    expect(METRICS_MAX_AGE_MS).toBe(1_000);
  });
});
