// Last-resort scrubbing of text that crosses an edge (server error messages, unexpected exceptions).
// The first defence is structural: shares never go into messages. This catches what a library or a
// server might echo back: long runs of hex or base64 are replaced, whatever they are.

const LONG_HEX = /[0-9a-fA-F]{32,}/g;
const LONG_BASE64 = /[A-Za-z0-9+/]{20,}={0,2}/g;
/** Vault/OpenBao tokens (`hvs.…`, `s.…`, `b.…`) and the like. */
const TOKEN = /\b(?:hv[sbr]|s|b|r)\.[A-Za-z0-9_-]{16,}/g;

export const REDACTED = '[redacted]';

export function scrubSecrets(text: string): string {
  return text.replace(TOKEN, REDACTED).replace(LONG_HEX, REDACTED).replace(LONG_BASE64, REDACTED);
}
