// "Keys are sacred": every representation of every share (hex in either case, base64) and the
// root token are searched for in everything a sidecar printed or served.
import type { InitResult } from './openbao.js';
import type { SidecarProcess } from './sidecar-process.js';

export function secretForms(...inits: readonly InitResult[]): string[] {
  const forms = new Set<string>();
  for (const init of inits) {
    for (const hex of init.keysHex) {
      forms.add(hex.toLowerCase());
      forms.add(hex.toUpperCase());
      forms.add(Buffer.from(hex, 'hex').toString('base64'));
      // A share's first 16 hex characters: enough to catch a truncated share in a message.
      forms.add(hex.toLowerCase().slice(0, 16));
    }
    for (const b64 of init.keysBase64) forms.add(b64);
    if (init.rootToken) forms.add(init.rootToken);
  }
  return [...forms];
}

/** The secret forms found in `text` (an empty list is what every test expects). */
export function leakedSecrets(text: string, forms: readonly string[]): string[] {
  return forms
    .filter((form) => text.includes(form))
    .map((form) => `${form.slice(0, 6)}… (${form.length} chars)`);
}

/** Everything the sidecar has shown the world: stdout, stderr, /status and /metrics. */
export async function everythingPrinted(sidecar: SidecarProcess): Promise<string> {
  const served = await Promise.all([sidecar.get('/status'), sidecar.get('/metrics')]).catch(
    () => [],
  );
  return [sidecar.stdout(), sidecar.stderr(), ...served.map((r) => r.text)].join('\n');
}

/**
 * `text` with everything shaped like a share or a token replaced: runs of 16 or more hex digits,
 * of 40 or more base64 characters, Vault/OpenBao token literals, and what follows a dev server's
 * `Unseal Key:` and `Root Token:` (its ids are test-chosen). For failure evidence that CI
 * prints: a leak test that fails must not spread the leak into CI's log. It drops more than
 * secrets (lease ids, long digests), which evidence can spare.
 */
export function withoutSecretLikeText(text: string): string {
  return text
    .replace(/^(\s*(?:Unseal Key|Root Token):).*$/gm, '$1 (dropped)')
    .replace(/\b(?:hv[sbr]|[sbr])\.[A-Za-z0-9_-]{20,}/g, '(token dropped)')
    .replace(/[0-9a-fA-F]{16,}/g, '(hex dropped)')
    .replace(/[A-Za-z0-9+/]{40,}={0,2}/g, '(base64 dropped)');
}
