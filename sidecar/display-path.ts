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

// VAULT_ADDR without its userinfo: one rule for both programs.
export { displayAddress } from '../common/vault-settings.js';
