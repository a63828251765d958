// A key file swapped for a FIFO between `stat` and `open` (a symlink re-pointed by someone who can
// write the keys directory) must not block the reader: the check loop awaits it before every round.
// SECURITY.md, "a symlink or a giant file under the keys directory".
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readKeyFileText } from '../../../sidecar/key-files.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('readKeyFileText, handed what is no longer a regular file', () => {
  it('refuses a FIFO with no writer instead of waiting for one', async () => {
    dir = mkdtempSync(join(tmpdir(), 'key-swap-'));
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    // Without O_NONBLOCK the open never returns, and this test times out.
    await expect(readKeyFileText(fifo)).rejects.toMatchObject({ code: 'ENOTREG' });
  });

  it('refuses a symlink to a FIFO, and to a device', async () => {
    dir = mkdtempSync(join(tmpdir(), 'key-swap-'));
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    symlinkSync(join(dir, 'fifo'), join(dir, 'key-0'));
    symlinkSync('/dev/zero', join(dir, 'key-1'));
    await expect(readKeyFileText(join(dir, 'key-0'))).rejects.toMatchObject({ code: 'ENOTREG' });
    await expect(readKeyFileText(join(dir, 'key-1'))).rejects.toMatchObject({ code: 'ENOTREG' });
  });

  it('still reads a regular file', async () => {
    dir = mkdtempSync(join(tmpdir(), 'key-swap-'));
    writeFileSync(join(dir, 'key'), 'abc\n');
    await expect(readKeyFileText(join(dir, 'key'))).resolves.toBe('abc\n');
  });
});
