// SECURITY.md must agree with the repository: every file it links exists, every mitigation it
// numbers links at least one test, and the mitigations named in the threat model are the ones
// issue 13 asks for. The tests it links are what hold each mitigation to its word.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../harness/repo-root.js';

const ROOT = repoRoot();
const TEXT = readFileSync(join(ROOT, 'SECURITY.md'), 'utf8');

const links = (text: string): string[] =>
  [...text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
    .map((m) => m[1]!)
    .filter((target) => !/^[a-z]+:/.test(target));

/** Item n of the numbered list under "Each mitigation…": its text up to the next item. */
function item(n: number): string {
  const section = TEXT.slice(TEXT.indexOf('### Each mitigation'));
  const start = section.indexOf(`\n${n}. `);
  const end = section.indexOf(`\n${n + 1}. `);
  return start < 0 ? '' : section.slice(start, end < 0 ? section.indexOf('\n###', start) : end);
}

describe('SECURITY.md', () => {
  it('links only to files that exist', () => {
    expect(links(TEXT).filter((target) => !existsSync(join(ROOT, target)))).toEqual([]);
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8, 9])('mitigation %d links at least one test', (n) => {
    const text = item(n);
    expect(text, `item ${n}`).not.toBe('');
    const tests = links(text).filter(
      (t) => /\.test\.ts$/.test(t) || t.startsWith('scripts/images/') || t.startsWith('test/'),
    );
    expect(tests.length).toBeGreaterThan(0);
  });

  it.each([
    ['split custody', /split custody/i],
    ['the chart RBAC', /RBAC/],
    ['encryption at rest', /encryption at rest/i],
    ['no shell and a read-only root', /no shell and a read-only root/i],
    ['a /status that reveals no secret', /never a share or a token/],
    ['the pause switch', /pause switch/i],
    ['auto-unseal instead', /use Vault's own auto-unseal/],
    ['how to report', /## Reporting a vulnerability/],
    ['supported versions', /## Supported versions/],
    [
      "OpenBao's static seal, and when this project is still the better choice",
      /`static` seal[\s\S]*still the better choice/,
    ],
    ['the pause switch can be flipped both ways by patch pods', /pause switch, \*\*both ways\*\*/],
  ])('covers %s', (_name, pattern) => {
    expect(TEXT).toMatch(pattern);
  });

  it.each([
    'read Secrets in the Vault namespace',
    'exec into the Vault pod or the sidecar',
    "read the node's disk or etcd",
    "change the webhook's configuration or its Deployment",
    "send requests to the sidecar's HTTP port from another pod",
    'patch pods in the Vault namespace',
  ])('has a threat-model row for an attacker who can %s', (capability) => {
    expect(TEXT).toContain(capability);
  });
});
