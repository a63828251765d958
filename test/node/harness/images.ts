// The images the node runs, all preloaded into containerd (pods use imagePullPolicy: Never): no
// registry is reachable here. scripts/node-tools.sh builds the first three as OCI archives in the
// per-user cache, and the previous release's two (scripts/previous-release.sh); the project's own
// two come from podman (scripts/images.sh builds them).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from './paths.js';
import { repoRoot } from '../../harness/repo-root.js';

/** As NODE_IMAGES_REV, PAUSE_VERSION and IMAGE_PREFIX in scripts/node-tools.sh. */
const NODE_IMAGES_REV = '1';
const PREFIX = 'localhost/vault-autounseal-node';
export const OPENBAO_VERSION = '2.7.2';
export const VAULT_VERSION = '1.21.0';

export const VERSION = (
  JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version: string }
).version;

export const IMAGES = {
  /** The pod sandbox image: test/node/go/pause. */
  pause: `${PREFIX}/pause:1`,
  /**
   * Images the official vault-helm chart runs unchanged: busybox for its shell commands,
   * /bin/vault, /usr/local/bin/docker-entrypoint.sh, the vault user (uid 100). OpenBao runs as
   * /bin/vault (a symlink to bao); Vault is HashiCorp's binary, for tests only.
   */
  openbao: `${PREFIX}/openbao:${OPENBAO_VERSION}`,
  vault: `${PREFIX}/vault:${VAULT_VERSION}`,
  sidecar: `localhost/vault-autounseal-sidecar:${VERSION}`,
  webhook: `localhost/vault-autounseal-webhook:${VERSION}`,
} as const;

/**
 * The release before this one, rebuilt from git by scripts/previous-release.sh (as its
 * PREVIOUS_VERSION and PREVIOUS_COMMIT): its two images and its chart, for the upgrade test.
 */
export const PREVIOUS = (() => {
  const version = '0.1.0';
  const commit = '50a9a405ee20c98181ac75e833731e75cf4eef2f';
  const dir = join(cacheDir(), `previous-${version}-${commit.slice(0, 12)}`);
  return {
    version,
    commit,
    dir,
    chart: join(dir, 'chart'),
    sidecar: `localhost/vault-autounseal-sidecar:${version}`,
    webhook: `localhost/vault-autounseal-webhook:${version}`,
  };
})();

/** The OCI archives scripts/node-tools.sh writes, by image. */
export function cachedArchives(): string[] {
  const dir = join(cacheDir(), `node-images-${NODE_IMAGES_REV}`);
  return [
    join(dir, 'pause-1.tar'),
    join(dir, `openbao-${OPENBAO_VERSION}.tar`),
    join(dir, `vault-${VAULT_VERSION}.tar`),
    join(PREVIOUS.dir, 'sidecar.tar'),
    join(PREVIOUS.dir, 'webhook.tar'),
  ];
}
