// Each share remembers which key directory gave it, so the search can try one directory's sets
// before mixing directories (seal-round.groups.test.ts says why).
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildKeySnapshot, type DirReading } from '../../../sidecar/key-snapshot.js';
import { groupSizes } from '../../../sidecar/seal-round.js';

const dir = (path: string, count: number): DirReading => ({
  path,
  state: 'ok',
  entries: count,
  stopped: null,
  files: Array.from({ length: count }, (_, i) => ({
    path: `${path}/key-${i}`,
    outcome: {
      kind: 'shares',
      shares: [{ hex: randomBytes(33).toString('hex'), origin: `${path}/key-${i}` }],
    },
  })),
});

describe('shares know their key directory', () => {
  it('numbers the directories in UNSEAL_KEYS_DIR order, a missing one keeping its place', () => {
    const snapshot = buildKeySnapshot([
      dir('/keys/new', 5),
      { path: '/keys/gone', state: 'missing', reason: 'directory does not exist' },
      dir('/keys/previous', 3),
    ]);
    expect(snapshot.shares.map((s) => s.group)).toEqual([0, 0, 0, 0, 0, 2, 2, 2]);
    expect(groupSizes(snapshot.shares)).toEqual([5, 3]);
  });

  it('a share in two directories counts once, in the first', () => {
    const first = dir('/keys/a', 2);
    const copy = first.state === 'ok' ? first.files[0]! : undefined;
    const second = { ...dir('/keys/b', 1), files: [copy!] } as DirReading;
    const snapshot = buildKeySnapshot([first, second]);
    expect(snapshot.shares.map((s) => s.group)).toEqual([0, 0]);
  });
});
