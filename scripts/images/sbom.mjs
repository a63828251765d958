#!/usr/bin/env node
// One CycloneDX JSON SBOM per image (the amd64 images `npm run images` built), made from what the
// image really contains by scripts/lib/image-sbom.mjs: the bundle and the npm packages inside it,
// the Node runtime, and every other base file with its SHA-256 and Debian package.
//
// Each SBOM is written to .ci/results/sbom/<image>.cdx.json (git-ignored), then validated: the
// CycloneDX shape, unique bom-refs, resolvable dependencies, and every package whose files the
// bundle's own text names (esbuild's `// node_modules/…` comments, at the lock file's version), the
// runtime and every base file named in it. The validator is shown to fail on an SBOM with one
// shipped package removed. Prints `sbom: N passed, M failed`; exits non-zero on a failure. Runs as
// root (podman image mount), after `npm run images` built the images.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { imageSbom, validate } from '../lib/image-sbom.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OUT = join(ROOT, '.ci', 'results', 'sbom');
const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
const IMAGES = ['vault-autounseal-sidecar', 'vault-autounseal-webhook'];
const LOCK = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')).packages;

let passed = 0;
let failed = 0;
const check = (ok, what) => {
  if (ok) passed += 1;
  else failed += 1;
  console.log(`${ok ? 'ok  ' : 'FAIL'} - ${what}`);
};

const run = (file, args) => execFileSync(file, args, { encoding: 'utf8' }).trim();

function sbomFor(image) {
  const ref = `localhost/${image}:${VERSION}`;
  const mount = run('podman', ['image', 'mount', ref]);
  try {
    // CI builds the images for this machine's architecture: its Node binary runs here as is.
    return imageSbom({
      mount,
      image,
      version: VERSION,
      arch: process.arch === 'x64' ? 'amd64' : process.arch,
      lockPackages: LOCK,
      tool: 'scripts/images/sbom.mjs',
    });
  } finally {
    run('podman', ['image', 'unmount', ref]);
  }
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
  const { bom, expected } = made;
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
