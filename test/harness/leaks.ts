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
