// The key directory seen from outside, with the built sidecar and a real OpenBao: thousands of junk
// files beside the keys keep `/status` and the logs small, and a share used as a file name is never
// printed.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSecretVolume } from '../../harness/key-volume.js';
import { startOpenBao } from '../../harness/openbao.js';
import { waitFor } from '../../harness/ports.js';
import type { SidecarProcess } from '../../harness/sidecar-process.js';
import { expectNoLeaks, sidecarFor, tempDir, track } from './context.js';

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
