// The key-directory reader on a real filesystem: bounded reads, the per-file cache, scrubbed paths
// and per-directory states. Temporary directories; no server.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeSecretVolume } from '../../harness/key-volume.js';
import { createKeyReader, readKeyDirectories } from '../../../sidecar/key-files.js';
import { displayPath } from '../../../sidecar/display-path.js';

const newShare = (): Buffer => randomBytes(33);
const hexOf = (share: Buffer): string => share.toString('hex');
/** A share whose base64 holds no `/`, so it can be a file name. */
function nameableShare(): Buffer {
  for (;;) {
    const share = newShare();
    if (!share.toString('base64').includes('/')) return share;
  }
}

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'vau-keyfiles-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Everything in a snapshot that is shown to people: not the shares themselves. */
const shown = (snapshot: Awaited<ReturnType<typeof readKeyDirectories>>): string =>
  JSON.stringify({
    sources: snapshot.sources,
    invalid: snapshot.invalid,
    dirs: snapshot.dirs,
    origins: snapshot.shares.map((s) => s.origin),
  });

describe('readKeyDirectories', () => {
  it('reads hex, base64 and init JSON, skips dot-files, and labels every share with its origin', async () => {
    const [a, b, c, d] = [newShare(), newShare(), newShare(), newShare()];
    writeSecretVolume(root, {
      'key-0': hexOf(a),
      'key-1': b.toString('base64'),
      'init.json': JSON.stringify({ unseal_keys_hex: [hexOf(c), hexOf(d)] }),
    });
    writeFileSync(join(root, '.editor.swp'), 'junk');
    const snapshot = await readKeyDirectories([root]);
    expect(snapshot.shares.map((s) => [s.hex, s.origin])).toEqual([
      [hexOf(c), `${root}/init.json#1`],
      [hexOf(d), `${root}/init.json#2`],
      [hexOf(a), `${root}/key-0`],
      [hexOf(b), `${root}/key-1`],
    ]);
    expect(snapshot.invalid).toEqual([]);
    expect(snapshot.dirs).toEqual([
      { path: root, state: 'ok', entries: 3, considered: 3, notRead: 0, problem: null },
    ]);
  });

  it.each([
    // The operator mistyped the path, or the Secret volume is not mounted.
    ['missing', (dir: string) => join(dir, 'absent'), 'directory does not exist'],
    // A file where a directory was expected.
    [
      'not-a-directory',
      (dir: string) => {
        writeFileSync(join(dir, 'file'), 'x');
        return join(dir, 'file');
      },
      'not a directory',
    ],
  ])('tells a %s directory apart from loaded keys', async (state, make, problem) => {
    const dir = make(root);
    const snapshot = await readKeyDirectories([dir]);
    expect(snapshot.dirs).toEqual([
      { path: dir, state, entries: 0, considered: 0, notRead: 0, problem },
    ]);
    expect(snapshot.shares).toEqual([]);
  });

  describe('with 10,000 junk files beside 3 keys', () => {
    const keys = [newShare(), newShare(), newShare()];
    // 10,000 files take a second alone, and many more on a loaded 2-core machine: past the unit
    // project's 10 s default for hooks, where it once failed.
    beforeEach(() => {
      keys.forEach((k, i) => writeFileSync(join(root, `key-${i}`), hexOf(k)));
      for (let i = 0; i < 10_000; i++) {
        writeFileSync(join(root, `x-junk-${String(i).padStart(5, '0')}`), `junk ${i}\n`);
      }
    }, 120_000);

    it('loads the keys, reads only the first 256 names, and says so', async () => {
      const snapshot = await readKeyDirectories([root]);
      expect(snapshot.shares.map((s) => s.hex)).toEqual(keys.map(hexOf));
      expect(snapshot.counts).toEqual({
        sources: 3,
        invalidFiles: 253,
        notRead: 9_747,
        rootTokenFiles: 0,
      });
      expect(snapshot.dirs?.[0]?.problem).toBe(
        `too many files in ${root}: read the first 256 by name; 9,747 not read`,
      );
    });

    it('keeps what it lists small', async () => {
      const snapshot = await readKeyDirectories([root]);
      expect(snapshot.sources).toHaveLength(3);
      // The directory's problem, 10 files, and the count of the rest.
      expect(snapshot.invalid).toHaveLength(12);
      expect(shown(snapshot).length).toBeLessThan(4_096);
    });
  });

  it('does not read keys that sort past the bound, and says how many it left', async () => {
    for (let i = 0; i < 300; i++) writeFileSync(join(root, `a-junk-${i}`), 'junk');
    writeFileSync(join(root, 'key-0'), hexOf(newShare()));
    const snapshot = await readKeyDirectories([root]);
    expect(snapshot.shares).toEqual([]);
    expect(snapshot.counts?.notRead).toBe(45);
    expect(snapshot.invalid[0]?.reason).toBe(
      `too many files in ${root}: read the first 256 by name; 45 not read`,
    );
  });

  it('stops at 1 MiB of key files in total', async () => {
    const big = `{"keys":[]${' '.repeat(60_000)}}`;
    for (let i = 0; i < 20; i++)
      writeFileSync(join(root, `big-${String(i).padStart(2, '0')}`), big);
    const snapshot = await readKeyDirectories([root]);
    // 17 files of 60,010 bytes fit in 1,048,576; the 18th does not.
    expect(snapshot.dirs?.[0]).toMatchObject({ considered: 17, notRead: 3 });
    expect(snapshot.dirs?.[0]?.problem).toMatch(/^key files too large in total: stopped in /);
  });

  describe('a share used as a file name', () => {
    it.each([
      ['hex', (s: Buffer) => hexOf(s)],
      ['upper-case hex', (s: Buffer) => hexOf(s).toUpperCase()],
      ['base64', (s: Buffer) => s.toString('base64')],
    ])('is never shown when written as %s', async (_form, nameOf) => {
      const secret = nameableShare();
      const dir = join(root, 'keys');
      mkdirSync(dir);
      // One valid file named after the share, one invalid file named after it too.
      writeFileSync(join(dir, nameOf(secret)), hexOf(newShare()));
      writeFileSync(join(dir, `${nameOf(secret)}.bak`), 'junk');
      const snapshot = await readKeyDirectories([dir]);
      expect(snapshot.shares).toHaveLength(1);
      const text = shown(snapshot);
      for (const form of [hexOf(secret), secret.toString('base64'), hexOf(secret).slice(0, 16)]) {
        expect(text.toLowerCase()).not.toContain(form.toLowerCase());
      }
      expect(snapshot.shares[0]?.origin).toBe(`${dir}/[redacted]`);
    });
  });
});

describe('createKeyReader: re-reading only what changed', () => {
  /** A reader that counts the files it reads; the clock is far ahead, so no file is "racy". */
  function countingReader(dirs: string[], now = (): number => Date.now() + 60_000) {
    const reads: string[] = [];
    const readFile = async (path: string): Promise<string> => {
      reads.push(path);
      const { readFile: read } = await import('node:fs/promises');
      return read(path, 'utf8');
    };
    return { read: createKeyReader(dirs, { readFile, now }), reads };
  }

  it('parses each file once while nothing changes', async () => {
    writeSecretVolume(root, { 'key-0': hexOf(newShare()), 'key-1': hexOf(newShare()) });
    const { read, reads } = countingReader([root]);
    const first = await read();
    const second = await read();
    expect(reads).toHaveLength(2);
    expect(second.fingerprint).toBe(first.fingerprint);
    expect(second.shares).toEqual(first.shares);
  });

  it('re-parses only the file written in place', async () => {
    writeFileSync(join(root, 'key-0'), hexOf(newShare()));
    writeFileSync(join(root, 'key-1'), hexOf(newShare()));
    const { read, reads } = countingReader([root]);
    const before = await read();
    reads.length = 0;
    const replacement = newShare();
    // A different size, so the change shows even on a filesystem with coarse timestamps.
    writeFileSync(join(root, 'key-1'), `${hexOf(replacement)}\n`);
    const after = await read();
    expect(reads).toEqual([join(root, 'key-1')]);
    expect(after.shares.map((s) => s.hex)).toContain(hexOf(replacement));
    expect(after.fingerprint).not.toBe(before.fingerprint);
  });

  it('sees a kubelet `..data` swap (new files behind the same names)', async () => {
    writeSecretVolume(root, { 'key-0': hexOf(newShare()) });
    const { read, reads } = countingReader([root]);
    await read();
    reads.length = 0;
    const rekeyed = newShare();
    writeSecretVolume(root, { 'key-0': hexOf(rekeyed) });
    const after = await read();
    // Read once, by its real path: in the new `..<timestamp>` directory the swap made.
    expect(reads).toEqual([expect.stringMatching(/\/\.\.[^/]+\/key-0$/)]);
    expect(reads[0]?.startsWith(`${realpathSync(root)}/`)).toBe(true);
    expect(after.shares.map((s) => s.hex)).toEqual([hexOf(rekeyed)]);
  });

  it('keeps the fingerprint when only junk changes', async () => {
    writeFileSync(join(root, 'key-0'), hexOf(newShare()));
    const { read } = countingReader([root]);
    const before = await read();
    writeFileSync(join(root, 'junk'), 'not a key');
    const after = await read();
    expect(after.fingerprint).toBe(before.fingerprint);
    expect(after.invalid).toEqual([
      { path: join(root, 'junk'), reason: 'not a hex or base64 share' },
    ]);
  });

  it('does not trust the cache for a file changed moments ago (it may change again unseen)', async () => {
    writeFileSync(join(root, 'key-0'), hexOf(newShare()));
    const { read, reads } = countingReader([root], Date.now);
    await read();
    await read();
    expect(reads).toHaveLength(2);
  });
});

describe('displayPath', () => {
  it.each([
    // Ordinary paths stay readable, though `/var/run/secrets/vault` is one long run of base64 characters.
    ['/var/run/secrets/vault/unseal-keys/key-0', '/var/run/secrets/vault/unseal-keys/key-0'],
    [`/keys/${'ab'.repeat(33)}`, '/keys/[redacted]'],
    [`/keys/${Buffer.alloc(33, 7).toString('base64')}`, '/keys/[redacted]'],
    [`/keys/key-${'ab'.repeat(16)}.txt`, '/keys/key-[redacted].txt'],
  ])('%s → %s', (path, expected) => {
    expect(displayPath(path)).toBe(expected);
  });
});
