// A /metrics flood must not render the registry once per request: renders are shared while one
// runs, and its body is reused for a time in proportion to what it cost (issue 21, item 6).
import { describe, expect, it } from 'vitest';
import { METRICS_CACHE, cachedRender } from '../../../common/metrics-cache.js';

/** A clock the test moves, and a render that takes `costMs` of it and counts its calls. */
function setup(costMs: number, options: { renderShare?: number; maxAgeMs?: number } = {}) {
  let now = 1_000;
  let calls = 0;
  const scrape = cachedRender(
    () => {
      calls += 1;
      now += costMs;
      return Promise.resolve(`render ${calls}`);
    },
    { renderShare: 0.05, maxAgeMs: 1_000, ...options, now: () => now },
  );
  return { scrape, calls: () => calls, advance: (ms: number) => (now += ms) };
}

/** A render whose completion the test controls, on a clock it moves. */
function scripted() {
  let now = 0;
  const pending: Array<{ resolve: (body: string) => void; reject: (error: Error) => void }> = [];
  let calls = 0;
  const scrape = cachedRender(
    () => {
      calls += 1;
      return new Promise<string>((resolve, reject) => pending.push({ resolve, reject }));
    },
    { renderShare: 0.05, maxAgeMs: 1_000, now: () => now },
  );
  return {
    scrape,
    calls: () => calls,
    advance: (ms: number) => (now += ms),
    finish: (body: string) => pending.shift()?.resolve(body),
    fail: (error: Error) => pending.shift()?.reject(error),
  };
}

describe('cachedRender', () => {
  it('renders once for every scrape of a flood within the reuse time', async () => {
    // A 10 ms render at 5 %: reused for 190 ms.
    const { scrape, calls, advance } = setup(10);
    const bodies: string[] = [];
    for (let i = 0; i < 38; i++) {
      bodies.push(await scrape());
      advance(5);
    }
    expect(calls()).toBe(1);
    expect(new Set(bodies)).toEqual(new Set(['render 1']));
    expect(await scrape()).toBe('render 2');
  });

  it.each([
    // [render cost, share, max age, reused until (ms after the render ended)]
    [10, 0.05, 1_000, 190], // 19 times the cost
    [10, 0.5, 1_000, 10], // as long as the render
    [100, 0.05, 1_000, 1_000], // 1,900 ms, capped
    [100, 0.05, 500, 500], // the cap is the option
    [0, 0.05, 1_000, 0], // a free render is never reused
  ])(
    'a %d ms render at share %d (max %d ms) is reused for %d ms',
    async (cost, renderShare, maxAgeMs, reuseMs) => {
      const { scrape, calls, advance } = setup(cost, { renderShare, maxAgeMs });
      expect(await scrape()).toBe('render 1');
      if (reuseMs > 0) {
        advance(reuseMs - 1);
        expect(await scrape()).toBe('render 1');
        advance(1);
      }
      expect(await scrape()).toBe('render 2');
      expect(calls()).toBe(2);
    },
  );

  it('shares one render among scrapes that arrive while it runs', async () => {
    const render = scripted();
    const waiting = [render.scrape(), render.scrape(), render.scrape()];
    expect(render.calls()).toBe(1);
    render.finish('body');
    expect(await Promise.all(waiting)).toEqual(['body', 'body', 'body']);
  });

  it('measures the render from its start and reuses the body from its end', async () => {
    const render = scripted();
    const first = render.scrape();
    render.advance(20);
    render.finish('slow');
    expect(await first).toBe('slow');
    render.advance(379); // 19 × 20 ms after the end, less 1
    expect(await render.scrape()).toBe('slow');
    expect(render.calls()).toBe(1);
    render.advance(1);
    void render.scrape();
    expect(render.calls()).toBe(2);
  });

  it('keeps no failed render: every waiting scrape fails, the next one renders again', async () => {
    const render = scripted();
    const waiting = [render.scrape(), render.scrape()];
    render.advance(50);
    render.fail(new Error('collect failed'));
    for (const result of await Promise.allSettled(waiting)) {
      expect(result).toMatchObject({ status: 'rejected', reason: { message: 'collect failed' } });
    }
    const next = render.scrape();
    expect(render.calls()).toBe(2);
    render.finish('recovered');
    expect(await next).toBe('recovered');
  });

  it('by default lets renders take 5 % of the time, and keeps a body 1 s at most', () => {
    expect(METRICS_CACHE).toEqual({ renderShare: 0.05, maxAgeMs: 1_000 });
  });
});
