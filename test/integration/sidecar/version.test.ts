// `--version` of both programs, answered before any configuration is looked at, and the same
// build in the sidecar's start line and its build_info metric.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../harness/repo-root.js';
import { metricValue, sidecarFor, tempDir } from './context.js';

const root = repoRoot();
const version = (
  JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }
).version;
const LINE = (program: string): RegExp =>
  new RegExp(
    `^${program} ${version.replace(/\./g, '\\.')} \\(revision ([0-9a-f]{40}|unknown)\\)\\n$`,
  );

describe('--version', () => {
  it.each(['sidecar', 'webhook'])(
    'of the %s prints its name, version and revision and exits 0, whatever the configuration',
    (program) => {
      const run = spawnSync(
        process.execPath,
        [join(root, 'dist', program, 'main.js'), '--version', '--no-such-flag'],
        // A configuration that would exit 2 (VAULT_ADDR is not a URL, an unknown flag above).
        { env: { PATH: process.env.PATH, VAULT_ADDR: 'not a url' }, encoding: 'utf8' },
      );
      expect(run.stderr).toBe('');
      expect(run.stdout).toMatch(LINE(`vault-autounseal-${program}`));
      expect(run.status).toBe(0);
    },
  );

  it('names the build the sidecar states in its start line and its build_info metric', async () => {
    const run = spawnSync(
      process.execPath,
      [join(root, 'dist', 'sidecar', 'main.js'), '--version'],
      {
        encoding: 'utf8',
      },
    );
    const revision = LINE('vault-autounseal-sidecar').exec(run.stdout)?.[1];
    expect(revision).toBeDefined();
    const sidecar = await sidecarFor('http://127.0.0.1:1', tempDir('keys'));
    const started = sidecar.logs().find((line) => line.msg === 'started');
    expect(started).toMatchObject({ version, revision });
    const series = `vault_autounseal_build_info{version="${version}",revision="${revision}"}`;
    expect(metricValue(await sidecar.metrics(), series)).toBe(1);
  });
});
