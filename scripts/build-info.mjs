#!/usr/bin/env node
// `npm run build`, after tsc: writes dist/build-info.json, which the programs read at start for
// `--version`, their start line and the vault_autounseal_build_info metric (common/build-info.ts).
// The revision is VAULT_AUTOUNSEAL_REVISION when set (the image build passes its REVISION build
// argument: there is no .git in the build context), else `git rev-parse HEAD`, else "unknown"
// (a source tarball): the build never fails for want of git.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

function gitRevision() {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
  } catch {
    return '';
  }
}

const revision = process.env.VAULT_AUTOUNSEAL_REVISION?.trim() || gitRevision() || 'unknown';
mkdirSync(join(root, 'dist'), { recursive: true });
writeFileSync(join(root, 'dist', 'build-info.json'), `${JSON.stringify({ version, revision })}\n`);
