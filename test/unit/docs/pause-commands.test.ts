// Every documented command that sets the pause switch must work as written on a real cluster:
// the example values set `vault-autounseal.io/paused: "false"` from the start, so `kubectl annotate`
// without --overwrite fails there; and pods opted in by a namespace label carry no inject label, so
// a selector on it leaves their sidecars running. Pods are selected by the label the webhook puts on
// every pod it injects. test/e2e/pause-runbook.test.ts runs the runbook's commands for real.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
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

/** Each `kubectl … annotate …` command of a text, with its backslash-continued lines joined. */
export function annotateCommands(text: string): string[] {
  // Outside fenced blocks, an inline code span the editor wrapped over two lines is one command.
  const joined = text
    .split(/(```[\s\S]*?```)/)
    .map((part, i) =>
      i % 2 === 1 ? part : part.replace(/`[^`]+`/g, (code) => code.replace(/\n\s*/g, ' ')),
    )
    .join('');
  return joined
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .flatMap((line) => [...line.matchAll(/kubectl\b[^`|;\n]*?\bannotate\b[^`|;\n]*/g)])
    .map((m) => m[0].trim());
}

const commands = FILES.flatMap((file) =>
  annotateCommands(readFileSync(file, 'utf8')).map((command) => ({
    file: relative(ROOT, file),
    command,
  })),
);
const setting = commands.filter((c) => /vault-autounseal\.io\/paused=\S/.test(c.command));

describe('documented pause commands', () => {
  it('finds the commands (else this checks nothing)', () => {
    expect(annotateCommands('run `kubectl -n x annotate pod a k=v --overwrite`, then')).toEqual([
      'kubectl -n x annotate pod a k=v --overwrite',
    ]);
    expect(setting.length).toBeGreaterThan(4);
  });

  it('every command that sets vault-autounseal.io/paused has --overwrite', () => {
    expect(setting.filter((c) => !c.command.includes('--overwrite'))).toEqual([]);
  });

  it('no command selects pods by the inject label: the injected label finds every opt-in', () => {
    expect(commands.filter((c) => /-l\s+vault-autounseal\.io\/inject=/.test(c.command))).toEqual(
      [],
    );
    expect(setting.some((c) => c.command.includes('-l vault-autounseal.io/injected=true'))).toBe(
      true,
    );
  });
});
