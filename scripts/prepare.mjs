#!/usr/bin/env node
// Makes a fresh clone runnable: installs npm dependencies when they are missing or stale, then
// compiles TypeScript to dist/. `npm test` and `npm run demo` call it first, so the README's two
// commands work on a clone that has never seen `npm ci`. OpenBao itself is installed on first use by
// the server harness (test/harness/server-binary.ts), into the git-ignored .cache/openbao.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const stamp = join(root, 'node_modules', '.vault-autounseal-lock');

function lockDigest() {
  return createHash('sha256')
    .update(readFileSync(join(root, 'package-lock.json')))
    .digest('hex');
}

function depsAreCurrent() {
  if (!existsSync(stamp)) return false;
  return readFileSync(stamp, 'utf8') === lockDigest();
}

if (!depsAreCurrent()) {
  console.error('[prepare] installing npm dependencies (npm ci)…');
  // Install scripts off: no locked package has one (test/unit/docs/supply-chain.test.ts).
  execFileSync(npm, ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: root,
    stdio: 'inherit',
  });
  writeFileSync(stamp, lockDigest());
}

console.error('[prepare] compiling TypeScript…');
execFileSync(npm, ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
