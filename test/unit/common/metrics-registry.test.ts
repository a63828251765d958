// Found by the soak (docs/soak.md): sampled once a second, the event-loop delay histogram read about
// 1 s on an idle sidecar, because Node records the whole time between samples. Those figures are
// not served; the scrape-time lag is, and reads what a busy loop really costs.
import { describe, expect, it } from 'vitest';
import { createRegistry, MISLEADING_LAG_METRICS } from '../../../common/metrics-registry.js';

describe('the metrics registry', () => {
  it('serves no event-loop delay figure that would read about one second on an idle process', async () => {
    const text = await createRegistry().metrics();
    for (const name of MISLEADING_LAG_METRICS)
      expect(text).not.toMatch(new RegExp(`^${name} `, 'm'));
  });

  it('still serves the scrape-time event-loop lag and the process metrics', async () => {
    const registry = createRegistry();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const text = await registry.metrics();
    const lag = /^nodejs_eventloop_lag_seconds (\S+)$/m.exec(text)?.[1];
    expect(lag).toBeDefined();
    expect(Number(lag)).toBeGreaterThanOrEqual(0);
    expect(text).toMatch(/^process_resident_memory_bytes /m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes /m);
  });

  it('has no default metrics when asked for none', async () => {
    expect((await createRegistry({ defaultMetrics: false }).metrics()).trim()).toBe('');
  });
});
