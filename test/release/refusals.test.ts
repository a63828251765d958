// `npm run release` refuses, before building anything, a version that is not written the same
// everywhere or has no CHANGELOG entry, and says which file is wrong.
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const RELEASE = join(ROOT, 'scripts', 'release', 'release.mjs');
const VERSION = (
  JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
).version;

async function release(...args: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)('node', [RELEASE, ...args], { cwd: ROOT });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: e.stdout + e.stderr };
  }
}

/** A copy of the three files the version check reads, edited by `edit`. */
let dirs: string[] = [];
function source(edit: (dir: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'vau-release-source-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'deploy', 'helm'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  cpSync(join(ROOT, 'CHANGELOG.md'), join(dir, 'CHANGELOG.md'));
  cpSync(
    join(ROOT, 'deploy', 'helm', 'vault-autounseal'),
    join(dir, 'deploy', 'helm', 'vault-autounseal'),
    {
      recursive: true,
    },
  );
  edit(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

describe('npm run release refuses', () => {
  it('a version package.json and the chart do not carry, naming each', async () => {
    const { code, output } = await release('--version', '9.9.9', '--check-only');
    expect(code).not.toBe(0);
    expect(output).toContain(`ERROR: package.json "version" is "${VERSION}", not 9.9.9`);
    expect(output).toContain(`Chart.yaml version is "${VERSION}", not 9.9.9`);
    expect(output).toContain(`Chart.yaml appVersion is "${VERSION}", not 9.9.9`);
  });

  it('a chart whose appVersion lags behind', async () => {
    const dir = source((d) => {
      const path = join(d, 'deploy/helm/vault-autounseal/Chart.yaml');
      writeFileSync(
        path,
        readFileSync(path, 'utf8').replace(/^appVersion: .*$/m, "appVersion: '0.0.1'"),
      );
    });
    const { code, output } = await release('--version', VERSION, '--check-only', '--source', dir);
    expect(code).not.toBe(0);
    expect(output).toContain(
      `ERROR: deploy/helm/vault-autounseal/Chart.yaml appVersion is "0.0.1", not ${VERSION}`,
    );
  });

  it('a version without a CHANGELOG entry', async () => {
    const dir = source((d) => {
      const path = join(d, 'CHANGELOG.md');
      writeFileSync(
        path,
        readFileSync(path, 'utf8').replace(`## [${VERSION}]`, '## [0.0.0-removed]'),
      );
    });
    const { code, output } = await release('--version', VERSION, '--check-only', '--source', dir);
    expect(code).not.toBe(0);
    expect(output).toContain(`ERROR: CHANGELOG.md has no entry "## [${VERSION}]"`);
  });

  it('passes the same copy unedited (the refusals above are the edits)', async () => {
    const { code, output } = await release(
      '--version',
      VERSION,
      '--check-only',
      '--source',
      source(() => {}),
    );
    expect(output).toContain(
      `version ${VERSION}: package.json, Chart.yaml version and appVersion, CHANGELOG.md agree`,
    );
    expect(code).toBe(0);
  });
});
