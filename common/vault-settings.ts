// The rules for the Vault client settings the sidecar reads (VAULT_ADDR and its twins), shared by
// the sidecar, which refuses a bad value at start, and the webhook, which refuses to inject a
// sidecar that would refuse the value it copies from the Vault container. One rule, two programs:
// the webhook can only promise "never admitted in silence" if it judges with the sidecar's parser.
// Pure: plain text in, a plain value out.

export type AddressCheck =
  | {
      readonly ok: true;
      readonly address: string;
      /** The host as the URL parser writes it (IPv6 in brackets), without credentials. */
      readonly host: string;
      readonly loopback: boolean;
    }
  | { readonly ok: false; readonly message: string };

/**
 * Userinfo in a URL: after the scheme, everything up to the last `@` before the authority ends
 * (at `/`, `?`, `#` or, for http(s), `\`), as the WHATWG URL parser reads it. The scheme is
 * optional, so text that is not a URL at all is cleaned the same way.
 */
const USERINFO = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)?[^/?#\\]*@/;

/**
 * VAULT_ADDR as it may be displayed (the start line, `/status`, every error message, an admission
 * answer): `https://user:pass@host` → `https://host`. `/status` is served without
 * authentication, so whatever is in the address would be anybody's. The request itself still uses
 * the address as given.
 */
export function displayAddress(text: string): string {
  return text.replace(USERINFO, '$1');
}

/**
 * In a pod the sidecar shares the network namespace of its own Vault server, so loopback reaches
 * exactly that server. Any other name (a Service, a pod IP, a DNS name) may reach another pod, and
 * then the sidecar keeps *that* one unsealed while its own node stays sealed.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return (
    host === 'localhost' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) ||
    host === '[::1]' ||
    // ::ffff:127.x.y.z, as the URL parser writes it.
    /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(host)
  );
}

/**
 * VAULT_ADDR as the sidecar reads it: an http:// or https:// URL with a host. Trailing slashes are
 * dropped. A `unix://` address (which both CLIs accept) is refused with its own reason: the sidecar
 * speaks HTTP over TCP only.
 */
export function checkVaultAddress(text: string, maxShown = 200): AddressCheck {
  const trimmed = text.trim();
  const display = displayAddress(trimmed);
  const shown = JSON.stringify(
    display.length > maxShown ? `${display.slice(0, maxShown - 3)}...` : display,
  );
  if (/^unix:/i.test(trimmed)) {
    return {
      ok: false,
      message:
        `${shown} is a unix socket, which the sidecar cannot use: it reaches its server over ` +
        'TCP only; accepted: an http:// or https:// address, such as https://127.0.0.1:8200',
    };
  }
  const parsed = URL.canParse(trimmed) ? new URL(trimmed) : undefined;
  // http and https are WHATWG "special" schemes: such a URL always has a host.
  if (!parsed || !['http:', 'https:'].includes(parsed.protocol)) {
    return { ok: false, message: `${shown} is not an http:// or https:// address` };
  }
  return {
    ok: true,
    address: trimmed.replace(/\/+$/, ''),
    host: parsed.hostname,
    loopback: isLoopbackHost(parsed.hostname),
  };
}

/**
 * ## VAULT_CAPATH (a directory of CA certificates): refused
 *
 * Both CLIs accept it. The sidecar trusts exactly one PEM bundle (VAULT_CACERT), which it reloads
 * when it changes; a directory would need its own rules for which files count and when to re-read
 * them. Ignoring the setting would be worse than refusing it: the sidecar would then verify
 * against the system roots and fail TLS for ever, or, with VAULT_SKIP_VERIFY, verify nothing.
 */
export const CA_PATH_VARIABLES: readonly string[] = ['VAULT_CAPATH', 'BAO_CAPATH'];

export const CA_PATH_REFUSAL =
  'a directory of CA certificates is not supported; use VAULT_CACERT with a bundle ' +
  '(the CA files concatenated into one PEM file)';
