// What `npm run release -- --version <package.json version>` made in release/<version>/ (CI's
// release stage runs it just before this project). Each check is one an operator or the publishing
// workflow relies on: both architectures in each image's index, the chart pinned to exactly those
// digests, SHA256SUMS that verifies and covers every file, an SBOM per image per architecture that
// names what the image ships, notes from the CHANGELOG, and the arm64 images run under emulation.
// Without the run these tests fail (no skip): release/<version>/ must exist.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

const ROOT = join(import.meta.dirname, '..', '..');
const VERSION = (
  JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
).version;
const OUT = join(ROOT, 'release', VERSION);
const IMAGES = ['vault-autounseal-sidecar', 'vault-autounseal-webhook'] as const;
const ARCHES = ['amd64', 'arm64'] as const;

interface Descriptor {
  mediaType: string;
  digest: string;
  platform?: { os: string; architecture: string };
}
interface Digests {
  version: string;
  images: Record<string, { digest: string; platforms: Record<string, string> }>;
  emulation: { program: string; seconds: number; line: string }[];
}

const tarText = (archive: string, member: string) =>
  execFileSync('tar', ['-xOf', archive, member], { encoding: 'utf8', maxBuffer: 64 << 20 });
const blob = (archive: string, digest: string) =>
  tarText(archive, `blobs/sha256/${digest.replace('sha256:', '')}`);
const sha256 = (text: string) =>
  execFileSync('sha256sum', { input: text, encoding: 'utf8' }).split(' ')[0];

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [relative(OUT, join(dir, e.name))],
  );
}

/** digests.json; each test calls it, so without a release run every test fails (none is skipped). */
function digestsOf(): Digests {
  if (!existsSync(join(OUT, 'digests.json')))
    throw new Error(
      `${relative(ROOT, OUT)}/digests.json is missing: run npm run release -- --version ${VERSION}`,
    );
  return JSON.parse(readFileSync(join(OUT, 'digests.json'), 'utf8')) as Digests;
}

describe(`release ${VERSION}`, () => {
  describe.each(IMAGES)('%s', (image) => {
    const archive = join(OUT, `${image}-${VERSION}.oci.tar`);

    it('is one OCI archive whose index holds linux/amd64 and linux/arm64, each built for its architecture', () => {
      const digests = digestsOf();
      const index = JSON.parse(tarText(archive, 'index.json')) as { manifests: Descriptor[] };
      expect(index.manifests).toHaveLength(1);
      const top = index.manifests[0]!;
      expect(top.mediaType).toBe('application/vnd.oci.image.index.v1+json');
      const inner = JSON.parse(blob(archive, top.digest)) as { manifests: Descriptor[] };
      // The index digest is the SHA-256 of the index as stored: what a registry serves and pins.
      expect(`sha256:${sha256(blob(archive, top.digest))}`).toBe(top.digest);
      const platforms = inner.manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}`);
      expect(platforms.sort()).toEqual(['linux/amd64', 'linux/arm64']);
      for (const m of inner.manifests) {
        const manifest = JSON.parse(blob(archive, m.digest)) as { config: Descriptor };
        const config = JSON.parse(blob(archive, manifest.config.digest)) as {
          architecture: string;
          config: { Labels: Record<string, string> };
        };
        expect(config.architecture).toBe(m.platform?.architecture);
        expect(config.config.Labels['org.opencontainers.image.version']).toBe(VERSION);
        expect(digests.images[image]!.platforms[`linux/${config.architecture}`]).toBe(m.digest);
      }
      expect(digests.images[image]!.digest).toBe(top.digest);
    });

    it.each(ARCHES)(
      'has a CycloneDX SBOM for linux/%s naming its packages, Node and base files',
      (arch) => {
        digestsOf();
        const path = join(OUT, 'sbom', `${image}-${VERSION}.linux-${arch}.cdx.json`);
        const bom = JSON.parse(readFileSync(path, 'utf8')) as {
          bomFormat: string;
          metadata: {
            component: { name: string; version: string; properties: { value: string }[] };
          };
          components: { type: string; name: string; purl?: string }[];
        };
        expect(bom.bomFormat).toBe('CycloneDX');
        expect(bom.metadata.component.name).toBe(image);
        expect(bom.metadata.component.version).toBe(VERSION);
        expect(bom.metadata.component.properties[0]!.value).toBe(`linux/${arch}`);
        const npm = bom.components.filter((c) => c.purl?.startsWith('pkg:npm/')).map((c) => c.name);
        for (const dependency of ['fastify', 'pino', 'prom-client'])
          expect(npm).toContain(dependency);
        expect(bom.components.find((c) => c.name === 'node')?.purl).toMatch(
          new RegExp(`^pkg:generic/nodejs/node@24\\.[0-9.]+\\?arch=${arch}$`),
        );
        const libc = bom.components.find((c) => c.purl?.startsWith('pkg:deb/debian/libc6@'));
        expect(libc?.purl).toContain(`arch=${arch}`);
        expect(bom.components.filter((c) => c.type === 'file').length).toBeGreaterThan(10);
      },
    );
  });

  it('packages the chart with both images pinned to the digests of the archives', () => {
    const digests = digestsOf();
    const chart = join(OUT, `vault-autounseal-${VERSION}.tgz`);
    const meta = parseYaml(tarText(chart, 'vault-autounseal/Chart.yaml')) as Record<string, string>;
    expect(meta.version).toBe(VERSION);
    expect(meta.appVersion).toBe(VERSION);
    const values = parseYaml(tarText(chart, 'vault-autounseal/values.yaml')) as {
      image: { repository: string; digest: string };
      sidecar: { image: { repository: string; digest: string } };
    };
    expect(values.image.digest).toBe(digests.images['vault-autounseal-webhook']!.digest);
    expect(values.sidecar.image.digest).toBe(digests.images['vault-autounseal-sidecar']!.digest);
    expect(values.image.repository).toBe('ghcr.io/vault-autounseal/vault-autounseal-webhook');
    expect(values.sidecar.image.repository).toBe(
      'ghcr.io/vault-autounseal/vault-autounseal-sidecar',
    );
  });

  it('helm template of the package renders both images as repository@digest', () => {
    const digests = digestsOf();
    const helm = join(ROOT, '.cache', 'tools', 'bin', 'helm');
    const rendered = execFileSync(
      helm,
      [
        'template',
        'vault-autounseal',
        join(OUT, `vault-autounseal-${VERSION}.tgz`),
        '-n',
        'vault-autounseal',
      ],
      { encoding: 'utf8', maxBuffer: 64 << 20 },
    );
    const webhook = `ghcr.io/vault-autounseal/vault-autounseal-webhook@${digests.images['vault-autounseal-webhook']!.digest}`;
    const sidecar = `ghcr.io/vault-autounseal/vault-autounseal-sidecar@${digests.images['vault-autounseal-sidecar']!.digest}`;
    const deployment = parseAllDocuments(rendered)
      .map((d) => d.toJSON() as { kind?: string; spec?: unknown } | null)
      .find((o) => o?.kind === 'Deployment') as {
      spec: {
        template: {
          spec: { containers: { image: string; env: { name: string; value: string }[] }[] };
        };
      };
    };
    const container = deployment.spec.template.spec.containers[0]!;
    expect(container.image).toBe(webhook);
    // The webhook injects the image SIDECAR_IMAGE names.
    expect(container.env.find((e) => e.name === 'SIDECAR_IMAGE')?.value).toBe(sidecar);
  });

  it('SHA256SUMS verifies with sha256sum -c and lists every other file', () => {
    digestsOf();
    const listed = readFileSync(join(OUT, 'SHA256SUMS'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split('  ')[1]);
    expect(listed.sort()).toEqual(
      filesUnder(OUT)
        .filter((f) => f !== 'SHA256SUMS')
        .sort(),
    );
    const checked = execFileSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: OUT, encoding: 'utf8' });
    expect(checked.trim().split('\n')).toHaveLength(listed.length);
    expect(checked).not.toMatch(/FAILED/);
  });

  it("has release notes made of the version's CHANGELOG entry and both digests", () => {
    const digests = digestsOf();
    const notes = readFileSync(join(OUT, 'RELEASE-NOTES.md'), 'utf8');
    expect(notes).toContain(`# vault-autounseal ${VERSION}`);
    expect(notes).toContain('**Upgrading from');
    for (const image of IMAGES) expect(notes).toContain(digests.images[image]!.digest);
  });

  it('ran both arm64 images under emulation, every check passing', () => {
    const digests = digestsOf();
    expect(digests.emulation.map((e) => e.program).sort()).toEqual(['sidecar', 'webhook']);
    for (const e of digests.emulation)
      expect(e.line).toMatch(/^images: [1-9]\d* passed, 0 failed$/);
  });
});
