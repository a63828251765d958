// The directory watcher on a real filesystem: native events (inotify), one watch per directory,
// and still every change that matters: the kubelet's `..data` swap, a plain write, a new file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { watchDirectories, type DirWatcher } from '../../../common/dir-watcher.js';
import { writeSecretVolume } from '../../harness/key-volume.js';
import { waitFor } from '../../harness/ports.js';

const resources = (kind: string): number =>
  process.getActiveResourcesInfo().filter((name) => name === kind).length;

let root: string;
let watcher: DirWatcher | undefined;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'vau-watch-'));
});
afterEach(async () => {
  await watcher?.close();
  watcher = undefined;
  // A closed native watch leaves the active-resource list a moment later: wait, so the next test
  // counts only its own.
  await waitFor(
    'the native watches to close',
    async () => (resources('FSEventWrap') === 0 ? true : undefined),
    { timeoutMs: 10_000, intervalMs: 20 },
  );
  rmSync(root, { recursive: true, force: true });
});

/** Watches `dirs`; resolves once the native watches are in place, with a change counter. */
async function watching(dirs: string[]): Promise<{ changes: () => number }> {
  const before = resources('FSEventWrap');
  let changes = 0;
  watcher = watchDirectories(dirs, () => (changes += 1), { debounceMs: 20 });
  await waitFor(
    'the native watches',
    async () => (resources('FSEventWrap') >= before + dirs.length ? true : undefined),
    { timeoutMs: 10_000, intervalMs: 20 },
  );
  return { changes: () => changes };
}

async function expectChange(counter: { changes: () => number }, change: () => void): Promise<void> {
  const before = counter.changes();
  change();
  await waitFor('a change event', async () => (counter.changes() > before ? true : undefined), {
    timeoutMs: 10_000,
    intervalMs: 20,
  });
}

describe('watchDirectories', () => {
  it.each([
    // Kubernetes' atomic writer: a new `..<timestamp>` directory, then `..data` renamed over.
    ['a kubelet `..data` swap', (dir: string) => writeSecretVolume(dir, { 'key-0': 'rekeyed' })],
    // A plain directory (a hostPath, a hand-made test): the file is rewritten in place.
    ['a plain write to an existing file', (dir: string) => writeFileSync(join(dir, 'plain'), 'v2')],
    ['a new file', (dir: string) => writeFileSync(join(dir, 'new'), 'x')],
  ])('sees %s', async (_name, change) => {
    writeSecretVolume(root, { 'key-0': 'first' });
    writeFileSync(join(root, 'plain'), 'v1');
    const counter = await watching([root]);
    await expectChange(counter, () => change(root));
  });

  it('sees a second `..data` swap as well as the first', async () => {
    writeSecretVolume(root, { 'key-0': 'first' });
    const counter = await watching([root]);
    await expectChange(counter, () => writeSecretVolume(root, { 'key-0': 'second' }));
    await expectChange(counter, () => writeSecretVolume(root, { 'key-0': 'third' }));
  });

  it('does not poll, and spends one native watch per directory however many files it holds', async () => {
    for (let i = 0; i < 1_000; i++) writeFileSync(join(root, `junk-${i}`), 'junk');
    writeSecretVolume(join(root, 'keys'), { 'key-0': 'a' });
    const before = resources('FSEventWrap');
    await watching([root, join(root, 'keys')]);
    expect(resources('StatWatcher')).toBe(0);
    expect(resources('FSEventWrap') - before).toBe(2);
  });
});
