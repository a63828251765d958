// Which build is running: the version of package.json and the git revision it was built from.
// `npm run build` writes both to dist/build-info.json (scripts/build-info.mjs): from `git rev-parse`
// in a clone, from VAULT_AUTOUNSEAL_REVISION where there is no .git (the image build passes its
// REVISION build argument), "unknown" when neither. Read once at start; shown by `--version`, in
// the start line and as the vault_autounseal_build_info metric.
import { readFileSync } from 'node:fs';
import { Gauge, type Registry } from 'prom-client';

export interface BuildInfo {
  readonly version: string;
  readonly revision: string;
}

export const UNKNOWN_BUILD: BuildInfo = Object.freeze({ version: 'unknown', revision: 'unknown' });

/** A version or a revision as a label value: short, and nothing a log or a label would mangle. */
const SAFE = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/;

const field = (value: unknown): string =>
  typeof value === 'string' && SAFE.test(value) ? value : 'unknown';

/** The text of dist/build-info.json as a BuildInfo; anything missing or odd is "unknown". */
export function parseBuildInfo(text: string | undefined): BuildInfo {
  if (text === undefined) return UNKNOWN_BUILD;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return UNKNOWN_BUILD;
  }
  if (typeof json !== 'object' || json === null) return UNKNOWN_BUILD;
  const { version, revision } = json as Record<string, unknown>;
  return { version: field(version), revision: field(revision) };
}

/** Reads dist/build-info.json next to the compiled programs (dist/common/../build-info.json). */
export function readBuildInfo(file = new URL('../build-info.json', import.meta.url)): BuildInfo {
  try {
    return parseBuildInfo(readFileSync(file, 'utf8'));
  } catch {
    return UNKNOWN_BUILD;
  }
}

/** `--version` anywhere on the command line: answered before the configuration is looked at. */
export function wantsVersion(argv: readonly string[]): boolean {
  return argv.includes('--version');
}

/** What `--version` prints, e.g. `vault-autounseal-sidecar 0.1.0 (revision 1a2b3c4)`. */
export function versionLine(program: string, build: BuildInfo): string {
  return `${program} ${build.version} (revision ${build.revision})`;
}

/** `vault_autounseal_build_info{version,revision} 1`: joins the build onto any other series. */
export function createBuildInfoGauge(
  registry: Registry,
  build: BuildInfo,
): Gauge<'version' | 'revision'> {
  const gauge = new Gauge({
    name: 'vault_autounseal_build_info',
    help: 'Always 1; the labels say which build runs: version (package.json) and revision (git commit, or "unknown")',
    labelNames: ['version', 'revision'] as const,
    registers: [registry],
  });
  gauge.set({ version: build.version, revision: build.revision }, 1);
  return gauge;
}
