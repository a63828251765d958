// The previous release the upgrade test starts from (test/node/upgrade.test.ts) is written in two
// places, scripts/previous-release.sh (which rebuilds it) and test/node/harness/images.ts (which
// runs it): they must name the same version and commit, that commit must be that version, and the
// CHANGELOG must have an entry for it, else the upgrade test would prove an upgrade from nothing.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PREVIOUS, VERSION } from '../../node/harness/images.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const script = readFileSync(join(ROOT, 'scripts', 'previous-release.sh'), 'utf8');
const assigned = (name: string): string | undefined =>
  new RegExp(`^${name}=(\\S+)$`, 'm').exec(script)?.[1];

describe('the previous release', () => {
  it('is the same version and commit in scripts/previous-release.sh and the node harness', () => {
    expect(assigned('PREVIOUS_VERSION')).toBe(PREVIOUS.version);
    expect(assigned('PREVIOUS_COMMIT')).toBe(PREVIOUS.commit);
  });

  it('is an older version than this one, at a commit of this history that carries it', () => {
    expect(PREVIOUS.version).not.toBe(VERSION);
    const manifest = execFileSync('git', ['show', `${PREVIOUS.commit}:package.json`], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect((JSON.parse(manifest) as { version: string }).version).toBe(PREVIOUS.version);
    // An ancestor of this checkout: the upgrade goes forward from it.
    execFileSync('git', ['merge-base', '--is-ancestor', PREVIOUS.commit, 'HEAD'], { cwd: ROOT });
  });

  it('has a CHANGELOG entry, as this version has one that says how to upgrade from it', () => {
    const changelog = readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8');
    expect(changelog).toContain(`## [${PREVIOUS.version}]`);
    expect(changelog).toContain(`**Upgrading from ${PREVIOUS.version}:**`);
  });
});
