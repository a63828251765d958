// The alert rules (deploy/helm/vault-autounseal/files/prometheus-rules.yaml): Debian's promtool
// checks them and runs their unit tests (deploy/prometheus/tests/*.yaml), and every alert must have
// a test case where it fires and one where it stays quiet, so no alert goes untested.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { CHART, DEPLOY, run } from './support.js';

const RULES = join(CHART, 'files', 'prometheus-rules.yaml');
const TESTS_DIR = join(DEPLOY, 'prometheus', 'tests');
const TEST_FILES = readdirSync(TESTS_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => join(TESTS_DIR, f));

interface RuleFile {
  groups: { name: string; rules: { alert?: string; record?: string; expr: string }[] }[];
}
interface RuleTestFile {
  rule_files: string[];
  tests: {
    name?: string;
    alert_rule_test?: { alertname: string; exp_alerts?: unknown[] | null }[];
  }[];
}

const rules = parseYaml(readFileSync(RULES, 'utf8')) as RuleFile;
const alertNames = [
  ...new Set(
    rules.groups.flatMap((g) => g.rules.map((r) => r.alert).filter((a) => a !== undefined)),
  ),
];

/** The alerts the contract lists, by the name we gave each. */
const CONTRACT_ALERTS = {
  'Vault sealed longer than 2 m while not paused': 'VaultAutounsealVaultSealed',
  'keys below threshold': 'VaultAutounsealKeysBelowThreshold',
  'key set rejected': 'VaultAutounsealKeySetRejected',
  'sidecar down': 'VaultAutounsealSidecarDown',
  'webhook down': 'VaultAutounsealWebhookDown',
  'webhook certificate expiring': 'VaultAutounsealWebhookCertificateExpiring',
};

describe('prometheus alert rules', () => {
  it('pass promtool check rules', async () => {
    const result = await run('promtool', ['check', 'rules', RULES]);
    expect(result.stdout + result.stderr).toMatch(/SUCCESS: \d+ rules found/);
    expect(result.code).toBe(0);
  });

  it('pass their promtool unit tests', async () => {
    expect(TEST_FILES.length).toBeGreaterThan(0);
    const result = await run('promtool', ['test', 'rules', ...TEST_FILES]);
    expect(result.stdout + result.stderr).not.toContain('FAILED');
    expect(result.code, result.stdout + result.stderr).toBe(0);
  });

  it('the unit tests load the shipped rule file, not a copy', () => {
    for (const file of TEST_FILES) {
      const tests = parseYaml(readFileSync(file, 'utf8')) as RuleTestFile;
      expect(tests.rule_files.map((f) => join(TESTS_DIR, f))).toEqual([RULES]);
    }
  });

  it.each(Object.entries(CONTRACT_ALERTS))(
    'include the contract alert "%s" (%s)',
    (_what, name) => {
      expect(alertNames).toContain(name);
    },
  );

  describe.each(alertNames)('%s', (alertname) => {
    const cases = TEST_FILES.flatMap((file) =>
      (parseYaml(readFileSync(file, 'utf8')) as RuleTestFile).tests.flatMap(
        (t) => t.alert_rule_test?.filter((c) => c.alertname === alertname) ?? [],
      ),
    );

    it('has a unit test case where it fires', () => {
      expect(cases.some((c) => (c.exp_alerts ?? []).length > 0)).toBe(true);
    });

    it('has a unit test case where it does not fire', () => {
      expect(cases.some((c) => (c.exp_alerts ?? []).length === 0)).toBe(true);
    });
  });

  it('promtool really fails a wrong expectation (the unit tests can fail)', async () => {
    // The same rule file, with a test that expects VaultAutounsealSidecarDown while up == 1.
    const dir = mkdtempSync(join(tmpdir(), 'promtool-'));
    try {
      const file = join(dir, 'wrong.yaml');
      writeFileSync(
        file,
        [
          `rule_files: [${JSON.stringify(RULES)}]`,
          'evaluation_interval: 1m',
          'tests:',
          '  - interval: 1m',
          '    input_series:',
          `      - series: 'up{job="vault-autounseal-sidecar",instance="a"}'`,
          "        values: '1x10'",
          '    alert_rule_test:',
          '      - eval_time: 10m',
          '        alertname: VaultAutounsealSidecarDown',
          '        exp_alerts: [{exp_labels: {severity: critical, job: vault-autounseal-sidecar, instance: a}}]',
          '',
        ].join('\n'),
      );
      const result = await run('promtool', ['test', 'rules', file]);
      expect(result.code).not.toBe(0);
      expect(result.stdout + result.stderr).toContain('FAILED');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
