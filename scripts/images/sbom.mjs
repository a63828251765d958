#!/usr/bin/env node
// One CycloneDX JSON SBOM per image, made from what the image really contains:
//
//   - the program, one bundle (/app/dist/bundle/<program>.mjs, with its SHA-256), and every npm
//     package inside it, from the list scripts/bundle.mjs wrote beside it out of esbuild's
//     metafile (name, version, license, the directory it was bundled from);
//   - the Node runtime at /nodejs/bin/node, with the version that binary prints;
//   - every other file of the base (glibc, libstdc++, the CA bundle, passwd…) with its SHA-256, and
//     the Debian package it belongs to: from the image's /var/lib/dpkg/status.d when it has one
//     (the real distroless base), else from this machine's dpkg (the stand-in copies these files
//     from here: scripts/images/base-images.sh).
//
// Each SBOM is written to .ci/results/sbom/<image>.cdx.json (git-ignored), then validated: the
// CycloneDX shape, unique bom-refs, resolvable dependencies, and every package whose files the
// bundle's own text names (esbuild's `// node_modules/…` comments, at the lock file's version), the
// runtime and every base file named in it. The validator is shown to fail on an SBOM with one
// shipped package removed. Prints `sbom: N passed, M failed`; exits non-zero on a failure. Runs as
// root (podman image mount), after `npm run images` built the images.
import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OUT = join(ROOT, '.ci', 'results', 'sbom');
const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
const IMAGES = ['vault-autounseal-sidecar', 'vault-autounseal-webhook'];

let passed = 0;
let failed = 0;
const check = (ok, what) => {
  if (ok) passed += 1;
  else failed += 1;
  console.log(`${ok ? 'ok  ' : 'FAIL'} - ${what}`);
};

const run = (file, args, options = {}) =>
  execFileSync(file, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...options }).trim();

/** Every regular file under `dir`, as paths relative to `root`. */
function filesUnder(root, dir, skip) {
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
  if (existsSync(dir)) visit(dir);
  return found.sort();
}

/** The Debian package (name and version) each base file belongs to, when it can be known. */
function debianOwners(mount, files) {
  const statusDir = join(mount, 'var', 'lib', 'dpkg', 'status.d');
  const owners = new Map();
  if (existsSync(statusDir)) {
    // The real distroless base: one control file per package; md5sums list its files.
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
  for (const file of files) {
    try {
      const name = run('dpkg', ['-S', file], { stdio: ['ignore', 'pipe', 'ignore'] })
        .split(':')[0]
        .trim();
      const version = run('dpkg-query', ['-W', '-f=${Version}', name]);
      owners.set(file, { name, version, source: "this machine's dpkg (stand-in base)" });
    } catch {
      // Not from a Debian package (passwd, os-release, written by the stand-in recipe).
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

function sbomFor(image) {
  const ref = `localhost/${image}:${VERSION}`;
  const program = image.replace('vault-autounseal-', '');
  const mount = run('podman', ['image', 'mount', ref]);
  try {
    // The program is one bundle (scripts/bundle.mjs): its packages are listed beside it, from
    // esbuild's metafile. The validation below checks that list against the bundle's own text.
    const bundleDir = join(mount, 'app', 'dist', 'bundle');
    const bundleFile = join(bundleDir, `${program}.mjs`);
    const { packages } = JSON.parse(
      readFileSync(join(bundleDir, `${program}.packages.json`), 'utf8'),
    );
    const appRef = `app:${image}@${VERSION}`;
    const npmRef = (p) => `npm:${p.path}@${p.version}`;
    const bom = {
      bomFormat: 'CycloneDX',
      specVersion: '1.5',
      serialNumber: `urn:uuid:${randomUUID()}`,
      version: 1,
      metadata: {
        timestamp: new Date().toISOString(),
        tools: [{ name: 'scripts/images/sbom.mjs' }],
        component: { 'bom-ref': appRef, type: 'container', name: image, version: VERSION },
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
    const nodeVersion = run(join(mount, 'nodejs', 'bin', 'node'), ['--version']).replace(/^v/, '');
    bom.components.push({
      type: 'platform',
      'bom-ref': `runtime:node@${nodeVersion}`,
      name: 'node',
      version: nodeVersion,
      description: 'Node.js runtime, /nodejs/bin/node',
      purl: `pkg:generic/nodejs/node@${nodeVersion}`,
      hashes: [{ alg: 'SHA-256', content: sha256(join(mount, 'nodejs', 'bin', 'node')) }],
    });
    const baseFiles = filesUnder(mount, mount, ['/app', '/nodejs/bin/node', '/proc', '/sys']);
    const owners = debianOwners(mount, baseFiles);
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
        purl: `pkg:deb/debian/${owner.name}@${encodeURIComponent(owner.version)}?arch=amd64&distro=debian-12`,
        properties: [{ name: 'source', value: owner.source }],
      });
    }
    // What is shipped, seen independently of the list: the package directories named in the
    // bundle's own path comments, at the versions the lock file installed there.
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')).packages;
    const shipped = bundledPackagePaths(readFileSync(bundleFile, 'utf8')).map((path) => ({
      name: path.replace(/^.*node_modules\//, ''),
      version: lock[path]?.version ?? 'not in package-lock.json',
      path,
    }));
    return { bom, shipped, nodeVersion, baseFiles };
  } finally {
    run('podman', ['image', 'unmount', ref]);
  }
}

function sha256(path) {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Problems with one SBOM; empty when it is valid and complete. */
export function validate(bom, expected) {
  const problems = [];
  if (bom.bomFormat !== 'CycloneDX') problems.push('bomFormat is not CycloneDX');
  if (!/^1\.[4-6]$/.test(String(bom.specVersion))) problems.push(`specVersion ${bom.specVersion}`);
  if (!/^urn:uuid:[0-9a-f-]{36}$/.test(String(bom.serialNumber))) problems.push('serialNumber');
  if (!Array.isArray(bom.components) || bom.components.length === 0) problems.push('no components');
  const types = new Set([
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
  const refs = new Set();
  for (const c of bom.components ?? []) {
    if (!types.has(c.type)) problems.push(`component ${c.name}: type ${c.type}`);
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

mkdirSync(OUT, { recursive: true });
for (const image of IMAGES) {
  let made;
  try {
    made = sbomFor(image);
  } catch (error) {
    check(false, `${image}: SBOM made from the image (${error.message.split('\n')[0]})`);
    continue;
  }
  const { bom, ...expected } = made;
  const path = join(OUT, `${image}.cdx.json`);
  writeFileSync(path, `${JSON.stringify(bom, null, 2)}\n`);
  const problems = validate(bom, expected);
  const count = (type) => bom.components.filter((c) => c.type === type).length;
  const npm = bom.components.filter((c) => c.purl?.startsWith('pkg:npm/')).length;
  console.log(
    `[sbom] ${image}: ${bom.components.length} components (${npm} npm packages, ` +
      `${count('platform')} runtime, ${count('file')} base files, ` +
      `${bom.components.filter((c) => c.purl?.startsWith('pkg:deb/')).length} Debian packages); ` +
      `${relative(ROOT, path)}`,
  );
  check(
    problems.length === 0,
    `${image}: valid CycloneDX ${bom.specVersion} naming all ${expected.shipped.length} shipped packages, ` +
      `Node ${expected.nodeVersion} and ${expected.baseFiles.length} base files` +
      (problems.length ? `: ${problems.slice(0, 5).join('; ')}` : ''),
  );
  const first = expected.shipped[0];
  const crippled = {
    ...bom,
    components: bom.components.filter(
      (c) => !(first && c.name === first.name && c.version === first.version),
    ),
  };
  check(
    first !== undefined && validate(crippled, expected).length > 0,
    `${image}: the validator rejects the SBOM with one shipped package (${first?.name}) removed`,
  );
}
console.log(`sbom: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
