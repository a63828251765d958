#!/usr/bin/env node
// Behaviour checks for the two runtime images, run by scripts/images.sh after it built them.
//
// Each image runs with podman as its own user (the Dockerfile's USER, never overridden), with a
// read-only root filesystem, no capabilities and no-new-privileges, as the webhook's patch and the
// Helm chart run them in a pod. The sidecar unseals a real OpenBao on loopback (host network) and
// reports it in /metrics; the webhook answers a real AdmissionReview over TLS with its certificate
// mounted read-only. The contents of /app are listed from the image itself (podman image mount:
// the image has no shell to list them with) and must hold no dev dependency, source or test.
//
// Usage: check.mjs [--sidecar IMAGE] [--webhook IMAGE] [--passed N --failed N] [--started EPOCH_S]
// It prints `ok` / `FAIL` per check, each image's size and user, and ends with
// `images: N passed, M failed` (counts from images.sh added in); exit status 1 when any failed.
import { execFile, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';

const root = resolve(import.meta.dirname, '..', '..');
const harness = join(root, 'dist', 'test', 'harness');
const run = promisify(execFile);

const { values: opts } = parseArgs({
  options: {
    sidecar: { type: 'string' },
    webhook: { type: 'string' },
    passed: { type: 'string', default: '0' },
    failed: { type: 'string', default: '0' },
    started: { type: 'string' },
    log: { type: 'string' },
  },
});

// ---- results -------------------------------------------------------------------------------------
let passed = Number(opts.passed);
let failed = Number(opts.failed);
const summary = [];

function pass(name) {
  passed += 1;
  console.log(`ok   - ${name}`);
}
function fail(name, detail) {
  failed += 1;
  console.log(`FAIL - ${name}${detail ? `\n${indent(String(detail))}` : ''}`);
}
function indent(text) {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => `       ${line}`)
    .join('\n');
}
/** Runs one named check: a throw (or a returned string) is its failure detail. */
async function check(name, body) {
  try {
    const problem = await body();
    if (typeof problem === 'string' && problem !== '') fail(name, problem);
    else pass(name);
  } catch (error) {
    fail(name, error instanceof Error ? (error.stack ?? error.message) : error);
  }
}

// ---- podman --------------------------------------------------------------------------------------
// runc, not crun (crun fails on cgroups and rlimits here); the rlimits are set explicitly because
// runc cannot raise them past the caller's own.
const PODMAN = ['--runtime', 'runc', '--cgroup-manager', 'cgroupfs'];
// --read-only-tmpfs=false: podman would otherwise mount writable tmpfs on /tmp, /var/tmp and /run;
// Kubernetes' readOnlyRootFilesystem mounts none, so neither do we.
const RUN_FLAGS = [
  '--read-only',
  '--read-only-tmpfs=false',
  '--cap-drop',
  'all',
  '--security-opt',
  'no-new-privileges',
  '--ulimit',
  'nofile=20000:20000',
  '--ulimit',
  'nproc=4096:4096',
];

async function podman(...args) {
  const { stdout } = await run('podman', [...PODMAN, ...args], { maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim();
}

/** Starts a detached container; returns its id. */
async function startContainer(image, { name, network, groupAdd, env, volumes }) {
  const args = ['run', '--detach', '--name', name, '--network', network, ...RUN_FLAGS];
  if (groupAdd !== undefined) args.push('--group-add', String(groupAdd));
  for (const [key, value] of Object.entries(env)) args.push('--env', `${key}=${value}`);
  for (const [host, target] of Object.entries(volumes))
    args.push('--volume', `${host}:${target}:ro`);
  started.add(name);
  return podman(...args, image);
}

// Containers this run started, by name, so a timeout or Ctrl-C still removes them.
const started = new Set();
function removeStartedSync() {
  for (const name of started) {
    try {
      execFileSync('podman', [...PODMAN, 'rm', '--force', '--time', '0', name], {
        stdio: 'ignore',
      });
    } catch {
      // already gone
    }
  }
}

async function containerLogs(id) {
  try {
    const { stdout, stderr } = await run('podman', [...PODMAN, 'logs', id], {
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout + stderr;
  } catch (error) {
    return `(podman logs failed: ${error.message})`;
  }
}

async function removeContainer(id) {
  if (id) await podman('rm', '--force', '--time', '0', id).catch(() => undefined);
}

async function isRunning(id) {
  return (await podman('inspect', '--format', '{{.State.Running}}', id)) === 'true';
}

/** The container's main process as the kernel sees it: uid, gid, and how / is mounted. */
async function processFacts(id) {
  const pid = Number(await podman('inspect', '--format', '{{.State.Pid}}', id));
  if (!(pid > 0)) throw new Error(`container ${id} has no running process`);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (key) =>
    (status.match(new RegExp(`^${key}:\\s+(.*)$`, 'm'))?.[1] ?? '').split(/\s+/);
  const mounts = readFileSync(`/proc/${pid}/mounts`, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' '));
  const rootMount = mounts.filter((parts) => parts[1] === '/').at(-1);
  // Writable mounts apart from the kernel's and the runtime's own (/dev, /proc, /sys).
  const writable = mounts
    .filter((parts) => (parts[3] ?? '').split(',').includes('rw'))
    .map((parts) => parts[1])
    .filter((point) => !/^\/(dev|proc|sys)(\/|$)/.test(point));
  const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  return {
    pid,
    uids: field('Uid'),
    gids: field('Gid'),
    groups: field('Groups').filter(Boolean),
    capEff: field('CapEff')[0],
    rootOptions: (rootMount?.[3] ?? '').split(','),
    writable,
    cmdline,
    readOnlyFlag: await podman('inspect', '--format', '{{.HostConfig.ReadonlyRootfs}}', id),
  };
}

/** uid/gid 65532 for real, effective, saved and filesystem ids; no capabilities; / mounted ro. */
async function checkProcess(label, id) {
  await check(`${label}: runs as uid/gid 65532 with no capabilities`, async () => {
    const facts = await processFacts(id);
    console.log(
      `       ${label} process: pid ${facts.pid}, uid ${facts.uids.join('/')}, ` +
        `gid ${facts.gids.join('/')}, groups ${facts.groups.join(',') || '-'}, ` +
        `CapEff ${facts.capEff}, ${facts.cmdline.join(' ')}`,
    );
    const problems = [];
    if (!facts.uids.every((uid) => uid === '65532')) problems.push(`uids ${facts.uids.join(' ')}`);
    if (!facts.gids.every((gid) => gid === '65532')) problems.push(`gids ${facts.gids.join(' ')}`);
    if (!/^0+$/.test(facts.capEff ?? '')) problems.push(`effective capabilities ${facts.capEff}`);
    return problems.join('; ');
  });
  // Stricter than readOnlyRootFilesystem needs: not even a /tmp tmpfs (--read-only-tmpfs=false),
  // so a program that wrote anywhere would have failed its behaviour checks above.
  await check(
    `${label}: root filesystem is read-only, no writable mount at all (not even /tmp)`,
    async () => {
      const facts = await processFacts(id);
      if (facts.readOnlyFlag !== 'true') return `podman says ReadonlyRootfs=${facts.readOnlyFlag}`;
      if (!facts.rootOptions.includes('ro')) return `/ is mounted ${facts.rootOptions.join(',')}`;
      if (facts.writable.length > 0) return `writable mounts: ${facts.writable.join(' ')}`;
      return '';
    },
  );
}

/** SIGTERM (podman stop) must end the process cleanly: exit status 0 before podman's SIGKILL. */
async function checkStop(label, id) {
  await check(`${label}: exits 0 on SIGTERM`, async () => {
    await podman('stop', '--time', '10', id);
    const code = await podman('inspect', '--format', '{{.State.ExitCode}}', id);
    const logs = await containerLogs(id);
    // Not a check: what Node 24 printed besides the program's JSON log lines (warnings, say).
    const lines = logs.split('\n').filter(Boolean);
    const other = lines.filter((line) => !line.startsWith('{'));
    console.log(
      `       ${label} output: ${lines.length} lines, ${other.length} not JSON` +
        (other.length > 0 ? `:\n${indent(other.slice(0, 10).join('\n'))}` : ''),
    );
    return code === '0' ? '' : `exit status ${code}\n${logs}`;
  });
}

// ---- image facts ---------------------------------------------------------------------------------
async function imageConfig(image) {
  return JSON.parse(await podman('image', 'inspect', image))[0];
}

const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

/**
 * The ENTRYPOINT of Dockerfile.<program>, exec form: node, its options (each Dockerfile says why
 * it has them, docs/footprint.md measures them), then the bundle. The bench runs the bundles with
 * the same options (bench/footprint.ts), so the built image must carry exactly these.
 */
function dockerfileEntrypoint(program) {
  const text = readFileSync(join(root, `Dockerfile.${program}`), 'utf8');
  const line = /^ENTRYPOINT (\[.*\])$/m.exec(text)?.[1];
  return line ? JSON.parse(line) : [];
}

async function checkImageConfig(label, image, entry) {
  await check(
    `${label}: image config (USER 65532:65532, exec-form node entrypoint, OCI labels)`,
    async () => {
      const info = await imageConfig(image);
      const config = info.Config ?? {};
      const labels = config.Labels ?? {};
      const size = Number(info.Size);
      summary.push(`${image}: ${mb(size)}, user ${config.User}`);
      console.log(
        `       ${image}: size ${mb(size)} (${size} bytes), user ${config.User}, ` +
          `entrypoint ${JSON.stringify(config.Entrypoint)}, workdir ${config.WorkingDir}`,
      );
      console.log(
        `       labels: ${Object.entries(labels)
          .filter(([key]) => key.startsWith('org.opencontainers.'))
          .map(([key, value]) => `${key.replace('org.opencontainers.image.', '')}=${value}`)
          .join(' ')}`,
      );
      const problems = [];
      if (config.User !== '65532:65532') problems.push(`User is ${JSON.stringify(config.User)}`);
      // Node, its options (the Dockerfile says why each), then the bundle: as the Dockerfile has it.
      const ep = config.Entrypoint ?? [];
      const wanted = dockerfileEntrypoint(entry.endsWith('sidecar.mjs') ? 'sidecar' : 'webhook');
      const fits =
        ep[0] === '/nodejs/bin/node' &&
        ep.at(-1) === entry &&
        JSON.stringify(ep) === JSON.stringify(wanted);
      if (!fits) {
        problems.push(
          `Entrypoint is ${JSON.stringify(config.Entrypoint)}, wanted ${JSON.stringify(wanted)} (the Dockerfile's, ending in "${entry}")`,
        );
      }
      if (!(config.Env ?? []).includes('NODE_ENV=production'))
        problems.push('NODE_ENV is not production');
      const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
      const want = {
        'org.opencontainers.image.version': pkg.version,
        'org.opencontainers.image.licenses': pkg.license,
      };
      for (const [key, value] of Object.entries(want)) {
        if (labels[key] !== value) problems.push(`label ${key}=${labels[key]}, wanted ${value}`);
      }
      if (!labels['org.opencontainers.image.source'])
        problems.push('no org.opencontainers.image.source label');
      return problems.join('; ');
    },
  );
}

// ---- contents of /app ----------------------------------------------------------------------------
/** Every path under dir, relative to it, with its kind. */
function walk(dir) {
  const out = [];
  const visit = (abs) => {
    for (const entry of readdirSync(abs, { withFileTypes: true })) {
      const path = join(abs, entry.name);
      const kind = entry.isDirectory() ? 'dir' : entry.isSymbolicLink() ? 'link' : 'file';
      out.push({ rel: relative(dir, path), name: entry.name, kind });
      if (kind === 'dir') visit(path);
    }
  };
  visit(dir);
  return out;
}

/** package-lock.json's entries by install path (`node_modules/a/node_modules/b`). */
function lockPackages() {
  return JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')).packages ?? {};
}

/** A package directory: right under a node_modules directory, or under an @scope in one. */
const PACKAGE_DIR = /(^|\/)node_modules\/(@[^/]+\/)?[^/@.][^/]*$/;

const TEST_DIR = /^(test|tests|__tests__)$/;
const TEST_FILE = /\.(test|spec)\.[cm]?[jt]sx?$|\.test-d\.ts$|\.tst\.ts$/;
const TS_FILE = /\.[cm]?tsx?$/;
const DECLARATION = /\.d\.[cm]?ts$/;

/**
 * /app holds LICENSE and dist/: build-info.json and the program as one bundle,
 * dist/bundle/<program>.mjs, with the list of the packages inside it (<program>.packages.json, made
 * by scripts/bundle.mjs from esbuild's metafile; every one a production entry of the lock file).
 * No node_modules: anything found there is reported as below.
 * - no TypeScript anywhere outside node_modules (our sources and tests stay in the build stage);
 * - in node_modules, declaration files (.d.ts) are allowed: they are part of what packages publish,
 *   are never loaded at run time and are not sources; any other .ts is not allowed;
 * - no test directory or test file anywhere (the build stage strips those packages publish);
 * - no dev dependency: no lock-file path marked dev, no devDependency by name at any depth.
 */
/** What is wrong with an image's /app (and /), given its mounted root; logs the listing. */
function contentProblems(mount, program, log) {
  const app = join(mount, 'app');
  const entries = walk(app);
  const problems = [];
  const top = readdirSync(app).sort();
  const dist = readdirSync(join(app, 'dist')).sort();
  const packages = entries.filter((e) => e.kind === 'dir' && PACKAGE_DIR.test(e.rel));
  const modules = packages.filter((e) => e.rel.split('node_modules/').length === 2);
  const ours = entries.filter((e) => e.kind === 'file' && !e.rel.startsWith('node_modules/'));
  const moduleFiles = entries.filter((e) => e.kind === 'file' && e.rel.startsWith('node_modules/'));
  log(`/app: ${top.join(' ')}; dist/: ${dist.join(' ')}`);
  log(indent(ours.map((e) => e.rel).join('  ')).trimStart());
  log(
    `node_modules: ${modules.length} top-level and ${packages.length - modules.length} nested packages, ${moduleFiles.length} files`,
  );
  log(indent(modules.map((e) => e.rel.slice('node_modules/'.length)).join(' ')).trimStart());

  const expectedTop = ['LICENSE', 'dist'];
  if (JSON.stringify(top) !== JSON.stringify(expectedTop))
    problems.push(`/app holds ${top.join(', ')}; wanted ${expectedTop.join(', ')}`);
  // build-info.json: the version and revision `--version` and vault_autounseal_build_info show.
  if (JSON.stringify(dist) !== JSON.stringify(['build-info.json', 'bundle']))
    problems.push(`/app/dist holds ${dist.join(', ')}; wanted build-info.json, bundle`);
  const bundleDir = join(app, 'dist', 'bundle');
  const bundled = existsSync(bundleDir) ? readdirSync(bundleDir).sort() : [];
  const wantedBundle = [`${program}.mjs`, `${program}.packages.json`];
  if (JSON.stringify(bundled) !== JSON.stringify(wantedBundle))
    problems.push(
      `/app/dist/bundle holds ${bundled.join(', ')}; wanted ${wantedBundle.join(', ')}`,
    );

  for (const e of entries) {
    const inModules = e.rel.startsWith('node_modules/');
    if (e.kind === 'dir' && TEST_DIR.test(e.name)) problems.push(`test directory ${e.rel}`);
    if (e.kind !== 'dir' && TEST_FILE.test(e.name)) problems.push(`test file ${e.rel}`);
    if (e.kind !== 'dir' && TS_FILE.test(e.name) && (!inModules || !DECLARATION.test(e.name))) {
      problems.push(`TypeScript file ${e.rel}`);
    }
    if (
      e.kind === 'dir' &&
      /^node_modules\/@[^/]+$/.test(e.rel) &&
      readdirSync(join(app, e.rel)).length === 0
    ) {
      problems.push(`empty scope directory ${e.rel} (left by a pruned dev dependency)`);
    }
  }
  // Every installed package must be a production entry of the lock file: one marked `dev` (a
  // devDependency, or something only devDependencies pull in) or one the lock does not know fails.
  // The devDependencies are also looked for by name, at any depth.
  const lock = lockPackages();
  const devNames = Object.keys(
    JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).devDependencies ?? {},
  );
  for (const e of packages) {
    const meta = lock[e.rel];
    const name = e.rel.replace(/^.*node_modules\//, '');
    if (!meta) problems.push(`package ${e.rel} is not in package-lock.json`);
    else if (meta.dev === true) problems.push(`dev dependency ${e.rel}`);
    if (devNames.includes(name) && (!meta || meta.dev)) problems.push(`devDependency ${e.rel}`);
  }
  // What the bundle holds: each package a production entry of the lock file, at its version.
  const listFile = join(bundleDir, `${program}.packages.json`);
  const listed = existsSync(listFile) ? JSON.parse(readFileSync(listFile, 'utf8')).packages : [];
  if (listed.length === 0)
    problems.push(`no package listed for the bundle in ${program}.packages.json`);
  for (const p of listed) {
    const meta = lock[p.path];
    if (!meta) problems.push(`bundled package ${p.path} is not in package-lock.json`);
    else if (meta.dev === true) problems.push(`bundled dev dependency ${p.path}`);
    else if (meta.version !== p.version)
      problems.push(`bundled ${p.path} ${p.version}, the lock file has ${meta.version}`);
  }
  log(
    `bundle: ${listed.length} packages inside dist/bundle/${program}.mjs, checked against package-lock.json`,
  );
  const devInLock = Object.entries(lock).filter(
    ([path, meta]) => path !== '' && meta.dev === true,
  ).length;
  log(
    `${packages.length} installed packages checked against package-lock.json (which has ${devInLock} dev-only entries)`,
  );
  for (const shell of [
    'bin/sh',
    'bin/bash',
    'bin/dash',
    'usr/bin/sh',
    'usr/bin/bash',
    'bin/busybox',
  ]) {
    if (existsSync(join(mount, shell))) problems.push(`a shell: /${shell}`);
  }
  return [...new Set(problems)];
}

/** `--version` in the image names the version and the revision the image was labelled with. */
async function checkVersion(label, image, program) {
  await check(
    `${label}: --version names the version and revision of the image labels`,
    async () => {
      const labels = (await imageConfig(image)).Config?.Labels ?? {};
      const version = labels['org.opencontainers.image.version'];
      const revision = labels['org.opencontainers.image.revision'] || 'unknown';
      const printed = await podman('run', '--rm', ...RUN_FLAGS, image, '--version');
      const wanted = `vault-autounseal-${program} ${version} (revision ${revision})`;
      return printed === wanted
        ? ''
        : `printed ${JSON.stringify(printed)}, wanted ${JSON.stringify(wanted)}`;
    },
  );
}

async function checkContents(label, image, program) {
  await check(
    `${label}: /app holds no dev dependency, TypeScript source or test, and no shell`,
    async () => {
      const mount = await podman('image', 'mount', image);
      try {
        return contentProblems(mount, program, (line) => console.log(`       ${label} ${line}`))
          .slice(0, 40)
          .join('\n');
      } finally {
        await podman('image', 'unmount', image).catch(() => undefined);
      }
    },
  );
}

/**
 * The contents check must not pass vacuously: plant one of each forbidden thing in a copy of the
 * image (buildah, never committed) and expect each to be named.
 */
async function checkContentsCheckBites(image, program) {
  await check(
    'the /app contents check rejects a planted dev dependency, source, test and shell',
    async () => {
      const { stdout: ctr } = await run('buildah', ['from', '--pull=never', '--quiet', image]);
      const id = ctr.trim();
      try {
        const { stdout: mnt } = await run('buildah', ['mount', id]);
        const mount = mnt.trim();
        const devDep = Object.keys(
          JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).devDependencies ?? {},
        )[0];
        const plant = (path, content = 'planted\n') => {
          mkdirSync(join(mount, path, '..'), { recursive: true });
          writeFileSync(join(mount, path), content);
        };
        plant(`app/node_modules/${devDep}/package.json`, '{}');
        plant(`app/dist/${program}/main.ts`);
        plant('app/node_modules/fastify/lib/extra.ts');
        plant('app/node_modules/pino/test/planted.js');
        plant('app/dist/common/main.test.js');
        plant('bin/sh');
        const expected = [
          `dev dependency node_modules/${devDep}`,
          `TypeScript file dist/${program}/main.ts`,
          'TypeScript file node_modules/fastify/lib/extra.ts',
          'test directory node_modules/pino/test',
          'test file dist/common/main.test.js',
          'a shell: /bin/sh',
        ];
        const found = contentProblems(mount, program, () => {});
        const missed = expected.filter((problem) => !found.includes(problem));
        return missed.length > 0
          ? `not reported: ${missed.join('; ')}\nreported: ${found.join('; ')}`
          : '';
      } finally {
        await run('buildah', ['rm', id]).catch(() => undefined);
      }
    },
  );
}

// ---- HTTP ----------------------------------------------------------------------------------------
function httpGet(url, timeoutMs = 3000) {
  return new Promise((resolvePromise, reject) => {
    const req = httpRequest(url, { timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolvePromise({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: GET ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * A request from inside the container's own network namespace, to its 127.0.0.1: the host's Node
 * runs scripts/images/request.mjs there through nsenter. The webhook listens on 0.0.0.0 (its pod
 * IP, in a cluster), so it runs with `--network none`, a namespace that has only loopback, instead
 * of on the host's interfaces.
 */
async function requestInContainer(id, method, url, { ca, body } = {}) {
  const pid = Number(await podman('inspect', '--format', '{{.State.Pid}}', id));
  if (!(pid > 0)) throw new Error(`container ${id} is not running`);
  const dir = mkdtempSync(join(tmpdir(), 'vau-image-request-'));
  try {
    const args = [
      '--target',
      String(pid),
      '--net',
      process.execPath,
      join(import.meta.dirname, 'request.mjs'),
      method,
      url,
    ];
    if (ca !== undefined) {
      writeFileSync(join(dir, 'ca.crt'), ca);
      args.push(join(dir, 'ca.crt'));
    } else if (body !== undefined) args.push('');
    if (body !== undefined) {
      writeFileSync(join(dir, 'body.json'), JSON.stringify(body));
      args.push(join(dir, 'body.json'));
    }
    const { stdout } = await run('nsenter', args, { maxBuffer: 16 * 1024 * 1024, timeout: 15_000 });
    return JSON.parse(stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Polls until probe returns a value; on timeout, the container's logs are in the error. */
async function waitForContainer(id, what, probe, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (!(await isRunning(id).catch(() => false))) {
      throw new Error(`container exited while waiting for ${what}\n${await containerLogs(id)}`);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}${last ? ` (last error: ${last.message})` : ''}\n${await containerLogs(id)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A temporary directory for a volume. */
function volumeDir(prefix) {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Gives a volume to a group, as the kubelet does with the pod's fsGroup: the files stay mode 0440
 * (owner and group only), so the container reads them only through that group.
 */
function grantToGroup(dir, gid) {
  const visit = (path) => {
    lchownSync(path, 0, gid);
    if (lstatSync(path).isDirectory()) {
      chmodSync(path, 0o2750);
      for (const entry of readdirSync(path)) visit(join(path, entry));
    }
  };
  visit(dir);
}

/**
 * The official Vault Helm chart's pod runs with fsGroup 1000: its volumes belong to group 1000 and
 * every container in the pod, the injected sidecar too, gets 1000 as a supplementary group.
 */
const VAULT_CHART_FS_GROUP = 1000;

// ---- the sidecar ---------------------------------------------------------------------------------
async function checkSidecar(image) {
  const label = 'sidecar';
  await checkImageConfig(label, image, '/app/dist/bundle/sidecar.mjs');
  await checkContents(label, image, 'sidecar');
  await checkVersion(label, image, 'sidecar');

  let server;
  let id;
  const dirs = [];
  try {
    const { startOpenBao } = await import(join(harness, 'openbao.js'));
    const { freePort } = await import(join(harness, 'ports.js'));
    const { writeSecretVolume, writeAnnotationsVolume } = await import(
      join(harness, 'key-volume.js')
    );
    server = await startOpenBao({ storage: 'persistent' });
    const init = await server.init(5, 3);
    if ((await server.sealStatus()).sealed !== true)
      throw new Error('OpenBao is not sealed after init');
    const keysDir = volumeDir('vau-image-keys-');
    const podinfoDir = volumeDir('vau-image-podinfo-');
    dirs.push(keysDir, podinfoDir);
    // Three distinct shares of five, two as hex and one as base64, one per Secret key, in the
    // kubelet's atomic-writer layout, mode 0440, group 1000 as in the official Vault chart's pod.
    writeSecretVolume(
      keysDir,
      {
        'key-1': `${init.keysHex[0]}\n`,
        'key-2': `${init.keysHex[1]}\n`,
        'key-3': `${init.keysBase64[2]}\n`,
      },
      0o440,
    );
    writeAnnotationsVolume(podinfoDir, { 'vault-autounseal.io/status': 'injected' });
    grantToGroup(keysDir, VAULT_CHART_FS_GROUP);
    grantToGroup(podinfoDir, VAULT_CHART_FS_GROUP);
    const httpPort = await freePort();
    // Host network: OpenBao is on the host's loopback, and the sidecar's own listener is bound to
    // 127.0.0.1 by UNSEAL_HTTP_ADDR, as in a pod where it shares the server's network namespace.
    id = await startContainer(image, {
      name: `vau-image-sidecar-${randomUUID().slice(0, 8)}`,
      network: 'host',
      groupAdd: VAULT_CHART_FS_GROUP,
      env: {
        VAULT_ADDR: server.addr,
        UNSEAL_HTTP_ADDR: `127.0.0.1:${httpPort}`,
        UNSEAL_INTERVAL: '1s',
      },
      volumes: { [keysDir]: '/vault/unseal-keys', [podinfoDir]: '/etc/vault-autounseal/podinfo' },
    });
    console.log(
      `       OpenBao ${server.addr} (sealed, 5 shares, threshold 3); sidecar /metrics on 127.0.0.1:${httpPort}`,
    );

    await check(
      `${label}: unseals a real OpenBao from read-only key files (mode 0440, fsGroup 1000)`,
      async () => {
        await waitForContainer(id, 'OpenBao unsealed', async () => {
          const status = await server.sealStatus();
          return status.sealed === false ? status : undefined;
        });
      },
    );
    await check(`${label}: /metrics shows vault_autounseal_vault_sealed 0`, async () => {
      const body = await waitForContainer(
        id,
        'vault_autounseal_vault_sealed 0 in /metrics',
        async () => {
          const answer = await httpGet(`http://127.0.0.1:${httpPort}/metrics`);
          return answer.status === 200 && /^vault_autounseal_vault_sealed 0$/m.test(answer.body)
            ? answer.body
            : undefined;
        },
      );
      const shown = body
        .split('\n')
        .filter((line) =>
          /^vault_autounseal_(vault_sealed|vault_up|keys_loaded|unseals_total)/.test(line),
        );
      console.log(indent(shown.join('\n')));
    });
    await check(`${label}: /healthz and /readyz answer 200 (the injected probes)`, async () => {
      const problems = [];
      for (const path of ['/healthz', '/readyz']) {
        const answer = await httpGet(`http://127.0.0.1:${httpPort}${path}`);
        if (answer.status !== 200) problems.push(`${path}: HTTP ${answer.status} ${answer.body}`);
      }
      return problems.join('\n');
    });
    await checkProcess(label, id);
    await checkStop(label, id);
    await check(`${label}: its output carries no share`, async () => {
      const logs = await containerLogs(id);
      const leaked = [...init.keysHex, ...init.keysBase64].filter((key) => logs.includes(key));
      return leaked.length > 0 ? `${leaked.length} share(s) appear in the container's output` : '';
    });
  } catch (error) {
    fail(
      `${label}: run against a real OpenBao`,
      error instanceof Error ? (error.stack ?? error.message) : error,
    );
  } finally {
    await removeContainer(id);
    await server?.destroy().catch(() => undefined);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

// ---- the webhook ---------------------------------------------------------------------------------
/** An AdmissionReview v1 for a Vault pod that opts in with the label. */
function admissionReview(uid) {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      name: 'vault-0',
      namespace: 'vault',
      operation: 'CREATE',
      userInfo: {
        username: 'system:serviceaccount:kube-system:statefulset-controller',
        groups: ['system:serviceaccounts'],
      },
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: 'vault-0',
          namespace: 'vault',
          labels: { app: 'vault', 'vault-autounseal.io/inject': 'true' },
        },
        spec: {
          securityContext: { runAsNonRoot: true, runAsUser: 100, runAsGroup: 1000, fsGroup: 1000 },
          containers: [
            {
              name: 'vault',
              image: 'hashicorp/vault:1.18.0',
              env: [{ name: 'VAULT_ADDR', value: 'http://127.0.0.1:8200' }],
              ports: [{ containerPort: 8200, name: 'http' }],
            },
          ],
        },
      },
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  };
}

async function checkWebhook(image) {
  const label = 'webhook';
  await checkImageConfig(label, image, '/app/dist/bundle/webhook.mjs');
  await checkContents(label, image, 'webhook');
  await checkVersion(label, image, 'webhook');

  let id;
  const dirs = [];
  try {
    const { createTestCa } = await import(join(harness, 'test-ca.js'));
    const ca = await createTestCa('vault-autounseal images CA');
    const cert = await ca.issue({
      commonName: 'vault-autounseal-webhook',
      dnsNames: ['localhost', 'vault-autounseal-webhook.vault-autounseal.svc'],
      ipAddresses: ['127.0.0.1'],
    });
    const { writeSecretVolume } = await import(join(harness, 'key-volume.js'));
    const tlsDir = volumeDir('vau-image-tls-');
    dirs.push(tlsDir);
    // A kubernetes.io/tls Secret as cert-manager writes it, mounted with mode 0440 and fsGroup.
    writeSecretVolume(
      tlsDir,
      { 'tls.crt': cert.certPem, 'tls.key': cert.keyPem, 'ca.crt': ca.certPem },
      0o440,
    );
    grantToGroup(tlsDir, 65532);
    const port = 8443;
    const metricsPort = 8080;
    const sidecarImage = opts.sidecar ?? 'localhost/vault-autounseal-sidecar:dev';
    id = await startContainer(image, {
      name: `vau-image-webhook-${randomUUID().slice(0, 8)}`,
      network: 'none',
      env: {
        WEBHOOK_PORT: String(port),
        WEBHOOK_METRICS_PORT: String(metricsPort),
        SIDECAR_IMAGE: sidecarImage,
        WEBHOOK_NAMESPACE: 'vault-autounseal',
      },
      volumes: { [tlsDir]: '/etc/webhook/tls' },
    });
    console.log(
      `       webhook in its own network namespace (loopback only): https://127.0.0.1:${port}/mutate, ` +
        `http://127.0.0.1:${metricsPort}/readyz, reached through nsenter`,
    );

    await check(`${label}: /readyz and /healthz answer 200 on the metrics port`, async () => {
      await waitForContainer(id, '/readyz', async () => {
        const answer = await requestInContainer(
          id,
          'GET',
          `http://127.0.0.1:${metricsPort}/readyz`,
        );
        return answer.status === 200 ? answer : undefined;
      });
      const health = await requestInContainer(id, 'GET', `http://127.0.0.1:${metricsPort}/healthz`);
      return health.status === 200 ? '' : `/healthz: HTTP ${health.status} ${health.body}`;
    });
    await check(
      `${label}: answers an AdmissionReview over TLS with a patch that adds the sidecar`,
      async () => {
        const uid = randomUUID();
        const answer = await waitForContainer(id, 'an AdmissionReview answer', async () =>
          requestInContainer(id, 'POST', `https://127.0.0.1:${port}/mutate`, {
            ca: ca.certPem,
            body: admissionReview(uid),
          }),
        );
        if (answer.status !== 200) return `HTTP ${answer.status}: ${answer.body}`;
        const review = JSON.parse(answer.body);
        const response = review.response ?? {};
        const problems = [];
        if (review.apiVersion !== 'admission.k8s.io/v1' || review.kind !== 'AdmissionReview')
          problems.push(`answered ${review.apiVersion} ${review.kind}`);
        if (response.uid !== uid) problems.push(`uid ${response.uid}, wanted ${uid}`);
        if (response.allowed !== true)
          problems.push(`not allowed: ${JSON.stringify(response.status)}`);
        if (response.patchType !== 'JSONPatch') problems.push(`patchType ${response.patchType}`);
        const patch = response.patch
          ? JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8'))
          : [];
        const added = patch
          .filter((op) => op.op === 'add')
          .flatMap((op) => (Array.isArray(op.value) ? op.value : [op.value]));
        const sidecar = added.find(
          (value) => value && typeof value === 'object' && value.name === 'vault-autounseal',
        );
        if (!sidecar)
          problems.push(
            `no op adds a container named vault-autounseal:\n${JSON.stringify(patch, null, 1)}`,
          );
        else {
          if (sidecar.image !== sidecarImage)
            problems.push(`sidecar image ${sidecar.image}, wanted ${sidecarImage}`);
          console.log(
            `       patch: ${patch.length} ops (${patch.map((op) => `${op.op} ${op.path}`).join(', ')})`,
          );
          console.log(
            `       sidecar: image ${sidecar.image}, securityContext ${JSON.stringify(sidecar.securityContext)}`,
          );
        }
        return problems.join('\n');
      },
    );
    await checkProcess(label, id);
    await checkStop(label, id);
  } catch (error) {
    fail(
      `${label}: run with a TLS certificate mounted read-only`,
      error instanceof Error ? (error.stack ?? error.message) : error,
    );
  } finally {
    await removeContainer(id);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

// ---- main ----------------------------------------------------------------------------------------
function summarize() {
  if (summary.length > 0) console.log(`[images] ${summary.join('; ')}`);
  if (opts.started) {
    const took = Math.round(Date.now() / 1000 - Number(opts.started));
    console.log(`[images] took ${took}s${opts.log ? `; log: ${opts.log}` : ''}`);
  }
  console.log(`images: ${passed} passed, ${failed} failed`);
}

// Bounded time: a hung podman or server fails the run instead of holding CI. The harness kills its
// OpenBao servers on exit; the containers are removed here.
const WATCHDOG_MS = 10 * 60_000;
setTimeout(() => {
  fail(`the checks did not finish within ${WATCHDOG_MS / 60_000} minutes`);
  removeStartedSync();
  summarize();
  process.exit(1);
}, WATCHDOG_MS).unref();
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    fail(`interrupted by ${signal}`);
    removeStartedSync();
    summarize();
    process.exit(1);
  });
}

if (opts.sidecar) await checkSidecar(opts.sidecar);
if (opts.webhook) await checkWebhook(opts.webhook);
if (opts.webhook ?? opts.sidecar) {
  await checkContentsCheckBites(opts.webhook ?? opts.sidecar, opts.webhook ? 'webhook' : 'sidecar');
}
summarize();
process.exit(failed > 0 ? 1 : 0);
