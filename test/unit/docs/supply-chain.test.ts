// What SECURITY.md says of the supply chain, checked on the files themselves: installs come from
// the lock file only, with install scripts off, and no locked package needs one. (The images stage
// of .ci/run builds both Dockerfiles that way, which proves it; scripts/images/sbom.mjs makes and
// validates the SBOMs.)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../harness/repo-root.js';

const ROOT = repoRoot();
const DOCKERFILES = ['Dockerfile.sidecar', 'Dockerfile.webhook'];

describe('the lock file', () => {
  it('holds no package with an install script, so installing with scripts off loses nothing', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { hasInstallScript?: boolean }>;
    };
    const withScripts = Object.entries(lock.packages)
      .filter(([, p]) => p.hasInstallScript === true)
      .map(([path]) => path);
    expect(withScripts).toEqual([]);
  });
});

describe.each(DOCKERFILES)('%s', (file) => {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const instructions = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n');
  const npmCommands = [...instructions.matchAll(/npm (ci|install|i|prune|update)\b[^\n\\]*/g)].map(
    (m) => m[0],
  );

  it('installs from the lock file only (npm ci, never npm install)', () => {
    expect(npmCommands.some((c) => c.startsWith('npm ci'))).toBe(true);
    expect(npmCommands.filter((c) => /^npm (install|i|update)\b/.test(c))).toEqual([]);
  });

  it('runs every npm install step with install scripts off', () => {
    expect(npmCommands.length).toBeGreaterThan(0);
    expect(npmCommands.filter((c) => !c.includes('--ignore-scripts'))).toEqual([]);
  });

  it('pins its bases by digest, or says why it cannot here', () => {
    const bases = [...text.matchAll(/^ARG (BUILD|RUNTIME)_IMAGE=(\S+)$/gm)].map((m) => m[2]!);
    expect(bases).toHaveLength(2);
    const pinned = bases.every((b) => /@sha256:[0-9a-f]{64}$/.test(b));
    expect(pinned || text.includes('Base images by tag, not digest')).toBe(true);
  });
});

describe('scripts/prepare.mjs (the npm ci of `npm test` and `npm run demo`)', () => {
  it('installs from the lock file with install scripts off', () => {
    const text = readFileSync(join(ROOT, 'scripts', 'prepare.mjs'), 'utf8');
    const installs = [...text.matchAll(/\[\s*'(ci|install|i)'[^\]]*\]/g)].map((m) => m[0]);
    expect(installs.length).toBeGreaterThan(0);
    expect(
      installs.filter((c) => !c.startsWith("['ci'") || !c.includes("'--ignore-scripts'")),
    ).toEqual([]);
  });
});
