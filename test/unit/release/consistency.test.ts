// The pure decisions of `npm run release` (scripts/release/consistency.mjs): the version written
// the same everywhere, a CHANGELOG entry for it, SHA256SUMS in sha256sum's own format, the notes.
// The release run itself and its artefacts are tested by test/release/ (the `release` stage of CI).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  changelogEntry,
  imageProblems,
  isReleaseVersion,
  releaseNotes,
  sha256sums,
  sourceProblems,
} from '../../../scripts/release/consistency.mjs';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const CHANGELOG = `# Changelog

## [0.2.0] - 2026-12-06

Two lines
of text.

## [0.1.0]

First.

## [0.0.9]
`;
const consistent = {
  version: '0.2.0',
  packageVersion: '0.2.0',
  chartVersion: '0.2.0',
  chartAppVersion: '0.2.0',
  changelog: CHANGELOG,
};

describe('release consistency', () => {
  it('accepts X.Y.Z and X.Y.Z-rc.N, nothing else', () => {
    for (const v of ['0.2.0', '1.10.3', '2.0.0-rc.1']) expect(isReleaseVersion(v)).toBe(true);
    for (const v of ['v0.2.0', '0.2', '01.2.3', '0.2.0 ', '', undefined, 2])
      expect(isReleaseVersion(v)).toBe(false);
  });

  it('finds a version entry up to the next heading, and none for an empty or absent one', () => {
    expect(changelogEntry(CHANGELOG, '0.2.0')).toBe('Two lines\nof text.');
    expect(changelogEntry(CHANGELOG, '0.1.0')).toBe('First.');
    expect(changelogEntry(CHANGELOG, '0.0.9')).toBeUndefined();
    expect(changelogEntry(CHANGELOG, '0.3.0')).toBeUndefined();
    // 0.2.0 must not match 0.2.01 or 10.2.0, nor a dot as any character.
    expect(
      changelogEntry('## [0.2.01]\nx\n## [10.2.0]\ny\n## 0x2.0\nz\n', '0.2.0'),
    ).toBeUndefined();
    expect(changelogEntry('## 0.2.0\nbare heading\n', '0.2.0')).toBe('bare heading');
  });

  it('passes when every place agrees and the CHANGELOG has the entry', () => {
    expect(sourceProblems(consistent)).toEqual([]);
  });

  it('names each place that disagrees, and the missing CHANGELOG entry', () => {
    expect(sourceProblems({ ...consistent, version: '0.3.0', chartAppVersion: '0.1.0' })).toEqual([
      'package.json "version" is "0.2.0", not 0.3.0',
      'deploy/helm/vault-autounseal/Chart.yaml version is "0.2.0", not 0.3.0',
      'deploy/helm/vault-autounseal/Chart.yaml appVersion is "0.1.0", not 0.3.0',
      'CHANGELOG.md has no entry "## [0.3.0]" (with text under it)',
    ]);
    expect(sourceProblems({ ...consistent, changelog: undefined })).toEqual([
      'CHANGELOG.md is missing',
    ]);
    expect(sourceProblems({ ...consistent, version: 'v0.2.0' })).toEqual([
      '--version "v0.2.0" is not a version X.Y.Z',
    ]);
  });

  it('checks the image label and the --version line', () => {
    const ok = {
      image: 'i',
      version: '0.2.0',
      labels: { 'org.opencontainers.image.version': '0.2.0' },
      versionOutput: 'vault-autounseal-sidecar 0.2.0 (revision abc)\n',
      program: 'sidecar',
    };
    expect(imageProblems(ok)).toEqual([]);
    expect(imageProblems({ ...ok, labels: {} })).toEqual([
      'i: label org.opencontainers.image.version is undefined, not 0.2.0',
    ]);
    expect(imageProblems({ ...ok, program: 'webhook' })).toHaveLength(1);
    expect(
      imageProblems({ ...ok, versionOutput: 'vault-autounseal-sidecar 0.2.01 (revision abc)' }),
    ).toHaveLength(1);
  });

  it('writes SHA256SUMS sorted by name in sha256sum -c format', () => {
    expect(
      sha256sums([
        { name: 'b.tgz', sha256: 'bb' },
        { name: 'a/x.json', sha256: 'aa' },
      ]),
    ).toBe('aa  a/x.json\nbb  b.tgz\n');
  });

  it('puts the entry, both images with their digests and the chart in the notes', () => {
    const notes = releaseNotes({
      version: '0.2.0',
      entry: 'Entry text.',
      images: [{ repository: 'ghcr.io/o/s', digest: 'sha256:1' }],
      chart: { name: 'c', registry: 'ghcr.io/o/charts' },
    });
    expect(notes).toContain('# vault-autounseal 0.2.0\n\nEntry text.\n');
    expect(notes).toContain('`ghcr.io/o/s:0.2.0` (linux/amd64, linux/arm64): `sha256:1`');
    expect(notes).toContain('`c-0.2.0.tgz` (`oci://ghcr.io/o/charts`)');
  });

  it("the repository's own version is consistent and has its CHANGELOG entry", () => {
    const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
    const pkg = JSON.parse(read('package.json')) as { version: string };
    const chart = read('deploy/helm/vault-autounseal/Chart.yaml');
    expect(
      sourceProblems({
        version: pkg.version,
        packageVersion: pkg.version,
        chartVersion: /^version: (.+)$/m.exec(chart)?.[1],
        chartAppVersion: /^appVersion: '?([^'\n]+)'?$/m.exec(chart)?.[1],
        changelog: read('CHANGELOG.md'),
      }),
    ).toEqual([]);
    // Each entry says what an operator must do when upgrading.
    for (const v of ['0.1.0', '0.2.0'])
      expect(changelogEntry(read('CHANGELOG.md'), v)).toMatch(/\*\*Upgrading/);
  });
});
