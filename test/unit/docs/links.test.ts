// The operator docs link each other a lot (README → quick start, runbooks, day-2 guides; the guides
// back into README sections). Every relative link in them must reach a file that exists, and every
// `#anchor` into a Markdown file must name one of its headings, as GitHub renders them. Moving a
// section (the README's tests moved to docs/contributing.md) breaks links; this finds them.
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../harness/repo-root.js';

const ROOT = repoRoot();
const md = (dir: string): string[] =>
  readdirSync(join(ROOT, dir))
    .filter((f) => f.endsWith('.md'))
    .map((f) => join(ROOT, dir, f));
const FILES = [
  join(ROOT, 'README.md'),
  join(ROOT, 'SECURITY.md'),
  join(ROOT, 'deploy', 'README.md'),
  ...md('docs'),
  ...md(join('docs', 'runbooks')),
];

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function withoutCode(text: string): string {
  return text.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
}

function anchors(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)));
}

/** The broken links of one file, as "file: target". */
function broken(file: string): string[] {
  const found: string[] = [];
  const text = withoutCode(readFileSync(file, 'utf8'));
  for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (target === undefined || /^[a-z]+:/.test(target)) continue;
    const [path = '', anchor] = target.split('#');
    const dest = path === '' ? file : resolve(dirname(file), path);
    const name = `${relative(ROOT, file)}: ${target}`;
    if (!existsSync(dest)) {
      found.push(name);
      continue;
    }
    if (anchor && dest.endsWith('.md') && statSync(dest).isFile() && !anchors(dest).has(anchor))
      found.push(`${name} (no such heading)`);
  }
  return found;
}

describe('links in the docs', () => {
  it('slug() renders headings as GitHub does', () => {
    expect(slug('Roll the sidecars: standbys first')).toBe('roll-the-sidecars-standbys-first');
    expect(slug('Coverage (`npm run coverage`)')).toBe('coverage-npm-run-coverage');
    expect(slug('What it is, and when not to use it')).toBe('what-it-is-and-when-not-to-use-it');
  });

  it('finds a missing file and a missing heading (else it checks nothing)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'links-'));
    try {
      const file = join(dir, 'page.md');
      writeFileSync(
        file,
        '# Page\n\n## A section\n\n[ok](#a-section) [gone](nowhere.md) [bad](page.md#no-such)\n',
      );
      expect(broken(file).map((b) => b.split(': ')[1])).toEqual([
        'nowhere.md',
        'page.md#no-such (no such heading)',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(FILES.length).toBeGreaterThan(20);
  });

  it.each(FILES.map((f) => [relative(ROOT, f), f]))(
    '%s links only to what exists',
    (_name, file) => {
      expect(broken(file)).toEqual([]);
    },
  );
});
