import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository root, from source (test/harness) or from the build (dist/test/harness). */
export function repoRoot(): string {
  let dir = import.meta.dirname;
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      readFileSync(manifest, 'utf8').includes('"name": "vault-autounseal"')
    ) {
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the vault-autounseal repository root');
    dir = parent;
  }
}
