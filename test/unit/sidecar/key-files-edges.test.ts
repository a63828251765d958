// What the key-directory reader says about entries it cannot use: each is named with the reason an
// operator can act on, and the usable key files beside it still load. Temporary directories.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readKeyDirectories, readKeyFileText } from '../../../sidecar/key-files.js';
import { MAX_KEY_FILE_BYTES } from '../../../sidecar/key-parsing.js';

const newHex = (): string => randomBytes(33).toString('hex');

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'vau-keyedges-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('a key file that fails to read', () => {
  it.each([
    // [the error's code, the reason shown]
    ['EACCES', 'unreadable: permission denied'],
    ['EPERM', 'unreadable: permission denied'],
    // Listed, then gone before it was opened (a kubelet swap in between).
    ['ENOENT', 'vanished while reading'],
    // Swapped for a FIFO or a device after `stat` (readKeyFileText's own check).
    ['ENOTREG', 'not a regular file'],
    // Not the file that was checked (a directory on the way re-pointed after the check).
    ['ECHANGED', 'replaced while reading'],
    ['EIO', 'unreadable: EIO'],
    [undefined, 'unreadable: error'],
  ])('%s: is named as "%s", and the other keys load', async (code, reason) => {
    const good = newHex();
    writeFileSync(join(root, 'key-0'), good);
    writeFileSync(join(root, 'key-1'), newHex());
    const snapshot = await readKeyDirectories([root], {
      readFile: async (path) => {
        if (path.endsWith('key-1')) throw Object.assign(new Error('failed'), { code });
        return readFile(path, 'utf8');
      },
    });
    expect(snapshot.invalid).toEqual([{ path: join(root, 'key-1'), reason }]);
    expect(snapshot.shares.map((s) => s.hex)).toEqual([good]);
  });
});

describe('entries that are not key files', () => {
  it('lists a directory named like a key file as not a regular file, and uses the others', async () => {
    const good = newHex();
    writeFileSync(join(root, 'key-0'), good);
    mkdirSync(join(root, 'key-1'));
    const snapshot = await readKeyDirectories([root]);
    expect(snapshot.invalid).toEqual([
      { path: join(root, 'key-1'), reason: 'not a regular file: a directory' },
    ]);
    expect(snapshot.shares.map((s) => s.hex)).toEqual([good]);
  });

  it('refuses a file above the size limit unread, and it uses none of the total budget', async () => {
    writeFileSync(join(root, 'a-big'), 'x'.repeat(MAX_KEY_FILE_BYTES + 1));
    const good = newHex();
    writeFileSync(join(root, 'b-key'), good);
    const snapshot = await readKeyDirectories([root], {
      // Room for the real key file only: the big one must not have eaten into it.
      limits: { filesPerDirectory: 256, totalBytes: 200, listed: 20 },
      readFile: async (path) => {
        if (path.endsWith('a-big')) throw new Error('a file above the limit was read');
        return readFile(path, 'utf8');
      },
    });
    expect(snapshot.invalid).toEqual([{ path: join(root, 'a-big'), reason: 'too large' }]);
    expect(snapshot.shares.map((s) => s.hex)).toEqual([good]);
  });

  it('reports a key "directory" that is a file as not a directory', async () => {
    const file = join(root, 'keys');
    writeFileSync(file, newHex());
    const snapshot = await readKeyDirectories([file]);
    expect(snapshot.shares).toEqual([]);
    expect(snapshot.dirs).toEqual([
      expect.objectContaining({ path: file, state: 'not-a-directory', problem: 'not a directory' }),
    ]);
  });
});

describe('readKeyFileText', () => {
  it('refuses a file that is not the one checked (another device and inode)', async () => {
    writeFileSync(join(root, 'key'), newHex());
    writeFileSync(join(root, 'other'), newHex());
    const other = statSync(join(root, 'other'), { bigint: true });
    await expect(
      readKeyFileText(join(root, 'key'), { dev: other.dev, ino: other.ino }),
    ).rejects.toMatchObject({ code: 'ECHANGED' });
    const same = statSync(join(root, 'key'), { bigint: true });
    await expect(
      readKeyFileText(join(root, 'key'), { dev: same.dev, ino: same.ino }),
    ).resolves.toHaveLength(66);
  });

  it('refuses what is not a regular file once opened (ENOTREG), reading nothing', async () => {
    mkdirSync(join(root, 'swapped'));
    await expect(readKeyFileText(join(root, 'swapped'))).rejects.toMatchObject({
      code: 'ENOTREG',
    });
  });
});
