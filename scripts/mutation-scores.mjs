// The mutation score of each module, from Stryker's JSON report, held to the threshold one by one.
// Stryker's own `thresholds.break` judges all files together, so a strong module could hide a weak
// one; the issue asks for the score of each. Used by `npm run mutation:ci` and `.ci/run`.
//
//   node scripts/mutation-scores.mjs [.mutation/report.json]
//
// Prints one line per module, then `mutation: N passed, N failed` (modules at or above the
// threshold, and below it), and exits 1 when any module is below. See docs/mutation.md.
import { readFileSync } from 'node:fs';

const config = JSON.parse(readFileSync(new URL('../stryker.config.json', import.meta.url), 'utf8'));

const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);

const reportPath = process.argv[2] ?? config.jsonReporter.fileName;
const threshold = config.thresholds.break;
const report = JSON.parse(readFileSync(reportPath, 'utf8'));

let passed = 0;
let failed = 0;
for (const [file, { mutants }] of Object.entries(report.files).sort(([a], [b]) =>
  a.localeCompare(b),
)) {
  const detected = mutants.filter((m) => DETECTED.has(m.status)).length;
  const undetected = mutants.filter((m) => UNDETECTED.has(m.status)).length;
  const valid = detected + undetected;
  // A module with no mutant at all (only type declarations and numbers) has nothing to judge.
  if (valid === 0) {
    console.log(`mutation: ${file}: no mutants`);
    continue;
  }
  const score = (100 * detected) / valid;
  const ok = score >= threshold;
  if (ok) passed += 1;
  else failed += 1;
  console.log(
    `mutation: ${file}: ${score.toFixed(2)}% (${detected} of ${valid} detected, ${undetected} left)` +
      (ok ? '' : ` BELOW ${threshold}%`),
  );
}
console.log(`mutation: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
