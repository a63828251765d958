// Bodies no apiserver sends, sent straight to :8443 (anything in the cluster may reach it: the
// apiserver's source address cannot be selected in a NetworkPolicy). SECURITY.md, "a huge, deep or
// slow request to the webhook"; size and slow clients are covered in server.test.ts and
// slow-clients.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reviewForFixture } from '../../fixtures/webhook/fixtures.js';
import { startWebhook, type RunningWebhook } from './support.js';

let webhook: RunningWebhook;
beforeAll(async () => {
  webhook = await startWebhook();
});
afterAll(async () => {
  await webhook.close();
});

describe('a deeply nested body', () => {
  it('gets a plain 400, never reaches the patch builder, and the webhook keeps serving', async () => {
    const review = reviewForFixture('vault-0');
    const depth = 200_000;
    const deep = '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    const body = JSON.stringify({ ...review, padding: 'PLACEHOLDER' }).replace(
      '"PLACEHOLDER"',
      deep,
    );
    const answer = await webhook.post('/mutate', body);
    expect(answer.status).toBe(400);
    expect(String(answer.json?.['message'])).toContain('nests deeper than');
    const metrics = await webhook.registry.metrics();
    expect(metrics).not.toMatch(/reason="internal-error"/);
    const ok = await webhook.review('/mutate', reviewForFixture('vault-0'));
    expect(ok.status).toBe(200);
  });
});
