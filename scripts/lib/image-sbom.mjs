// One CycloneDX SBOM for one image of one architecture, made from what the mounted image really
// contains. Used by CI's SBOM stage (scripts/images/sbom.mjs, the amd64 images) and by
// `npm run release` (scripts/release/release.mjs, every architecture):
//
//   - the program, one bundle (/app/dist/bundle/<program>.mjs, with its SHA-256), and every npm
//     package inside it, from the list scripts/bundle.mjs wrote beside it out of esbuild's
//     metafile (name, version, license, the directory it was bundled from);
//   - the Node runtime at /nodejs/bin/node, with the version that binary prints (an arm64 binary
//     is asked under qemu-aarch64-static: `nodeCommand`);
//   - every other file of the base (glibc, libstdc++, the CA bundle, passwd…) with its SHA-256, and
//     the Debian package it belongs to: from the image's /var/lib/dpkg/status.d when it has one
//     (the real distroless base, and the arm64 stand-in of scripts/images/base-images.sh), else,
//     for an image of this machine's architecture, from this machine's dpkg (the amd64 stand-in
//     copies these files from here).
//
// What is shipped is also seen independently of the bundler's list, for validate(): the package
// directories the bundle's own text names (esbuild's `// node_modules/…` comments), at the
// versions the lock file installed there.
import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const run = (file, args, options = {}) =>
  execFileSync(file, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...options }).trim();

const sha256 = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');

const HOST_ARCH = process.arch === 'x64' ? 'amd64' : process.arch;

/** Every regular file under `root`, as absolute paths inside the image, minus `skip`. */
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

/** The Debian package (name and version) each base file belongs to, when it can be known. */
function debianOwners(mount, files, arch) {
  const owners = new Map();
  const statusDir = join(mount, 'var', 'lib', 'dpkg', 'status.d');
  if (existsSync(statusDir)) {
    // One control file per package; its md5sums list the package's files.
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
  // This machine's dpkg knows only this machine's files: a foreign-architecture stand-in is not.
  if (arch !== HOST_ARCH) return owners;
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

/** The package directories whose files esbuild put into a bundle, read from its path comments. */
export function bundledPackagePaths(bundleText) {
  const paths = new Set();
  for (const m of bundleText.matchAll(/^\/\/ ((?:node_modules\/(?:@[^/\n]+\/)?[^/\n]+\/)+)/gm)) {
    paths.add(m[1].slice(0, -1));
  }
  return [...paths].sort();
}

/**
 * The SBOM of `image` (e.g. vault-autounseal-sidecar) mounted at `mount`, built for linux/`arch`.
 * `nodeCommand` is the prefix that runs the image's Node binary on this machine ([] for the
 * host's architecture); `lockPackages` is package-lock.json's `packages`. Returns
 * { bom, expected } for validate().
 */
export function imageSbom({ mount, image, version, arch, nodeCommand = [], lockPackages, tool }) {
  const program = image.replace('vault-autounseal-', '');
  const bundleDir = join(mount, 'app', 'dist', 'bundle');
  const bundleFile = join(bundleDir, `${program}.mjs`);
  const { packages } = JSON.parse(
    readFileSync(join(bundleDir, `${program}.packages.json`), 'utf8'),
  );
  const appRef = `app:${image}@${version}`;
  const npmRef = (p) => `npm:${p.path}@${p.version}`;
  const bom = {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: `urn:uuid:${randomUUID()}`,
    version: 1,
    metadata: {
      timestamp: new Date().toISOString(),
      tools: [{ name: tool }],
      component: {
        'bom-ref': appRef,
        type: 'container',
        name: image,
        version,
        properties: [{ name: 'platform', value: `linux/${arch}` }],
      },
    },
    components: [
      {
        type: 'file',
        'bom-ref': `file:/app/dist/bundle/${program}.mjs`,
        name: `/app/dist/bundle/${program}.mjs`,
        description: 'the program and the npm packages below, bundled by esbuild',
        hashes: [{ alg: 'SHA-256', content: sha256(bundleFile) }],
      },
      ...packages.map((p) => ({
        type: 'library',
        'bom-ref': npmRef(p),
        name: p.name,
        version: p.version,
        purl: `pkg:npm/${p.name.replace('@', '%40')}@${p.version}`,
        ...(p.license ? { licenses: [{ expression: p.license }] } : {}),
        properties: [{ name: 'bundled-from', value: p.path }],
      })),
    ],
    dependencies: [{ ref: appRef, dependsOn: packages.map(npmRef) }],
  };
  const nodeBin = join(mount, 'nodejs', 'bin', 'node');
  const [runner, ...runnerArgs] = [...nodeCommand, nodeBin, '--version'];
  const nodeVersion = run(runner, runnerArgs).replace(/^v/, '');
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
  const shipped = bundledPackagePaths(readFileSync(bundleFile, 'utf8')).map((path) => ({
    name: path.replace(/^.*node_modules\//, ''),
    version: lockPackages[path]?.version ?? 'not in package-lock.json',
    path,
  }));
  return { bom, expected: { shipped, nodeVersion, baseFiles } };
}

const COMPONENT_TYPES = new Set([
  'application',
  'framework',
  'library',
  'container',
  'platform',
  'operating-system',
  'device',
  'firmware',
  'file',
]);

/** Problems with one SBOM against what its image holds; empty when it is valid and complete. */
export function validate(bom, expected) {
  const problems = [];
  if (bom.bomFormat !== 'CycloneDX') problems.push('bomFormat is not CycloneDX');
  if (!/^1\.[4-6]$/.test(String(bom.specVersion))) problems.push(`specVersion ${bom.specVersion}`);
  if (!/^urn:uuid:[0-9a-f-]{36}$/.test(String(bom.serialNumber))) problems.push('serialNumber');
  if (!Array.isArray(bom.components) || bom.components.length === 0) problems.push('no components');
  const refs = new Set();
  for (const c of bom.components ?? []) {
    if (!COMPONENT_TYPES.has(c.type)) problems.push(`component ${c.name}: type ${c.type}`);
    if (typeof c.name !== 'string' || c.name === '') problems.push('a component without a name');
    if (c['bom-ref'] !== undefined) {
      if (refs.has(c['bom-ref'])) problems.push(`duplicate bom-ref ${c['bom-ref']}`);
      refs.add(c['bom-ref']);
    }
  }
  if (bom.metadata?.component?.['bom-ref']) refs.add(bom.metadata.component['bom-ref']);
  for (const d of bom.dependencies ?? []) {
    for (const r of [d.ref, ...(d.dependsOn ?? [])]) {
      if (!refs.has(r)) problems.push(`dependency ref ${r} names no component`);
    }
  }
  const named = new Set(
    (bom.components ?? [])
      .filter((c) => c.purl?.startsWith('pkg:npm/'))
      .map((c) => `${c.name}@${c.version}`),
  );
  for (const p of expected.shipped) {
    if (!named.has(`${p.name}@${p.version}`))
      problems.push(`shipped package ${p.name}@${p.version} missing`);
  }
  if (!bom.components?.some((c) => c.name === 'node' && c.version === expected.nodeVersion)) {
    problems.push('the Node runtime is missing');
  }
  const files = new Set(bom.components?.filter((c) => c.type === 'file').map((c) => c.name));
  for (const f of expected.baseFiles) if (!files.has(f)) problems.push(`base file ${f} missing`);
  return problems;
}
