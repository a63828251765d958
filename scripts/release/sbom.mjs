// One CycloneDX SBOM for one image of one architecture, made from what that image contains, for
// `npm run release` (scripts/release/release.mjs). The same recipe as scripts/images/sbom.mjs (CI's
// SBOM of the amd64 images): `npm sbom` over the image's own /app, the Node binary with the
// version it prints, and every other file of the base with its SHA-256 and Debian package. Here
// the architecture is a parameter: the Node version of an arm64 image is asked of its own binary
// under qemu-aarch64-static, and the Debian packages come from the image's
// /var/lib/dpkg/status.d (the real distroless base has one, and so does the arm64 stand-in of
// scripts/images/base-images.sh); an amd64 stand-in has none, and its files are this machine's,
// whose dpkg names their packages.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const run = (file, args, options = {}) =>
  execFileSync(file, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...options }).trim();

const sha256 = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');

function filesUnder(root, skip) {
  const found = [];
  const visit = (path) => {
    for (const entry of readdirSync(path)) {
      const full = join(path, entry);
      const rel = `/${relative(root, full)}`;
      if (skip.some((s) => rel === s || rel.startsWith(`${s}/`))) continue;
      const info = lstatSync(full);
      if (info.isDirectory()) visit(full);
      else if (info.isFile()) found.push(rel);
    }
  };
  visit(root);
  return found.sort();
}

/** Every package directory under node_modules: { name, version }. */
export function shippedPackages(nodeModules) {
  const packages = [];
  const visit = (dir) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir)) {
      if (entry.startsWith('.')) continue;
      const full = join(dir, entry);
      if (entry.startsWith('@')) {
        visit(full);
        continue;
      }
      const manifest = join(full, 'package.json');
      if (!existsSync(manifest)) continue;
      const { name, version } = JSON.parse(readFileSync(manifest, 'utf8'));
      packages.push({ name, version });
      visit(join(full, 'node_modules'));
    }
  };
  visit(nodeModules);
  return packages;
}

function debianOwners(mount, files, arch) {
  const owners = new Map();
  const statusDir = join(mount, 'var', 'lib', 'dpkg', 'status.d');
  if (existsSync(statusDir)) {
    for (const entry of readdirSync(statusDir).filter((e) => !e.endsWith('.md5sums'))) {
      const control = readFileSync(join(statusDir, entry), 'utf8');
      const name = /^Package: (.+)$/m.exec(control)?.[1];
      const version = /^Version: (.+)$/m.exec(control)?.[1];
      const sums = join(statusDir, `${entry}.md5sums`);
      if (!name || !version || !existsSync(sums)) continue;
      for (const line of readFileSync(sums, 'utf8').split('\n')) {
        const path = line.split(/\s+/)[1];
        if (path) owners.set(`/${path}`, { name, version, source: 'image dpkg status.d' });
      }
    }
    return owners;
  }
  if (arch !== process.arch.replace('x64', 'amd64')) return owners;
  for (const file of files) {
    try {
      const name = run('dpkg', ['-S', file], { stdio: ['ignore', 'pipe', 'ignore'] })
        .split(':')[0]
        .trim();
      const version = run('dpkg-query', ['-W', '-f=${Version}', name]);
      owners.set(file, { name, version, source: "this machine's dpkg (stand-in base)" });
    } catch {
      // Not from a Debian package (passwd, os-release: written by the stand-in recipe).
    }
  }
  return owners;
}

/**
 * The SBOM of the image mounted at `mount`. `nodeCommand` runs that image's Node binary on this
 * machine (qemu-aarch64-static for arm64). Returns { bom, expected } for validate().
 */
export function imageSbom({ mount, image, version, arch, nodeCommand }) {
  const work = mkdtempSync(join(tmpdir(), 'vau-release-sbom-'));
  try {
    const manifest = JSON.parse(readFileSync(join(mount, 'app', 'package.json'), 'utf8'));
    delete manifest.devDependencies;
    writeFileSync(join(work, 'package.json'), JSON.stringify(manifest, null, 2));
    if (existsSync(join(mount, 'app', 'node_modules')))
      cpSync(join(mount, 'app', 'node_modules'), join(work, 'node_modules'), { recursive: true });
    const bom = JSON.parse(
      run('npm', ['sbom', '--sbom-format=cyclonedx', '--sbom-type=application', '--omit=dev'], {
        cwd: work,
      }),
    );
    const nodeBin = join(mount, 'nodejs', 'bin', 'node');
    const nodeVersion = run(nodeCommand[0], [
      ...nodeCommand.slice(1),
      nodeBin,
      '--version',
    ]).replace(/^v/, '');
    bom.components ??= [];
    bom.components.push({
      type: 'platform',
      'bom-ref': `runtime:node@${nodeVersion}`,
      name: 'node',
      version: nodeVersion,
      description: `Node.js runtime (linux/${arch}), /nodejs/bin/node`,
      purl: `pkg:generic/nodejs/node@${nodeVersion}?arch=${arch}`,
      hashes: [{ alg: 'SHA-256', content: sha256(nodeBin) }],
    });
    const baseFiles = filesUnder(mount, ['/app', '/nodejs/bin/node', '/proc', '/sys', '/dev']);
    const owners = debianOwners(mount, baseFiles, arch);
    const debs = new Map();
    for (const file of baseFiles) {
      const owner = owners.get(file);
      bom.components.push({
        type: 'file',
        'bom-ref': `file:${file}`,
        name: file,
        hashes: [{ alg: 'SHA-256', content: sha256(join(mount, file)) }],
        ...(owner ? { properties: [{ name: 'debian:package', value: owner.name }] } : {}),
      });
      if (owner) debs.set(`${owner.name}@${owner.version}`, owner);
    }
    for (const owner of debs.values()) {
      bom.components.push({
        type: 'library',
        'bom-ref': `deb:${owner.name}@${owner.version}`,
        name: owner.name,
        version: owner.version,
        purl: `pkg:deb/debian/${owner.name}@${encodeURIComponent(owner.version)}?arch=${arch}&distro=debian-12`,
        properties: [{ name: 'source', value: owner.source }],
      });
    }
    bom.metadata.component = {
      ...bom.metadata.component,
      type: 'container',
      name: image,
      version,
      properties: [{ name: 'platform', value: `linux/${arch}` }],
    };
    return {
      bom,
      expected: {
        shipped: shippedPackages(join(mount, 'app', 'node_modules')),
        nodeVersion,
        baseFiles,
      },
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Problems with one SBOM against what its image holds; empty when complete. */
export function validate(bom, expected) {
  const problems = [];
  if (bom.bomFormat !== 'CycloneDX') problems.push('bomFormat is not CycloneDX');
  const refs = new Set();
  for (const c of bom.components ?? []) {
    if (c['bom-ref'] === undefined) continue;
    if (refs.has(c['bom-ref'])) problems.push(`duplicate bom-ref ${c['bom-ref']}`);
    refs.add(c['bom-ref']);
  }
  const named = new Set(
    (bom.components ?? [])
      .filter((c) => c.purl?.startsWith('pkg:npm/'))
      .map((c) => `${c.name}@${c.version}`),
  );
  for (const p of expected.shipped)
    if (!named.has(`${p.name}@${p.version}`))
      problems.push(`package ${p.name}@${p.version} missing`);
  if (!bom.components?.some((c) => c.name === 'node' && c.version === expected.nodeVersion))
    problems.push('the Node runtime is missing');
  const files = new Set(bom.components?.filter((c) => c.type === 'file').map((c) => c.name));
  for (const f of expected.baseFiles) if (!files.has(f)) problems.push(`base file ${f} missing`);
  return problems;
}
