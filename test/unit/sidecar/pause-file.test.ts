// The pause-file reader on a real directory: what it reports, and that its cache never hides a
// change (it re-reads a file changed in the last 2 s, and any file whose stat changed).
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeAnnotationsVolume } from '../../harness/key-volume.js';
import { createPauseFileReader } from '../../../sidecar/pause-file.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'vau-podinfo-'));
  dirs.push(dir);
  return dir;
};
const paused = (value: string) => ({ 'vault-autounseal.io/paused': value });

describe('createPauseFileReader', () => {
  it('follows every atomic update of the kubelet volume, however quick', async () => {
    const dir = tempDir();
    const read = createPauseFileReader(dir);
    writeAnnotationsVolume(dir, paused('true'));
    expect(await read()).toMatchObject({ kind: 'read', state: { paused: true } });
    writeAnnotationsVolume(dir, paused('false'));
    expect(await read()).toMatchObject({ kind: 'read', state: { paused: false } });
    writeAnnotationsVolume(dir, paused('true'));
    expect(await read()).toMatchObject({ kind: 'read', state: { paused: true } });
  });

  it('re-reads a file rewritten in place with the same size and an old timestamp', async () => {
    const dir = tempDir();
    const file = join(dir, 'annotations');
    writeFileSync(file, 'vault-autounseal.io/paused="true"\n');
    const old = new Date(Date.now() - 60_000);
    utimesSync(file, old, old);
    const read = createPauseFileReader(dir);
    expect(await read()).toMatchObject({ state: { paused: true } });
    // Same size, same mtime set back: ctime still moves, and so does the identity.
    writeFileSync(file, 'vault-autounseal.io/paused="fals"\n');
    utimesSync(file, old, old);
    expect(await read()).toMatchObject({ state: { paused: true, unrecognisedValue: 'fals' } });
  });

  it.each([
    ['no pod-info directory at all', (_dir: string) => undefined, { kind: 'no-volume' }],
    [
      'a directory without the file',
      (dir: string) => mkdirSync(dir, { recursive: true }),
      { kind: 'unreadable' },
    ],
    [
      'a directory where the file should be',
      (dir: string) => mkdirSync(join(dir, 'annotations'), { recursive: true }),
      { kind: 'unreadable' },
    ],
  ])('reports %s', async (_name, arrange, expected) => {
    const dir = join(tempDir(), 'podinfo');
    arrange(dir);
    expect(await createPauseFileReader(dir)()).toMatchObject(expected);
  });
});
