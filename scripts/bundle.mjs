#!/usr/bin/env node
// `npm run build`, after tsc: each program as one ES module file, dist/bundle/<program>.mjs, with
// every npm dependency it loads inside (esbuild), and dist/bundle/<program>.packages.json, the
// packages whose files went into it (name, version, license, files), from esbuild's metafile: the
// SBOM of the image lists them (scripts/images/sbom.mjs). The images run the bundle
// (docs/footprint.md measures what it saves: one file instead of ~90 packages' modules, and
// no axios in the sidecar).
//
// Only the programs whose tsc output exists are bundled: an image's build stage compiles one.
// esbuild-wasm, not esbuild: the same bundler without an install script (the lock file holds none,
// test/unit/docs/supply-chain.test.ts).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as esbuild from 'esbuild-wasm';

const root = join(import.meta.dirname, '..');
const out = join(root, 'dist', 'bundle');
const PROGRAMS = ['sidecar', 'webhook'];

/**
 * node-vault sends through axios unless given a `request-promise` hook, and the sidecar always
 * gives it one (sidecar/vault-transport.ts, docs/adr/0003-sidecar-http-transport.md): axios and
 * what it loads (follow-redirects, proxy-from-env, form-data, mime-db…) are never called. In the
 * bundle, node-vault's `require('axios')` gets this stub instead; a call to it fails loudly rather
 * than sending a share through a wire we do not control. About 16 MiB of resident memory on Node 24.
 */
const AXIOS_STUB = `module.exports = new Proxy({}, { get(_, name) {
  if (name === '__esModule' || typeof name === 'symbol') return undefined;
  throw new Error('axios is not in this build: the sidecar sends through its own transport (sidecar/vault-transport.ts)');
} });`;

const noAxios = {
  name: 'no-axios',
  setup(build) {
    build.onResolve({ filter: /^axios$/ }, () => ({ path: 'axios', namespace: 'axios-stub' }));
    build.onLoad({ filter: /.*/, namespace: 'axios-stub' }, () => ({
      contents: AXIOS_STUB,
      loader: 'js',
    }));
  },
};

/**
 * fastify (`lib/server.js`: https and http2), node-vault (https) and prom-client (its pushgateway:
 * https) load these at import, and call them only on a path we do not take (an https or http2
 * fastify server, node-vault's axios, a push) or take only with TLS configured. On Node 24,
 * `node:https` costs about 8.5 MiB resident and `node:http2` 12.7 MiB (docs/footprint.md).
 * light-my-request (fastify's `inject`, which the programs never call) takes `randomUUID` from
 * node:crypto at import, and node:crypto costs a plain-HTTP sidecar about 2 MiB on Node 24 (third
 * pass). Each dependency's import of them gets a stand-in that loads the real module at the first
 * property read (they keep the module object and read `.createServer`, `.Agent`, `.request` when
 * called), or, for a function read at import (FUNCTIONS_READ_AT_IMPORT), when it is first called.
 * Our own code loads them on first use too (common/lazy-builtins.ts); the webhook, an https server,
 * still loads https, tls and crypto at start, and no longer http2.
 */
const LAZY_BUILTINS = /^(node:)?(https|http2|tls|crypto)$/;
const FUNCTIONS_READ_AT_IMPORT = { 'node:crypto': ['randomUUID'] };
const lazyBuiltin = (name) => `let real;
const load = () => (real ??= require(${JSON.stringify(name)}));
const deferred = Object.fromEntries(
  ${JSON.stringify(FUNCTIONS_READ_AT_IMPORT[name] ?? [])}.map((fn) => [fn, (...args) => load()[fn](...args)]),
);
module.exports = new Proxy({}, {
  get: (_, key) => (Object.hasOwn(deferred, key) ? deferred[key] : load()[key]),
  has: (_, key) => key in load(),
  ownKeys: () => Reflect.ownKeys(load()),
  getOwnPropertyDescriptor: (_, key) => {
    const found = Reflect.getOwnPropertyDescriptor(load(), key);
    return found && { ...found, configurable: true };
  },
});`;

const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(build) {
    build.onResolve({ filter: LAZY_BUILTINS }, (args) =>
      args.importer.includes('/node_modules/')
        ? { path: `node:${args.path.replace(/^node:/, '')}`, namespace: 'lazy-builtin' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({
      contents: lazyBuiltin(args.path),
      loader: 'js',
    }));
  },
};

/** The package a bundled file came from: its nearest package.json with a name, under node_modules. */
function packageOf(file, cache) {
  const parts = file.split('node_modules/');
  if (parts.length < 2) return undefined;
  const inside = parts.at(-1).split('/');
  const depth = inside[0].startsWith('@') ? 2 : 1;
  const dir = join(
    root,
    ...parts.slice(0, -1).map((p) => `${p}node_modules`),
    ...inside.slice(0, depth),
  );
  if (!cache.has(dir)) {
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    cache.set(dir, {
      name: manifest.name,
      version: manifest.version,
      license: typeof manifest.license === 'string' ? manifest.license : undefined,
      path: relative(root, dir),
      files: 0,
      bytes: 0,
    });
  }
  return cache.get(dir);
}

mkdirSync(out, { recursive: true });
for (const program of PROGRAMS) {
  const entry = join(root, 'dist', program, 'main.js');
  if (!existsSync(entry)) continue;
  const outfile = join(out, `${program}.mjs`);
  const result = await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20.19',
    // Not minified: measured, it saved nothing resident (the source text is not what costs), and
    // a stack trace with our own names is worth more.
    minify: false,
    legalComments: 'eof',
    metafile: true,
    logLevel: 'warning',
    plugins: program === 'sidecar' ? [noAxios, lazyBuiltins] : [lazyBuiltins],
    // debug (node-vault's) tries `require('supports-color')` in a try/catch: installed here only as
    // a dev dependency's, so it stays out, as it was out of the pruned node_modules (the image
    // check names any dev dependency in the bundle: scripts/images/check.mjs).
    external: ['supports-color'],
    // The CommonJS dependencies call require() for Node's built-in modules.
    banner: {
      js: "import { createRequire as __vauCreateRequire } from 'node:module';\nconst require = __vauCreateRequire(import.meta.url);",
    },
  });
  const cache = new Map();
  for (const [file, input] of Object.entries(result.metafile.inputs)) {
    const pkg = packageOf(file, cache);
    if (!pkg) continue;
    pkg.files += 1;
    pkg.bytes += input.bytes;
  }
  const packages = [...cache.values()].sort((a, b) =>
    a.name === b.name ? a.path.localeCompare(b.path) : a.name.localeCompare(b.name),
  );
  writeFileSync(
    join(out, `${program}.packages.json`),
    `${JSON.stringify({ bundle: `${program}.mjs`, packages }, null, 2)}\n`,
  );
  const size = readFileSync(outfile).length;
  process.stderr.write(
    `bundle: dist/bundle/${program}.mjs, ${(size / 1024).toFixed(0)} KiB, ${packages.length} packages\n`,
  );
}
await esbuild.stop?.();
