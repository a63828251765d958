// Turning the text of a key file into unseal shares, the way the server itself decodes the `key` of
// `PUT /v1/sys/unseal` (https://github.com/hashicorp/vault/blob/main/http/sys_seal.go): hex first
// when it gives 16–33 bytes, otherwise padded standard base64. Pure: no fs, no logging. Nothing here ever puts share material
// into an error message; reasons are fixed strings.

/** A decoded share. `hex` is what we submit; `bytes` identifies it (hex and base64 of one share are one share). */
export interface Share {
  readonly hex: string;
  /**
   * Which key directory gave it (its place in UNSEAL_KEYS_DIR). The search tries sets from one
   * directory before sets that mix them: the shares of before a rekey, kept in a second directory
   * for a node that missed the rekey, are then found as quickly as the new ones.
   */
  readonly group?: number;
}

/**
 * A share and where it was read: a display string made by the caller (a scrubbed path, with
 * `#n` for the n-th share of a JSON file), so a rejected key set can name its suspect files.
 */
export interface SourcedShare extends Share {
  readonly origin: string;
}

export type ParsedSourcedKeyFile =
  | { readonly ok: true; readonly shares: readonly SourcedShare[]; readonly rootToken?: true }
  | { readonly ok: false; readonly problem: KeyFileProblem; readonly rootToken?: true };

export type KeyFileProblem =
  | 'empty'
  | 'not a hex or base64 share'
  | 'wrong length: a share decodes to 16–33 bytes'
  | 'JSON without unseal keys (expected unseal_keys_b64, unseal_keys_hex, keys_base64 or keys)'
  | 'invalid JSON'
  | 'too large'
  | 'holds a Vault token, not an unseal share';

/**
 * `rootToken`: the file also holds a token (the `root_token` of `operator init`, or text that is a
 * Vault or OpenBao token). Its shares are still used; the file is named as a problem, since the
 * token does not belong next to the server. The token itself is never kept.
 */
export type ParsedKeyFile =
  | { readonly ok: true; readonly shares: readonly Share[]; readonly rootToken?: true }
  | { readonly ok: false; readonly problem: KeyFileProblem; readonly rootToken?: true };

const MIN_SHARE_BYTES = 16;
const MAX_SHARE_BYTES = 33;
/** A key file is a few hundred bytes; an `operator init` JSON with 255 shares is under 40 KiB. */
export const MAX_KEY_FILE_BYTES = 64 * 1024;

const HEX = /^[0-9a-fA-F]+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Decodes one share written as hex or base64, or says why it cannot. */
const isShareLength = (bytes: number): boolean =>
  bytes >= MIN_SHARE_BYTES && bytes <= MAX_SHARE_BYTES;
const WRONG_LENGTH: ParsedKeyFile = {
  ok: false,
  problem: 'wrong length: a share decodes to 16–33 bytes',
};

export function decodeShare(text: string): ParsedKeyFile {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, problem: 'empty' };
  const isHex = HEX.test(trimmed);
  if (isHex && trimmed.length % 2 === 0 && isShareLength(trimmed.length / 2)) {
    return { ok: true, shares: [{ hex: trimmed.toLowerCase() }] };
  }
  if (BASE64.test(trimmed) && trimmed.length % 4 === 0) {
    const bytes = Buffer.from(trimmed, 'base64');
    return isShareLength(bytes.length)
      ? { ok: true, shares: [{ hex: bytes.toString('hex') }] }
      : WRONG_LENGTH;
  }
  return isHex ? WRONG_LENGTH : { ok: false, problem: 'not a hex or base64 share' };
}

/**
 * A Vault or OpenBao token as text: `hvs.` `hvb.` `hvr.` (Vault 1.10+) or `s.` `b.` `r.` (older Vault,
 * and OpenBao), then the token body. Neither hex nor base64 has a `.`, so no share matches.
 */
const TOKEN = /(?<![A-Za-z0-9.])(?:hv[sbr]|[sbr])\.[A-Za-z0-9_-]{20,}/;

/** Whether a key file's text holds a token: a `root_token` field, or a token anywhere in it. */
export function holdsToken(content: string, json?: unknown): boolean {
  if (typeof json === 'object' && json !== null) {
    const root = (json as Record<string, unknown>).root_token;
    if (typeof root === 'string' && root.trim() !== '') return true;
  }
  return TOKEN.test(content);
}

const flagged = <T extends ParsedKeyFile>(parsed: T, token: boolean): T =>
  token ? { ...parsed, rootToken: true } : parsed;

/** The JSON fields that carry shares, in the order we prefer them. */
const JSON_KEY_FIELDS = ['unseal_keys_b64', 'unseal_keys_hex', 'keys_base64', 'keys'] as const;

/**
 * One key file: a single share (hex or base64), the JSON of `operator init -format=json`, or the
 * body of `PUT /v1/sys/init`. In the JSON forms every listed share must decode.
 */
export function parseKeyFile(content: string): ParsedKeyFile {
  if (content.length > MAX_KEY_FILE_BYTES) return { ok: false, problem: 'too large' };
  const trimmed = content.trim();
  if (!trimmed.startsWith('{')) {
    if (!holdsToken(trimmed)) return decodeShare(trimmed);
    // A token alone, or `operator init`'s text output ("Initial Root Token: hvs…"): no share is
    // read from it, and it is named for what it holds.
    return { ok: false, problem: 'holds a Vault token, not an unseal share', rootToken: true };
  }
  let json: unknown;
  try {
    json = JSON.parse(trimmed);
  } catch {
    return flagged({ ok: false, problem: 'invalid JSON' }, holdsToken(trimmed));
  }
  return flagged(sharesOfJson(json), holdsToken(trimmed, json));
}

function sharesOfJson(json: unknown): ParsedKeyFile {
  const field = JSON_KEY_FIELDS.map((name) => (json as Record<string, unknown>)[name]).find(
    (list): list is unknown[] => Array.isArray(list) && list.length > 0,
  );
  if (!field) {
    return {
      ok: false,
      problem:
        'JSON without unseal keys (expected unseal_keys_b64, unseal_keys_hex, keys_base64 or keys)',
    };
  }
  const shares: Share[] = [];
  for (const item of field) {
    const decoded = typeof item === 'string' ? decodeShare(item) : decodeShare('');
    if (!decoded.ok) return decoded;
    shares.push(...decoded.shares);
  }
  return { ok: true, shares };
}

/**
 * `parseKeyFile`, with each share labelled by where it came from: `origin` for a file of one share,
 * `origin#n` for the n-th share (from 1) of a JSON file. `origin` must already be a display string.
 */
export function parseKeyFileFrom(content: string, origin: string): ParsedSourcedKeyFile {
  const parsed = parseKeyFile(content);
  if (!parsed.ok) return parsed;
  const json = content.trimStart().startsWith('{');
  return {
    ok: true,
    ...(parsed.rootToken ? { rootToken: true } : {}),
    shares: parsed.shares.map((share, index) => ({
      hex: share.hex,
      origin: json ? `${origin}#${index + 1}` : origin,
    })),
  };
}

/**
 * Identical shares count once, compared on decoded bytes. Order of first appearance is kept, and
 * with it the first origin of a share that several files hold.
 */
export function distinctShares<S extends Share>(shares: readonly S[]): S[] {
  const seen = new Set<string>();
  return shares.filter((share) => {
    if (seen.has(share.hex)) return false;
    seen.add(share.hex);
    return true;
  });
}

/** Key files the atomic writer and editors leave: `..data`, `..2026_…`, `.swp`. Never shares. */
export function isKeyFileName(name: string): boolean {
  return !name.startsWith('.');
}
