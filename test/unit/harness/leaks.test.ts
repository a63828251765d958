// The scrub applied to failure evidence (test/integration/sidecar/context.ts) before CI prints it.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { leakedSecrets, secretForms, withoutSecretLikeText } from '../../harness/leaks.js';

describe('withoutSecretLikeText', () => {
  it('drops every form of a share and the root token that the leak search looks for', () => {
    const shares = Array.from({ length: 5 }, () => randomBytes(33));
    const init = {
      keysHex: shares.map((s) => s.toString('hex')),
      keysBase64: shares.map((s) => s.toString('base64')),
      rootToken: `s.${randomBytes(18).toString('base64url').replace(/[-_]/g, 'x')}`,
      rawJson: '',
    };
    const forms = secretForms(init);
    const text = forms.map((form, i) => `line ${i}: {"msg":"oops","value":"${form}"}`).join('\n');
    expect(leakedSecrets(text, forms)).not.toEqual([]);
    const scrubbed = withoutSecretLikeText(text);
    expect(leakedSecrets(scrubbed, forms)).toEqual([]);
    expect(scrubbed).toContain('line 0: {"msg":"oops","value":"(hex dropped)"}');
  });

  it('drops hvs. tokens and keeps ordinary log lines whole', () => {
    expect(withoutSecretLikeText('token hvs.CAESIJ2o0abcdefghijklmnopqrstuv used')).toBe(
      'token (token dropped) used',
    );
    const line =
      '{"level":"info","time":"2026-11-29T09:29:53.754Z","nonce":"ef08ce07-6659-4e51-1e0e-6808ca77b743","sources":["/tmp/vau-keys-D0yU6I/key-0"],"msg":"keys reloaded"}';
    expect(withoutSecretLikeText(line)).toBe(line);
  });

  it("drops a dev server's unseal key and root token lines", () => {
    expect(
      withoutSecretLikeText('Unseal Key: e4lNkmiU=\nRoot Token: dev-273c914b-0f5a\nnext'),
    ).toBe('Unseal Key: (dropped)\nRoot Token: (dropped)\nnext');
  });
});
