// The alert rules (deploy/helm/vault-autounseal/files/prometheus-rules.yaml): Debian's promtool
// checks them and runs their unit tests (deploy/prometheus/tests/*.yaml), and every alert must have
// a test case where it fires and one where it stays quiet, so no alert goes untested.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { CHART, DEPLOY, find, helmTemplate, helmTemplateResult, run } from './support.js';

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
  // issue 22
  'no sidecar target at all where one is expected': 'VaultAutounsealSidecarTargetsMissing',
  'a node not initialised for a long time (a follower that never joined)':
    'VaultAutounsealNotInitialized',
  'paused for longer than a configurable time': 'VaultAutounsealSidecarPausedTooLong',
  'the pause switch unreadable': 'VaultAutounsealPauseSwitchUnreadable',
};

const SHIPPED_BASE =
  'https://github.com/vault-autounseal/vault-autounseal/blob/main/docs/runbooks/';

interface RenderedRule {
  alert?: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** The alert rules of the PrometheusRule the chart renders with these `--set` values. */
async function renderedAlerts(sets: readonly string[]): Promise<RenderedRule[]> {
  const objects = await helmTemplate([
    '--set',
    'metrics.prometheusRule.enabled=true',
    ...sets.flatMap((s) => ['--set', s]),
  ]);
  const spec = find(objects, 'PrometheusRule').spec as { groups: { rules: RenderedRule[] }[] };
  return spec.groups.flatMap((g) => g.rules).filter((r) => r.alert !== undefined);
}

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

  describe("the chart's PrometheusRule", () => {
    it('with default values is the rule file promtool tests, unchanged', async () => {
      const objects = await helmTemplate(['--set', 'metrics.prometheusRule.enabled=true']);
      expect(find(objects, 'PrometheusRule').spec).toEqual(rules);
    });

    it('points every runbook_url at runbookBaseUrl (a trailing slash is added)', async () => {
      const alerts = await renderedAlerts([
        'metrics.prometheusRule.runbookBaseUrl=https://wiki.example.com/vault/runbooks',
      ]);
      expect(alerts.length).toBe(rules.groups.flatMap((g) => g.rules).length);
      for (const rule of alerts) {
        expect(rule.annotations?.runbook_url).toBe(
          `https://wiki.example.com/vault/runbooks/alert-${rule.alert}.md`,
        );
      }
    });

    it("adds extraLabels to every alert, and an alert's own severity wins", async () => {
      const alerts = await renderedAlerts([
        'metrics.prometheusRule.extraLabels.team=platform',
        'metrics.prometheusRule.extraLabels.severity=info',
      ]);
      const shipped = rules.groups.flatMap((g) => g.rules) as RenderedRule[];
      expect(alerts.map((r) => r.alert)).toEqual(shipped.map((r) => r.alert));
      alerts.forEach((rule, i) => {
        expect(rule.labels?.team, rule.alert).toBe('platform');
        expect(rule.labels?.severity, rule.alert).toBe(shipped[i]?.labels?.severity);
      });
    });

    it("sets the pause alert's `for` and its summary from pausedAlertAfter", async () => {
      const alerts = await renderedAlerts(['metrics.prometheusRule.pausedAlertAfter=4h']);
      const paused = alerts.find((r) => r.alert === 'VaultAutounsealSidecarPausedTooLong');
      expect(paused?.for).toBe('4h');
      expect(paused?.annotations?.summary).toContain('paused for more than 4h');
      expect(paused?.annotations?.summary).not.toContain('1h');
      // nothing else moved
      const others = alerts.filter((r) => r.alert !== 'VaultAutounsealSidecarPausedTooLong');
      expect(others.map((r) => r.for)).not.toContain('4h');
    });

    it('renders rules promtool accepts, whatever the three values', async () => {
      const objects = await helmTemplate([
        '--set',
        'metrics.prometheusRule.enabled=true',
        '--set',
        'metrics.prometheusRule.runbookBaseUrl=https://wiki.example.com/rb/',
        '--set',
        'metrics.prometheusRule.extraLabels.team=platform',
        '--set',
        'metrics.prometheusRule.pausedAlertAfter=90m',
      ]);
      const dir = mkdtempSync(join(tmpdir(), 'promtool-'));
      try {
        const file = join(dir, 'rendered.yaml');
        writeFileSync(file, JSON.stringify(find(objects, 'PrometheusRule').spec));
        const result = await run('promtool', ['check', 'rules', file]);
        expect(result.code, result.stdout + result.stderr).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it.each([
      ['pausedAlertAfter=soon', /pausedAlertAfter/],
      ['runbookBaseUrl=wiki/runbooks', /runbookBaseUrl/],
      ['extraLabel.team=platform', /extraLabel/],
    ])('refuses %s', async (set, message) => {
      const result = await helmTemplateResult([
        '--set',
        'metrics.prometheusRule.enabled=true',
        '--set',
        `metrics.prometheusRule.${set}`,
      ]);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(message);
    });

    it('the shipped file links the repository runbooks the chart default names', () => {
      for (const rule of rules.groups.flatMap((g) => g.rules) as RenderedRule[]) {
        expect(rule.annotations?.runbook_url?.startsWith(SHIPPED_BASE)).toBe(true);
      }
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
