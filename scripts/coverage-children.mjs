// Coverage of the built programs that the integration tests start as child processes
// (`node dist/sidecar/main.js`, `dist/webhook/main.js`, the demo's sidecars), mapped back to the
// TypeScript sources. Node writes each child's V8 coverage to NODE_V8_COVERAGE when the child
// exits; this module merges those files, maps them through source maps of the same dist build,
// and returns Istanbul coverage data that scripts/coverage-provider.mjs adds to vitest's own.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mergeProcessCovs } from '@bcoe/v8-coverage';
import convert from 'ast-v8-to-istanbul';
import { parseAstAsync } from 'vitest/node';

const SOURCE_MAP_COMMENT = /\n\/\/# sourceMappingURL=[^\n]*\n?$/;

/**
 * Compiles the same sources as `npm run build` again, with source maps, into `outDir`.
 * dist/ itself stays without maps (the images copy it): tsc emits the same JavaScript with or
 * without `--sourceMap` apart from the trailing `//# sourceMappingURL` comment, so the maps of
 * this second build describe the code the children ran. `mapChildCoverage` checks that, file by
 * file. `--noCheck`: the type check already ran in the build, and skipping it takes ~30 s off.
 */
export function buildSourceMaps(root, outDir) {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(
    process.execPath,
    [tsc, '-p', 'tsconfig.build.json', '--sourceMap', '--noCheck', '--outDir', outDir],
    { cwd: root, stdio: 'inherit' },
  );
}

/**
 * A digest of every .js file under `distDir`, taken before the tests start. A file whose digest
 * differs at the end was rebuilt during the run, so the children may have run another version
 * of it than the one its source map describes: `mapChildCoverage` leaves it out.
 */
export function snapshotDist(distDir) {
  const digests = new Map();
  for (const rel of existsSync(distDir) ? readdirSync(distDir, { recursive: true }) : []) {
    if (!String(rel).endsWith('.js')) continue;
    const file = join(distDir, String(rel));
    digests.set(file, createHash('sha256').update(readFileSync(file)).digest('hex'));
  }
  return digests;
}

/** The V8 coverage of every script under `distDir`, from every file in `v8Dir`, merged. */
export function readChildCoverage(v8Dir, distDir) {
  const prefix = pathToFileURL(distDir).href + '/';
  const processes = [];
  for (const name of existsSync(v8Dir) ? readdirSync(v8Dir) : []) {
    if (!name.endsWith('.json')) continue;
    let report;
    try {
      report = JSON.parse(readFileSync(join(v8Dir, name), 'utf8'));
    } catch {
      continue; // A child killed while Node was writing its file: nothing usable in it.
    }
    const result = (report.result ?? []).filter((script) => script.url.startsWith(prefix));
    if (result.length > 0) processes.push({ result });
  }
  return { processes: processes.length, merged: mergeProcessCovs(processes) };
}

/**
 * Istanbul coverage data for the TypeScript sources behind `merged` (from readChildCoverage).
 * `distDir` holds the JavaScript that ran, `mapsDir` the same build with source maps;
 * `isIncluded(path)` keeps the sources the coverage config measures.
 */
export async function mapChildCoverage({ merged, distDir, mapsDir, snapshot, isIncluded }) {
  const data = {};
  const stale = [];
  for (const script of merged.result) {
    const file = fileURLToPath(script.url);
    const rel = relative(distDir, file);
    // The bundles (dist/bundle/, scripts/bundle.mjs) are the same sources in one file, with no
    // source map: what they run is measured through the tsc output the other children run.
    if (rel.startsWith(`bundle${sep}`)) continue;
    const mapped = join(mapsDir, rel);
    if (!existsSync(file) || !existsSync(`${mapped}.map`)) {
      stale.push(rel);
      continue;
    }
    const code = readFileSync(file, 'utf8');
    const digest = createHash('sha256').update(code).digest('hex');
    if (
      snapshot.get(file) !== digest ||
      readFileSync(mapped, 'utf8').replace(SOURCE_MAP_COMMENT, '\n') !== code
    ) {
      // dist/ was rebuilt during the run, or the sources changed since it was built: the
      // children's offsets may point into other code than the map describes.
      stale.push(rel);
      continue;
    }
    const sourceMap = JSON.parse(readFileSync(`${mapped}.map`, 'utf8'));
    sourceMap.sources = sourceMap.sources.map(
      (source) => pathToFileURL(resolve(dirname(mapped), source)).href,
    );
    if (!sourceMap.sources.some((source) => isIncluded(fileURLToPath(source)))) continue;
    const converted = await convert({
      code,
      ast: parseAstAsync(code),
      sourceMap,
      wrapperLength: 0, // ES modules: Node runs the file as it is, no CommonJS wrapper.
      coverage: { url: script.url, functions: script.functions },
    });
    for (const [path, coverage] of Object.entries(converted)) {
      if (isIncluded(path)) data[path] = coverage;
    }
  }
  return { data, stale: stale.map((rel) => rel.split(sep).join('/')) };
}

/**
 * Adds the children's hits to vitest's coverage map, in place. istanbul-lib-coverage merges two
 * reports only where statements have the very same start and end columns, and these two come from
 * different compilers (vitest's oxc transform in the test workers, tsc for dist/): the same
 * statements in the same order on the same lines, but with other end columns. So each statement,
 * branch and function of a child is paired with vitest's by source line and order on that line
 * (the branch's number of paths too), and its hits are added there. Returns how many child items
 * found no pair (those hits are dropped: the report never counts more than vitest's map holds).
 */
export function addChildHits(coverageMap, data) {
  let unpaired = 0;
  for (const [path, child] of Object.entries(data)) {
    if (!coverageMap.files().includes(path)) {
      coverageMap.addFileCoverage(child);
      continue;
    }
    const own = coverageMap.fileCoverageFor(path).data;
    unpaired += addHits(own.statementMap, own.s, child.statementMap, child.s, (s) => s.start.line);
    unpaired += addHits(own.fnMap, own.f, child.fnMap, child.f, (f) => f.decl.start.line);
    unpaired += addHits(
      own.branchMap,
      own.b,
      child.branchMap,
      child.b,
      (b) => `${b.loc.start.line}/${b.locations.length}`,
    );
  }
  return unpaired;
}

function addHits(ownMap, ownHits, childMap, childHits, lineOf) {
  const slot = (map) => {
    const seen = new Map();
    const slots = new Map();
    for (const key of Object.keys(map)) {
      const line = lineOf(map[key]);
      const n = seen.get(line) ?? 0;
      seen.set(line, n + 1);
      slots.set(`${line}#${n}`, key);
    }
    return slots;
  };
  const ownSlots = slot(ownMap);
  let unpaired = 0;
  for (const [at, childKey] of slot(childMap)) {
    const ownKey = ownSlots.get(at);
    const hits = childHits[childKey];
    if (ownKey === undefined) {
      unpaired += 1;
    } else if (Array.isArray(hits)) {
      ownHits[ownKey] = ownHits[ownKey].map((count, i) => count + (hits[i] ?? 0));
    } else {
      ownHits[ownKey] += hits;
    }
  }
  return unpaired;
}

/** One line per top-level directory: lines, branches, statements and functions covered. */
export function directorySummary(coverageMap, root) {
  const byDir = new Map();
  for (const file of coverageMap.files()) {
    const dir = relative(root, file).split(sep)[0];
    const summary = coverageMap.fileCoverageFor(file).toSummary();
    if (byDir.has(dir)) byDir.get(dir).merge(summary);
    else byDir.set(dir, summary);
  }
  const cell = (metric) =>
    `${metric.pct.toFixed(2)}% (${metric.covered}/${metric.total})`.padEnd(22);
  return [...byDir.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([dir, s]) =>
      `${`${dir}/`.padEnd(10)} Lines ${cell(s.lines)} Branches ${cell(s.branches)} Statements ${cell(s.statements)} Functions ${cell(s.functions)}`.trimEnd(),
    );
}
