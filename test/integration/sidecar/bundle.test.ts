// The images run each program as one bundled file (dist/bundle/<program>.mjs, scripts/bundle.mjs),
// in which node-vault's axios is a stub that throws if called. The other integration tests run the
// tsc output; these run the bundle itself against a real OpenBao, over plain HTTP and over TLS, so
// a bundling mistake (a dependency left out, the stub reached) fails here and not first in a pod.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSecretVolume } from '../../harness/key-volume.js';
import { startOpenBao } from '../../harness/openbao.js';
import { waitFor } from '../../harness/ports.js';
import { repoRoot } from '../../harness/repo-root.js';
import { startSidecar } from '../../harness/sidecar-process.js';
import { createTestCa } from '../../harness/test-ca.js';
import { expectNoLeaks, metricValue, tempDir, track } from './context.js';

const BUNDLE = join(repoRoot(), 'dist', 'bundle', 'sidecar.mjs');

describe('the sidecar bundle (what the image runs)', () => {
  it('holds no axios, and lists node-vault among the packages inside it', () => {
    const list = JSON.parse(
      readFileSync(join(repoRoot(), 'dist', 'bundle', 'sidecar.packages.json'), 'utf8'),
    ) as { packages: Array<{ name: string }> };
    const names = list.packages.map((p) => p.name);
    expect(names).toContain('node-vault');
    expect(names).toContain('fastify');
    expect(names).not.toContain('axios');
    expect(names).not.toContain('follow-redirects');
  });

  it('prints its version', () => {
    const printed = execFileSync(process.execPath, [BUNDLE, '--version'], { encoding: 'utf8' });
    expect(printed).toMatch(/^vault-autounseal-sidecar \d+\.\d+\.\d+\S* \(revision \S+\)\n$/);
  });

  it.each(['http', 'https'] as const)('unseals a real OpenBao over %s', async (scheme) => {
    const serverName = 'vault.test';
    const ca = scheme === 'https' ? await createTestCa('bundle test CA') : undefined;
    const cert = await ca?.issue({ commonName: serverName, dnsNames: [serverName] });
    const server = track(
      await startOpenBao({
        storage: 'persistent',
        ...(ca && cert
          ? { tls: { certPem: cert.certPem, keyPem: cert.keyPem, caPem: ca.certPem, serverName } }
          : {}),
      }),
    );
    const init = await server.init(5, 3);
    const keysDir = tempDir('bundle-keys');
    writeSecretVolume(keysDir, { 'init.json': init.rawJson });
    // What Node loaded, written when the sidecar exits (docs/footprint.md: over http:// it loads no
    // TLS, HTTP/2, undici or crypto, about 8 MiB on Node 24).
    const probeDir = tempDir('bundle-modules');
    const loadedFile = join(probeDir, 'loaded.json');
    const preload = join(probeDir, 'record-modules.cjs');
    writeFileSync(
      preload,
      `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(loadedFile)}, JSON.stringify(process.moduleLoadList)));\n`,
    );
    const sidecar = track(
      await startSidecar(
        {
          VAULT_ADDR: server.addr,
          UNSEAL_KEYS_DIR: keysDir,
          UNSEAL_PODINFO_DIR: join(tempDir('podinfo'), 'absent'),
          UNSEAL_INTERVAL: '1s',
          NODE_OPTIONS: `--require ${preload}`,
          ...(ca ? { VAULT_CACERT: server.caFile, VAULT_TLS_SERVER_NAME: serverName } : {}),
        },
        { entry: BUNDLE },
      ),
    );
    expect(server.addr.startsWith(`${scheme}://`)).toBe(true);
    await server.waitUntil('unsealed', (s) => s.sealed === false);
    await waitFor('/status to show unsealed', async () =>
      (await sidecar.status()).state === 'unsealed' ? true : undefined,
    );
    const metrics = await sidecar.metrics();
    expect(metricValue(metrics, 'vault_autounseal_vault_sealed')).toBe(0);
    expect(metrics).toMatch(/^vault_autounseal_build_info\{/m);
    expect(sidecar.stdout() + sidecar.stderr()).not.toContain('axios');
    await expectNoLeaks(sidecar, init);
    expect(await sidecar.stop()).toBe(0);
    const loaded = (JSON.parse(readFileSync(loadedFile, 'utf8')) as string[]).filter((m) =>
      /^NativeModule (crypto|tls|https|http2|internal\/deps\/undici\/undici)$/.test(m),
    );
    // Over TLS it needs tls and https (and so crypto); over plain HTTP none of them.
    if (scheme === 'http') expect(loaded).toEqual([]);
    else expect(loaded).toEqual(expect.arrayContaining(['NativeModule tls']));
  });
});
