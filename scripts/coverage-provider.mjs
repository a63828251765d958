// vitest's own V8 coverage provider (@vitest/coverage-v8), plus the programs the integration tests
// run as child processes. vitest measures only the code that runs inside its test workers; the
// sidecar and the webhook under test run as `node dist/.../main.js` children (test/harness). This
// wrapper points NODE_V8_COVERAGE at a temporary directory before the workers start (the children
// inherit it), then adds the children's coverage to vitest's before the reports and the thresholds
// of vitest.config.ts see it, and ends with one summary line per directory.
// Only a child that exits writes its coverage: one killed with SIGKILL (most test clean-ups) leaves
// nothing, so what it ran counts only when another child or an in-process test ran it too.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from '@vitest/coverage-v8';

// The heavy half (vitest/node, ast-v8-to-istanbul) is imported only in vitest's main process,
// when the coverage is generated: vitest loads this module in every test worker too.
const children = () => import('./coverage-children.mjs');

export default {
  ...v8,
  async getProvider() {
    const provider = await v8.getProvider();
    const scratch = mkdtempSync(join(tmpdir(), 'vau-coverage-'));
    const v8Dir = join(scratch, 'v8');
    const distDir = () => join(provider.ctx.config.root, 'dist');
    let snapshot = new Map();

    const initialize = provider.initialize.bind(provider);
    provider.initialize = (ctx) => {
      initialize(ctx);
      process.env['NODE_V8_COVERAGE'] = v8Dir;
    };

    const onTestRunStart = provider.onTestRunStart.bind(provider);
    provider.onTestRunStart = async () => {
      await onTestRunStart();
      snapshot = (await children()).snapshotDist(distDir());
    };

    const generateCoverage = provider.generateCoverage.bind(provider);
    provider.generateCoverage = async (context) => {
      const coverageMap = await generateCoverage(context);
      const { addChildHits, buildSourceMaps, mapChildCoverage, readChildCoverage } =
        await children();
      const log = (line) => provider.ctx.logger.log(`[coverage] ${line}`);
      const alone = coverageMap.getCoverageSummary();
      log(`the test workers alone: lines ${alone.lines.pct}%, branches ${alone.branches.pct}%`);
      const { processes, merged } = readChildCoverage(v8Dir, distDir());
      if (processes === 0) log('no child process of dist/ wrote coverage');
      else {
        const mapsDir = join(scratch, 'maps');
        buildSourceMaps(provider.ctx.config.root, mapsDir);
        const { data, stale } = await mapChildCoverage({
          merged,
          distDir: distDir(),
          mapsDir,
          snapshot,
          isIncluded: (path) => provider.isIncluded(path),
        });
        const unpaired = addChildHits(coverageMap, data);
        const all = coverageMap.getCoverageSummary();
        log(
          `with ${processes} child process(es) of dist/ added: lines ${all.lines.pct}%, branches ${all.branches.pct}%`,
        );
        if (stale.length > 0) {
          log(`left out, as dist/ changed during the run: the children's ${stale.join(', ')}`);
        }
        if (unpaired > 0) log(`${unpaired} child item(s) had no pair in vitest's map`);
      }
      rmSync(scratch, { recursive: true, force: true });
      return coverageMap;
    };

    const generateReports = provider.generateReports.bind(provider);
    provider.generateReports = async (coverageMap, allTestsRun) => {
      await generateReports(coverageMap, allTestsRun);
      const { directorySummary } = await children();
      provider.ctx.logger.log(`\n${'='.repeat(28)} Coverage per directory ${'='.repeat(28)}`);
      for (const line of directorySummary(coverageMap, provider.ctx.config.root)) {
        provider.ctx.logger.log(line);
      }
    };
    return provider;
  },
};
