// Paths are shown to the world (logs, `/status`), and a key file's name is chosen by whoever wrote
// the Secret: a share used as a file name must not be printed. Every path that leaves the key-file
// reader goes through here. Pure.
import { scrubSecrets } from './scrub.js';

/**
 * The path as it may be displayed: each component is scrubbed like any other text that crosses an
 * edge. Per component, because a whole ordinary path such as `/var/run/secrets/vault` is one long
 * run of base64 characters and would be redacted entirely; a file name cannot hold a `/`, so a
 * share used as a name is still one component and still redacted.
 */
export function displayPath(path: string): string {
  return path.split('/').map(scrubSecrets).join('/');
}

/**
 * Userinfo in a URL: after the scheme, everything up to the last `@` before the authority ends
 * (at `/`, `?`, `#` or, for http(s), `\`), as the WHATWG URL parser reads it.
 */
const USERINFO = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#\\]*@/;

/**
 * VAULT_ADDR as it may be displayed (the start line, `/status`, every error message): without
 * the `user:password@` a proxy or a load balancer may have been given. `/status` is served without
 * authentication, so whatever is in the address would be anybody's. The request itself still uses
 * the address as given.
 */
export function displayAddress(address: string): string {
  return address.replace(USERINFO, '$1');
}
