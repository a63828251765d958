// Item 16 of issue 21: what a keys directory holds besides key files. Every entry that is not a
// regular file inside the directory is listed with the reason, and never opened; the kubelet's own
// symlinks (`name -> ..data/name`, `..data -> ..<timestamp>`) still load. Real files on disk.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeSecretVolume } from '../../harness/key-volume.js';
import { readKeyDirectories, type FileKey } from '../../../sidecar/key-files.js';
import {
  fileTypeName,
  isInside,
  notRegularReason,
  outsideReason,
} from '../../../sidecar/key-entry.js';

const newHex = (): string => randomBytes(33).toString('hex');

let root: string;
let keys: string;
let outside: string;
const servers: Server[] = [];
beforeEach(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'vau-keyentries-')));
  keys = join(root, 'keys');
  outside = join(root, 'keys-other');
  mkdirSync(keys);
  mkdirSync(outside);
});
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((r) => server.close(r));
  rmSync(root, { recursive: true, force: true });
});

/** Reads the directory, failing the test if anything but `allowed` names is opened. */
async function readOnly(
  allowed: readonly string[],
): Promise<Awaited<ReturnType<typeof readKeyDirectories>>> {
  return readKeyDirectories([keys], {
    readFile: async (path: string, expected?: FileKey) => {
      if (!allowed.some((name) => path.endsWith(`/${name}`))) {
        throw new Error(`opened ${path}, which is not a key file`);
      }
      expect(expected).toBeDefined();
      return readFile(path, 'utf8');
    },
  });
}

describe('a keys directory with entries that are not key files', () => {
  it('lists a FIFO, a socket, a sub-directory and a device with their type, opening none', async () => {
    const good = newHex();
    writeFileSync(join(keys, 'a-key'), good);
    execFileSync('mkfifo', [join(keys, 'b-fifo')]);
    const socket = createServer();
    servers.push(socket);
    await new Promise<void>((resolve) => socket.listen(join(keys, 'c-socket'), resolve));
    mkdirSync(join(keys, 'd-dir'));
    const snapshot = await readOnly(['a-key']);
    expect(snapshot.invalid).toEqual([
      { path: join(keys, 'b-fifo'), reason: 'not a regular file: a FIFO' },
      { path: join(keys, 'c-socket'), reason: 'not a regular file: a socket' },
      { path: join(keys, 'd-dir'), reason: 'not a regular file: a directory' },
    ]);
    expect(snapshot.counts?.invalidFiles).toBe(3);
    expect(snapshot.shares.map((s) => s.hex)).toEqual([good]);
  });

  it('lists a symlink to a FIFO inside the directory as a FIFO, without opening it', async () => {
    execFileSync('mkfifo', [join(keys, '.fifo')]);
    symlinkSync('.fifo', join(keys, 'key-0'));
    const snapshot = await readOnly([]);
    expect(snapshot.invalid).toEqual([
      { path: join(keys, 'key-0'), reason: 'not a regular file: a FIFO' },
    ]);
  });

  it('reports a dangling symlink as such, not as vanished', async () => {
    symlinkSync('..data/key-0', join(keys, 'key-0'));
    const snapshot = await readOnly([]);
    expect(snapshot.invalid).toEqual([
      { path: join(keys, 'key-0'), reason: 'symlink to a missing file' },
    ]);
  });

  it('reports a symlink loop by its error', async () => {
    symlinkSync('key-1', join(keys, 'key-0'));
    symlinkSync('key-0', join(keys, 'key-1'));
    const snapshot = await readOnly([]);
    expect(snapshot.invalid).toEqual([
      { path: join(keys, 'key-0'), reason: 'unreadable: ELOOP' },
      { path: join(keys, 'key-1'), reason: 'unreadable: ELOOP' },
    ]);
  });

  it.each([
    // [what the link points at, from the keys directory]
    ['an absolute path out of it', (): string => join(outside, 'share')],
    ['a relative path out of it', (): string => '../keys-other/share'],
    // A sibling whose name starts with the directory's own: not inside it.
    ['a sibling sharing its name as a prefix', (): string => `${keys}-other/share`],
  ])('refuses a symlink to %s, naming the target, and reads nothing', async (_what, target) => {
    writeFileSync(join(outside, 'share'), newHex());
    symlinkSync(target(), join(keys, 'key-0'));
    const snapshot = await readOnly([]);
    expect(snapshot.invalid).toEqual([
      { path: join(keys, 'key-0'), reason: outsideReason(join(outside, 'share')) },
    ]);
    expect(snapshot.shares).toEqual([]);
  });

  it('refuses a symlink to /etc/machine-id-like system files and to a device', async () => {
    symlinkSync('/dev/zero', join(keys, 'key-0'));
    symlinkSync('/etc/hostname', join(keys, 'key-1'));
    const snapshot = await readOnly([]);
    expect(snapshot.invalid.map((i) => i.reason)).toEqual([
      outsideReason('/dev/zero'),
      outsideReason('/etc/hostname'),
    ]);
  });

  it('refuses a symlink to a directory that leads out of it through a link inside', async () => {
    writeFileSync(join(outside, 'share'), newHex());
    symlinkSync(outside, join(keys, '.escape'));
    symlinkSync('.escape/share', join(keys, 'key-0'));
    const snapshot = await readOnly([]);
    expect(snapshot.invalid).toEqual([
      { path: join(keys, 'key-0'), reason: outsideReason(join(outside, 'share')) },
    ]);
  });

  it('does not show a share used as the name of an outside target', async () => {
    const share = newHex();
    writeFileSync(join(outside, share), newHex());
    symlinkSync(join(outside, share), join(keys, 'key-0'));
    const snapshot = await readOnly([]);
    expect(JSON.stringify(snapshot)).not.toContain(share);
    expect(snapshot.invalid[0]?.reason).toBe(outsideReason(join(outside, '[redacted]')));
  });
});

describe('symlinks that stay inside', () => {
  it("loads the kubelet's layout: name -> ..data/name -> ..<timestamp>/name", async () => {
    const good = newHex();
    writeSecretVolume(keys, { 'key-0': good });
    const snapshot = await readOnly(['key-0']);
    expect(snapshot.invalid).toEqual([]);
    expect(snapshot.shares.map((s) => s.hex)).toEqual([good]);
  });

  it('loads a relative link to a file in a sub-directory, and an absolute link inside', async () => {
    const [a, b] = [newHex(), newHex()];
    mkdirSync(join(keys, '.store'));
    writeFileSync(join(keys, '.store', 'a'), a);
    writeFileSync(join(keys, '.store', 'b'), b);
    symlinkSync('.store/a', join(keys, 'key-a'));
    symlinkSync(join(keys, '.store', 'b'), join(keys, 'key-b'));
    const snapshot = await readOnly(['a', 'b']);
    expect(snapshot.invalid).toEqual([]);
    expect(snapshot.shares.map((s) => s.hex).sort()).toEqual([a, b].sort());
  });

  it('judges by real paths when the keys directory is itself reached through a symlink', async () => {
    const good = newHex();
    writeSecretVolume(keys, { 'key-0': good });
    // An absolute link through the real path, read through a linked name of the directory.
    unlinkSync(join(keys, 'key-0'));
    symlinkSync(join(keys, '..data', 'key-0'), join(keys, 'key-0'));
    const linked = join(root, 'linked-keys');
    symlinkSync(keys, linked);
    const snapshot = await readKeyDirectories([linked]);
    expect(snapshot.invalid).toEqual([]);
    expect(snapshot.shares.map((s) => s.hex)).toEqual([good]);
  });
});

describe('the pure verdicts', () => {
  const kind = (name: string) => {
    const no = (): boolean => false;
    const base = {
      isFile: no,
      isDirectory: no,
      isFIFO: no,
      isSocket: no,
      isCharacterDevice: no,
      isBlockDevice: no,
    };
    return name === '' ? base : { ...base, [name]: (): boolean => true };
  };

  it.each([
    ['isDirectory', 'a directory'],
    ['isFIFO', 'a FIFO'],
    ['isSocket', 'a socket'],
    ['isCharacterDevice', 'a character device'],
    ['isBlockDevice', 'a block device'],
    // Neither of the above (a door on Solaris, a whiteout): still named, never read.
    ['', 'an unknown file type'],
  ])('%s is named %s', (method, name) => {
    expect(fileTypeName(kind(method))).toBe(name);
    expect(notRegularReason(kind(method))).toBe(`not a regular file: ${name}`);
  });

  it.each([
    ['/keys', '/keys/a', true],
    ['/keys/', '/keys/a', true],
    ['/keys', '/keys/..2026_01_01/a', true],
    // The directory itself, and its parent: not inside.
    ['/keys', '/keys', false],
    ['/keys/', '/keys/', false],
    ['/keys', '/', false],
    // A sibling sharing the prefix.
    ['/keys', '/keys-other/a', false],
    ['/keys', '/keysa', false],
    ['/keys', '/etc/machine-id', false],
  ])('isInside(%s, %s) is %s', (dir, target, inside) => {
    expect(isInside(dir, target)).toBe(inside);
  });
});
