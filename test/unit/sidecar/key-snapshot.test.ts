// The snapshot of the key directories: what it lists, what it counts, and how it tells a missing
// directory from loaded keys. Pure: readings in, snapshot out.
import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildKeySnapshot,
  fingerprintOf,
  type DirReading,
  type FileReading,
} from '../../../sidecar/key-snapshot.js';
import type { SourcedShare } from '../../../sidecar/key-parsing.js';

const share = (origin: string): SourcedShare => ({ hex: randomBytes(33).toString('hex'), origin });
const shareFile = (path: string): FileReading => ({
  path,
  outcome: { kind: 'shares', shares: [share(path)] },
});
const junkFile = (path: string): FileReading => ({
  path,
  outcome: { kind: 'invalid', reason: 'not a hex or base64 share' },
});
const okDir = (path: string, files: FileReading[], extra: Partial<DirReading> = {}): DirReading =>
  ({ path, state: 'ok', entries: files.length, files, stopped: null, ...extra }) as DirReading;

describe('buildKeySnapshot', () => {
  describe('when a directory is missing', () => {
    const snapshot = buildKeySnapshot([
      { path: '/keys/a', state: 'missing', reason: 'directory does not exist' },
      okDir('/keys/b', [shareFile('/keys/b/key-0')]),
    ]);

    it('says so per directory, apart from the keys that did load', () => {
      expect(snapshot.dirs).toEqual([
        {
          path: '/keys/a',
          state: 'missing',
          entries: 0,
          considered: 0,
          notRead: 0,
          problem: 'directory does not exist',
        },
        { path: '/keys/b', state: 'ok', entries: 1, considered: 1, notRead: 0, problem: null },
      ]);
      expect(snapshot.shares).toHaveLength(1);
    });

    it('still lists it among the unusable sources, and counts no file for it', () => {
      expect(snapshot.invalid).toEqual([{ path: '/keys/a', reason: 'directory does not exist' }]);
      expect(snapshot.counts).toEqual({
        sources: 1,
        invalidFiles: 0,
        notRead: 0,
        rootTokenFiles: 0,
      });
    });
  });

  describe('when a directory holds thousands of junk files', () => {
    const junk = Array.from({ length: 256 }, (_, i) => junkFile(`/keys/x-${i}`));
    const keys = [0, 1, 2].map((i) => shareFile(`/keys/key-${i}`));
    const snapshot = buildKeySnapshot([
      okDir('/keys', [...keys, ...junk], {
        entries: 10_003,
        stopped: { by: 'file-count', notRead: 9_744 },
      }),
    ]);

    it('lists the first 10 unusable files, then counts the rest, and says why files were not read', () => {
      expect(snapshot.invalid).toHaveLength(1 + 10 + 1);
      expect(snapshot.invalid[0]).toEqual({
        path: '/keys',
        reason: 'too many files in /keys: read the first 256 by name; 9,744 not read',
      });
      expect(snapshot.invalid.at(-1)).toEqual({
        path: '/keys',
        reason: '246 more unusable file(s) not listed',
      });
    });

    it('counts everything, whatever the lists show', () => {
      expect(snapshot.counts).toEqual({
        sources: 3,
        invalidFiles: 256,
        notRead: 9_744,
        rootTokenFiles: 0,
      });
      expect(snapshot.dirs?.[0]).toMatchObject({
        entries: 10_003,
        considered: 259,
        notRead: 9_744,
      });
      expect(snapshot.shares).toHaveLength(3);
    });
  });

  it('lists at most 10 sources per directory', () => {
    const files = Array.from({ length: 40 }, (_, i) => shareFile(`/keys/key-${i}`));
    const snapshot = buildKeySnapshot([okDir('/keys', files)]);
    expect(snapshot.sources).toHaveLength(10);
    expect(snapshot.counts?.sources).toBe(40);
    expect(snapshot.shares).toHaveLength(40);
  });

  it('says when the total size bound stopped the reading', () => {
    const snapshot = buildKeySnapshot([
      okDir('/keys', [shareFile('/keys/a')], {
        entries: 5,
        stopped: { by: 'total-bytes', notRead: 4 },
      }),
    ]);
    expect(snapshot.dirs?.[0]?.problem).toBe(
      'key files too large in total: stopped in /keys at 1,048,576 bytes after 1 file(s); 4 not read',
    );
  });

  it('gives each distinct share its first origin', () => {
    const one = share('/a/key-hex');
    const snapshot = buildKeySnapshot([
      okDir('/a', [{ path: '/a/key-hex', outcome: { kind: 'shares', shares: [one] } }]),
      okDir('/b', [
        {
          path: '/b/init.json',
          outcome: {
            kind: 'shares',
            shares: [{ ...one, origin: '/b/init.json#1' }, share('/b/init.json#2')],
          },
        },
      ]),
    ]);
    expect(snapshot.shares.map((s) => s.origin)).toEqual(['/a/key-hex', '/b/init.json#2']);
  });
});

describe('fingerprintOf', () => {
  const a = { hex: 'aa'.repeat(16) };
  const b = { hex: 'bb'.repeat(16) };

  it.each([
    // Order and duplicates of files do not matter: the set of shares does.
    ['the same set in another order', [a, b], [b, a], true],
    ['another set', [a, b], [a], false],
  ])('%s', (_name, left, right, same) => {
    expect(fingerprintOf(left) === fingerprintOf(right)).toBe(same);
  });

  it('holds no share material', () => {
    expect(fingerprintOf([a, b])).not.toContain('aa'.repeat(16));
    expect(fingerprintOf([])).toBe('');
  });

  // @noble/hashes, not node:crypto, computes it (the sidecar then loads no node:crypto over
  // http://): the same SHA-256 of the sorted shares joined by commas.
  it("is node:crypto's SHA-256 of the sorted shares, for any share set", () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[0-9a-f]{66}$/), { minLength: 1, maxLength: 10 }),
        (hexes) => {
          const joined = [...hexes].sort().join(',');
          const expected = createHash('sha256').update(joined).digest('hex');
          expect(fingerprintOf(hexes.map((hex) => ({ hex })))).toBe(expected);
        },
      ),
    );
  });
});
