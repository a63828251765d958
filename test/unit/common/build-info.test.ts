// Which build runs (common/build-info.ts): dist/build-info.json read safely, `--version`'s line,
// and vault_autounseal_build_info on both programs' registries.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  parseBuildInfo,
  readBuildInfo,
  UNKNOWN_BUILD,
  versionLine,
  wantsVersion,
} from '../../../common/build-info.js';
import { createRegistry } from '../../../common/metrics-registry.js';
import { createSidecarMetrics } from '../../../sidecar/metrics.js';
import { createWebhookMetrics } from '../../../webhook/metrics.js';

const BUILD = { version: '0.1.0', revision: '0123456789abcdef0123456789abcdef01234567' };

describe('the build info file', () => {
  it('gives the version and revision written at build time', () => {
    expect(parseBuildInfo(JSON.stringify(BUILD))).toEqual(BUILD);
  });
  it.each([
    ['no file', undefined],
    ['not JSON', '{'],
    ['not an object', '"0.1.0"'],
    ['null', 'null'],
  ])('is unknown with %s', (_name, text) => {
    expect(parseBuildInfo(text)).toEqual(UNKNOWN_BUILD);
  });
  it('takes no field that would mangle a log line or a label', () => {
    const odd = { version: '1.0.0\n{"level":60}', revision: 'a"b', extra: 1 };
    expect(parseBuildInfo(JSON.stringify(odd))).toEqual(UNKNOWN_BUILD);
    expect(parseBuildInfo(JSON.stringify({ version: 1, revision: 'x'.repeat(65) }))).toEqual(
      UNKNOWN_BUILD,
    );
    expect(
      parseBuildInfo(JSON.stringify({ version: '1.2.3-rc.1+b7', revision: 'unknown' })),
    ).toEqual({ version: '1.2.3-rc.1+b7', revision: 'unknown' });
  });
  it('is read from a file, and unknown when there is none', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vau-build-'));
    const file = join(dir, 'build-info.json');
    expect(readBuildInfo(pathToFileURL(file))).toEqual(UNKNOWN_BUILD);
    writeFileSync(file, JSON.stringify(BUILD));
    expect(readBuildInfo(pathToFileURL(file))).toEqual(BUILD);
  });
});

describe('--version', () => {
  it('is asked for anywhere on the command line', () => {
    expect(wantsVersion(['--version'])).toBe(true);
    expect(wantsVersion(['--log-level', 'debug', '--version'])).toBe(true);
    expect(wantsVersion(['--help'])).toBe(false);
    expect(wantsVersion([])).toBe(false);
  });
  it('prints the program, the version and the revision', () => {
    expect(versionLine('vault-autounseal-sidecar', BUILD)).toBe(
      `vault-autounseal-sidecar 0.1.0 (revision ${BUILD.revision})`,
    );
  });
});

describe('vault_autounseal_build_info', () => {
  const series = `vault_autounseal_build_info{version="0.1.0",revision="${BUILD.revision}"} 1`;
  it('is 1 with the build as labels on the sidecar', async () => {
    const registry = createRegistry({ defaultMetrics: false });
    createSidecarMetrics(registry, BUILD);
    expect((await registry.metrics()).split('\n')).toContain(series);
  });
  it('is 1 with the build as labels on the webhook', async () => {
    const registry = createRegistry({ defaultMetrics: false });
    createWebhookMetrics(registry, BUILD);
    expect((await registry.metrics()).split('\n')).toContain(series);
  });
  it('says unknown when no build is given', async () => {
    const registry = createRegistry({ defaultMetrics: false });
    createSidecarMetrics(registry);
    expect(await registry.metrics()).toContain(
      'vault_autounseal_build_info{version="unknown",revision="unknown"} 1',
    );
  });
});
