// Golden answer: the exact patch for the official chart's vault-0, reviewed in
// test/fixtures/webhook/vault-0.patch.golden.json. A change to what the webhook injects shows up
// here as a diff to read, not only as a contract check that still passes.
// Regenerate after a deliberate change: UPDATE_GOLDEN=1 npx vitest run test/unit/webhook/golden.test.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { reviewAdmission } from '../../../webhook/admission.js';
import { decodePatch, reviewForFixture, testDefaults } from '../../fixtures/webhook/fixtures.js';

const GOLDEN = new URL('../../fixtures/webhook/vault-0.patch.golden.json', import.meta.url);

describe('the patch for the official chart pod vault-0', () => {
  it('is exactly the golden one', () => {
    const result = reviewAdmission(reviewForFixture('vault-0'), {
      ownNamespace: 'vault-autounseal-system',
      namespaceInjection: 'absent',
      sidecar: testDefaults(),
    });
    if (result.kind !== 'answer' || !result.body.response.patch) throw new Error('no patch');
    const ops = decodePatch(result.body.response.patch);
    if (process.env['UPDATE_GOLDEN'] === '1')
      writeFileSync(GOLDEN, `${JSON.stringify(ops, null, 2)}\n`);
    expect(ops).toEqual(JSON.parse(readFileSync(GOLDEN, 'utf8')));
  });
});
