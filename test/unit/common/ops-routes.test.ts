// /healthz, /readyz and /metrics as kubelet and Prometheus see them: the status code is what a
// probe acts on, the body says why.
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../../../common/metrics-registry.js';
import { registerOpsRoutes } from '../../../common/ops-routes.js';
import { Gauge } from 'prom-client';

async function probe(live: boolean, ready: boolean, path: string) {
  const app = Fastify();
  const registry = createRegistry({ defaultMetrics: false });
  registerOpsRoutes(app, { registry, probes: { isLive: () => live, isReady: () => ready } });
  try {
    const response = await app.inject({ method: 'GET', url: path });
    return {
      status: response.statusCode,
      body: response.body,
      type: response.headers['content-type'],
    };
  } finally {
    await app.close();
  }
}

describe('the ops routes', () => {
  it.each([
    // [live, ready, path, status, body]
    [true, false, '/healthz', 200, { status: 'ok' }],
    // A stalled loop fails liveness: kubelet restarts the container.
    [false, true, '/healthz', 503, { status: 'stalled' }],
    [false, true, '/readyz', 200, { status: 'ready' }],
    // Not ready yet (or any more): taken out of the Service, not restarted.
    [true, false, '/readyz', 503, { status: 'not ready' }],
  ] as const)('live=%s ready=%s: GET %s answers %d', async (live, ready, path, status, body) => {
    const answer = await probe(live, ready, path);
    expect(answer.status).toBe(status);
    expect(JSON.parse(answer.body)).toEqual(body);
  });

  it('serves the registry in the Prometheus text format', async () => {
    const answer = await probe(true, true, '/metrics');
    expect(answer.status).toBe(200);
    expect(answer.type).toMatch(/^text\/plain; version=0\.0\.4/);
  });
});

describe('/metrics under a flood of scrapes', () => {
  it('renders the registry once for every scrape within the reuse time, then again', async () => {
    let now = 0;
    const registry = createRegistry({ defaultMetrics: false });
    let renders = 0;
    new Gauge({
      name: 'renders',
      help: 'how often the registry was rendered',
      registers: [registry],
      collect() {
        renders += 1;
        this.set(renders);
        now += 10; // a render that takes 10 ms: reused for 190 ms at 5 %
      },
    });
    const app = Fastify();
    registerOpsRoutes(app, {
      registry,
      probes: { isLive: () => true, isReady: () => true },
      metricsCache: { renderShare: 0.05, maxAgeMs: 1_000, now: () => now },
    });
    try {
      const bodies: string[] = [];
      for (let i = 0; i < 20; i++) {
        bodies.push((await app.inject({ method: 'GET', url: '/metrics' })).body);
        now += 9;
      }
      expect(renders).toBe(1);
      expect(bodies.every((body) => body.includes('renders 1'))).toBe(true);
      now += 10;
      expect((await app.inject({ method: 'GET', url: '/metrics' })).body).toContain('renders 2');
    } finally {
      await app.close();
    }
  });
});
