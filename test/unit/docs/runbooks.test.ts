// Every alert the chart ships and every state of /status has a runbook under docs/runbooks/, in the
// same shape (what you see, confirm, act, verify), and each alert's runbook_url annotation points
// at its own. A new alert or state without a runbook fails here; a new UnsealerState without a row
// below fails the typecheck.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { UnsealerState } from '../../../sidecar/unsealer.js';
import { repoRoot } from '../../harness/repo-root.js';

const ROOT = repoRoot();
const RUNBOOKS = join(ROOT, 'docs', 'runbooks');
const RULES = join(ROOT, 'deploy', 'helm', 'vault-autounseal', 'files', 'prometheus-rules.yaml');
/** Where the runbooks are read on the web; alerts link there (Alertmanager has no repository). */
export const RUNBOOK_BASE =
  'https://github.com/vault-autounseal/vault-autounseal/blob/main/docs/runbooks/';

const STATES: Record<UnsealerState, true> = {
  starting: true,
  unreachable: true,
  'not-initialized': true,
  'recovery-seal': true,
  unsealed: true,
  paused: true,
  'insufficient-keys': true,
  'wrong-keys': true,
  'backing-off': true,
  unsealing: true,
  'awaiting-unseal': true,
};

/** The scenarios issue 13 asks for, each a runbook of its own or a state's. */
const SCENARIOS = [
  'wrong-keys-after-rekey.md',
  'state-insufficient-keys.md',
  'sealed-node-not-coming-back.md',
  'emergency-seal.md',
  'webhook-outage.md',
  'certificate-rotation.md',
  'existing-statefulset-ondelete.md',
  'liveness-probe-restarts-sealed.md',
];

const SECTIONS = ['## What you see', '## Confirm', '## Act', '## Verify'];

interface Rule {
  alert?: string;
  annotations?: Record<string, string>;
}
const rules = (parseYaml(readFileSync(RULES, 'utf8')) as { groups: { rules: Rule[] }[] }).groups
  .flatMap((g) => g.rules)
  .filter((r) => r.alert !== undefined);

/** The problems of one runbook: missing, sections out of order, links to nowhere. */
function problems(file: string): string[] {
  const path = join(RUNBOOKS, file);
  if (!existsSync(path)) return [`${file} is missing`];
  const text = readFileSync(path, 'utf8');
  const found: string[] = [];
  const at = SECTIONS.map((heading) => text.split('\n').indexOf(heading));
  if (at.some((i) => i < 0)) found.push(`${file}: lacks one of ${SECTIONS.join(', ')}`);
  if (at.some((i, n) => n > 0 && i <= (at[n - 1] ?? -1)))
    found.push(`${file}: sections out of order`);
  for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
    if (target === undefined || /^[a-z]+:/.test(target)) continue;
    if (!existsSync(resolve(dirname(path), target))) found.push(`${file}: broken link ${target}`);
  }
  return found;
}

describe('runbooks', () => {
  it('the chart ships alerts (else this test checks nothing)', () => {
    expect(rules.length).toBeGreaterThan(5);
  });

  it.each(rules.map((r) => [r.alert!, r] as const))(
    'alert %s has a runbook, and its runbook_url points at it',
    (alert, rule) => {
      const file = `alert-${alert}.md`;
      expect(rule.annotations?.runbook_url).toBe(`${RUNBOOK_BASE}${file}`);
      expect(problems(file)).toEqual([]);
      expect(readFileSync(join(RUNBOOKS, file), 'utf8')).toContain(alert);
    },
  );

  it.each(Object.keys(STATES))('state %s has a runbook', (state) => {
    const file = `state-${state}.md`;
    expect(problems(file)).toEqual([]);
    expect(readFileSync(join(RUNBOOKS, file), 'utf8')).toContain(`"state": "${state}"`);
  });

  it.each(SCENARIOS)('scenario %s has a runbook', (file) => {
    expect(problems(file)).toEqual([]);
  });

  it('the index links every runbook, and every runbook has its shape', () => {
    const index = readFileSync(join(RUNBOOKS, 'README.md'), 'utf8');
    const files = readdirSync(RUNBOOKS).filter((f) => f.endsWith('.md') && f !== 'README.md');
    expect(files.filter((f) => !index.includes(`](${f})`))).toEqual([]);
    expect(files.flatMap(problems)).toEqual([]);
  });
});
