// Every list the webhook writes into an answer is bounded: first few items, then "and N more".
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_MESSAGE_CHARS,
  MAX_WARNING_CHARS,
  MAX_WARNINGS,
  boundWarnings,
  clip,
  joinProblems,
  listFirst,
} from '../../../webhook/bounded-text.js';
import { reviewAdmission } from '../../../webhook/admission.js';
import { loadPod, reviewFor, testDefaults } from '../../fixtures/webhook/fixtures.js';

describe('listFirst', () => {
  it.each([
    // Each row: the items, and how the list reads.
    [[], ''],
    [['vault'], 'vault'],
    [['a', 'b', 'c', 'd', 'e'], 'a, b, c, d, e'], // exactly the limit: no count
    [['a', 'b', 'c', 'd', 'e', 'f'], 'a, b, c, d, e and 1 more'],
    [Array.from({ length: 1000 }, (_, i) => `c${i}`), 'c0, c1, c2, c3, c4 and 995 more'],
  ])('%j reads %j', (items, text) => {
    expect(listFirst(items)).toBe(text);
  });

  it('clips each item to a DNS label', () => {
    expect(listFirst(['x'.repeat(1000)])).toBe(`${'x'.repeat(60)}...`);
  });
});

describe('joinProblems', () => {
  it('shows five problems and counts the rest', () => {
    const problems = Array.from({ length: 8 }, (_, i) => `p${i}`);
    expect(joinProblems(problems)).toBe('p0; p1; p2; p3; p4; and 3 more problems');
  });

  it('never exceeds its bound, whatever the problems', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 5000 }), { maxLength: 50 }), (problems) => {
        expect(joinProblems(problems).length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS);
      }),
    );
  });
});

describe('boundWarnings', () => {
  it('keeps each warning to 120 characters and the answer far below 4096 in total', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 500 }), { maxLength: 40 }), (warnings) => {
        const bounded = boundWarnings(warnings);
        expect(bounded.length).toBeLessThanOrEqual(MAX_WARNINGS);
        for (const w of bounded) expect(w.length).toBeLessThanOrEqual(MAX_WARNING_CHARS);
        expect(bounded.join('').length).toBeLessThan(4096);
      }),
    );
  });

  it('says how many warnings were left out', () => {
    const bounded = boundWarnings(Array.from({ length: 25 }, (_, i) => `w${i}`));
    expect(bounded.slice(0, 2)).toEqual(['w0', 'w1']);
    expect(bounded.at(-1)).toBe('vault-autounseal: and 16 more warnings');
  });

  it('leaves a short list alone', () => {
    expect(boundWarnings(['one', 'two'])).toEqual(['one', 'two']);
    expect(clip('short', 120)).toBe('short');
  });
});

describe('every answer about any pod stays bounded', () => {
  const keys = [
    'vault-autounseal.io/inject',
    'vault-autounseal.io/keys-secret',
    'vault-autounseal.io/vault-container',
    'vault-autounseal.io/native-sidecar',
    'vault-autounseal.io/interval',
    'vault-autounseal.io/log-level',
    'vault-autounseal.io/status',
  ];
  const longText = fc.string({ minLength: 0, maxLength: 3000 });

  it('denial messages and warnings, whatever the annotations and containers', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...keys), longText),
        fc.array(fc.record({ name: longText, port: fc.constantFrom(8210, 8200) }), {
          minLength: 1,
          maxLength: 300,
        }),
        fc.array(longText, { maxLength: 8 }),
        (annotations, containers, caPaths) => {
          const pod = loadPod('bare');
          pod['metadata']['labels'] = { 'vault-autounseal.io/inject': 'true' };
          pod['metadata']['annotations'] = annotations;
          pod['spec']['containers'] = containers.map((c) => ({
            name: c.name,
            image: 'x',
            ports: [{ containerPort: c.port }],
            env: caPaths.map((path, i) => ({
              name: i % 2 ? 'VAULT_CACERT' : 'BAO_CLIENT_CERT',
              value: `/${path}`,
            })),
            volumeMounts: caPaths.map((path, i) => ({ name: `v${i}`, mountPath: `/${path}` })),
          }));
          const result = reviewAdmission(reviewFor(pod), {
            ownNamespace: 'vault-autounseal-system',
            namespaceInjection: 'absent',
            sidecar: testDefaults(),
          });
          if (result.kind !== 'answer') return;
          const { response } = result.body;
          const message = response.status?.message ?? '';
          expect(message.length).toBeLessThanOrEqual(
            'vault-autounseal: '.length + MAX_MESSAGE_CHARS,
          );
          const warnings = response.warnings ?? [];
          expect(warnings.length).toBeLessThanOrEqual(MAX_WARNINGS);
          for (const w of warnings) expect(w.length).toBeLessThanOrEqual(MAX_WARNING_CHARS);
        },
      ),
      { numRuns: 60 },
    );
  });
});
