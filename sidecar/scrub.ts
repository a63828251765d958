// Last-resort scrubbing of text that crosses an edge (server error messages, unexpected exceptions).
// The first defence is structural: shares never go into messages. This catches what a library or a
// server might echo back: a share (hex, or base64 of it) and a Vault/OpenBao token, whatever
// surrounds them.
//
// It must not eat ordinary text, or the one message that says what is wrong becomes unreadable:
// OpenSSL's own errors name its source files (`../deps/openssl/openssl/ssl/record/rec_layer_s3.c`,
// which a rule of "20 base64 characters" turned into `..[redacted]_layer_s3.c`), and messages hold
// paths and long words. So the rules are tied to what a secret looks like:
// - hex: 32 or more hex digits in a row (a share is 33 bytes, 66 digits; 32 is half of one, and no
//   ordinary word or OpenSSL code is that long: its codes are 8 digits, `error:0A000086`);
// - base64: 43 or more base64 characters (32 bytes or more: a share is 44), unless the run is a
//   path or a word: only lower-case letters, digits and `/` (random base64 of that length has an
//   upper-case letter or a `+` but for odds of about 1 in 10^10);
// - tokens: `hvs.`, `hvb.`, `hvr.`, `s.`, `b.`, `r.` followed by 16 or more token characters.

const LONG_HEX = /[0-9a-fA-F]{32,}/g;
const LONG_BASE64 = /[A-Za-z0-9+/]{43,}={0,2}/g;
/** Lower-case letters, digits and `/` only: a path such as `deps/openssl/ssl/record`, or a word. */
const PATH_OR_WORD = /^[a-z0-9/]+$/;
/** Vault/OpenBao tokens (`hvs.…`, `s.…`, `b.…`) and the like. */
const TOKEN = /\b(?:hv[sbr]|s|b|r)\.[A-Za-z0-9_-]{16,}/g;

export const REDACTED = '[redacted]';

export function scrubSecrets(text: string): string {
  return text
    .replace(TOKEN, REDACTED)
    .replace(LONG_HEX, REDACTED)
    .replace(LONG_BASE64, (run) => (PATH_OR_WORD.test(run) ? run : REDACTED));
}
