// The key directory seen from outside, with the built sidecar and a real OpenBao: thousands of junk
// files beside the keys keep `/status` and the logs small, and a share used as a file name is never
// printed.
import { execFileSync } from 'node:child_process';
import { mkdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSecretVolume } from '../../harness/key-volume.js';
import { startOpenBao } from '../../harness/openbao.js';
import { waitFor } from '../../harness/ports.js';
import type { SidecarProcess } from '../../harness/sidecar-process.js';
import { expectNoLeaks, metricValue, sidecarFor, tempDir, track } from './context.js';

/** Bytes of the longest line the sidecar printed. */
const longestLine = (sidecar: SidecarProcess): number =>
  Math.max(
    ...`${sidecar.stdout()}\n${sidecar.stderr()}`
      .split('\n')
      .map((line) => Buffer.byteLength(line)),
  );

describe('a keys directory with 10,000 junk files beside the keys', () => {
  it('still loads the keys, and keeps /status and every log line small', async () => {
    const server = track(await startOpenBao({ storage: 'persistent' }));
    const init = await server.init(5, 3);
    const keysDir = tempDir('keys');
    // Two shares at first: the sidecar reports insufficient keys, the log line that lists files.
    writeSecretVolume(keysDir, { 'key-0': init.keysHex[0]!, 'key-1': init.keysHex[1]! });
    for (let i = 0; i < 10_000; i++) {
      writeFileSync(join(keysDir, `x-junk-${String(i).padStart(5, '0')}`), `junk ${i}\n`);
    }
    const sidecar = await sidecarFor(server.addr, keysDir);
    await waitFor('insufficient keys', async () =>
      (await sidecar.status()).state === 'insufficient-keys' ? true : undefined,
    );
    expect(sidecar.logs().some((l) => /insufficient keys/.test(String(l.msg)))).toBe(true);

    // The third share, written in place beside the junk.
    writeFileSync(join(keysDir, 'key-2'), init.keysHex[2]!);
    await server.waitUntil('unsealed', (s) => s.sealed === false, 30_000);

    const status = await sidecar.get('/status');
    const body = JSON.parse(status.text);
    expect(body.keys.loaded).toBe(3);
    expect(body.keys.invalidFiles).toContainEqual({
      path: keysDir,
      reason: `too many files in ${keysDir}: read the first 256 by name; 9,747 not read`,
    });
    // Before: 880 KB of /status and a log line as long. A few KiB now, whatever the directory holds.
    expect(Buffer.byteLength(status.text)).toBeLessThan(8_192);
    expect(longestLine(sidecar)).toBeLessThan(8_192);
    await expectNoLeaks(sidecar, init);
  });
});

describe('a share used as a key file name', () => {
  it('appears in no log line and not in /status, as hex or as base64', async () => {
    const server = track(await startOpenBao({ storage: 'persistent' }));
    // Ten shares, so that one has a base64 form without `/` (a file name cannot hold one).
    const init = await server.init(10, 3);
    const named = init.keysBase64.findIndex((b64) => !b64.includes('/'));
    expect(named).toBeGreaterThanOrEqual(0);
    const keysDir = tempDir('keys');
    writeSecretVolume(keysDir, {
      // Valid key files named after other shares: they show up among the sources.
      [init.keysHex[3]!]: init.keysHex[0]!,
      [init.keysHex[4]!.toUpperCase()]: init.keysHex[1]!,
      [init.keysBase64[named]!]: init.keysBase64[2]!,
      // Unusable files named after shares: they show up among the invalid files.
      [`${init.keysHex[5]!}.bak`]: 'not a key',
      [`${init.keysBase64[named]!}.old`]: 'not a key either',
    });
    const sidecar = await sidecarFor(server.addr, keysDir);
    await server.waitUntil('unsealed', (s) => s.sealed === false, 30_000);
    const status = await sidecar.status();
    expect(status.keys.loaded).toBe(3);
    expect(status.keys.invalidFiles).toHaveLength(2);
    expect(sidecar.logs().some((l) => /keys reloaded/.test(String(l.msg)))).toBe(true);
    await expectNoLeaks(sidecar, init);
  });
});

describe('entries that are not key files (issue 21, item 16)', () => {
  it('lists a FIFO, a sub-directory, a dangling symlink and a link out of the directory in /status, and uses none', async () => {
    const server = track(await startOpenBao({ storage: 'persistent' }));
    const init = await server.init(5, 3);
    const keysDir = tempDir('keys');
    // Two shares in the Secret-like volume; the third only behind a link out of it.
    writeSecretVolume(keysDir, { 'key-0': init.keysHex[0]!, 'key-1': init.keysHex[1]! });
    const elsewhere = tempDir('elsewhere');
    writeFileSync(join(elsewhere, 'share'), init.keysHex[2]!);
    symlinkSync(join(elsewhere, 'share'), join(keysDir, 'key-2'));
    // Never opened: opening a FIFO with no writer would block the reader for good.
    execFileSync('mkfifo', [join(keysDir, 'key-3')]);
    mkdirSync(join(keysDir, 'key-4'));
    symlinkSync('..data/key-5', join(keysDir, 'key-5'));

    const sidecar = await sidecarFor(server.addr, keysDir);
    const status = await waitFor('insufficient keys', async () => {
      const s = await sidecar.status();
      return s.state === 'insufficient-keys' ? s : undefined;
    });
    expect(status.keys.loaded).toBe(2);
    expect(status.keys.invalidFiles).toEqual([
      {
        path: join(keysDir, 'key-2'),
        reason: `symlink to ${join(realpathSync(elsewhere), 'share')}, outside the key directory: refused`,
      },
      { path: join(keysDir, 'key-3'), reason: 'not a regular file: a FIFO' },
      { path: join(keysDir, 'key-4'), reason: 'not a regular file: a directory' },
      { path: join(keysDir, 'key-5'), reason: 'symlink to a missing file' },
    ]);
    const metrics = await sidecar.metrics();
    expect(metricValue(metrics, 'vault_autounseal_key_files_invalid')).toBe(4);
    expect((await server.sealStatus()).sealed).toBe(true);

    // The third share moved into the volume: unsealed, the link's target never having been read.
    rmSync(join(keysDir, 'key-4'), { recursive: true });
    writeSecretVolume(keysDir, {
      'key-0': init.keysHex[0]!,
      'key-1': init.keysHex[1]!,
      'key-6': init.keysHex[2]!,
    });
    await server.waitUntil('unsealed', (s) => s.sealed === false, 30_000);
    await expectNoLeaks(sidecar, init);
  });
});
