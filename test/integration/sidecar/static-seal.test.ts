// OpenBao's `static` seal, which SECURITY.md offers OpenBao users as the same trust model as this
// project with no sidecar or webhook, and the two things SECURITY.md says about it, on the real
// server of this run (`npm test`: OpenBao; `npm run test:vault`: HashiCorp Vault):
//   - OpenBao unseals itself from a 32-byte key file at every start; after `operator seal` it stays
//     sealed only until its next start. HashiCorp Vault does not know the seal type.
//   - beside it, a Shamir server whose sidecar is paused stays sealed across a restart: the pause
//     switch holds an emergency seal that a static seal gives back at the next start.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeAnnotationsVolume, writeSecretVolume } from '../../harness/key-volume.js';
import { OpenBaoServer, startOpenBao } from '../../harness/openbao.js';
import { freePorts, sleep, waitFor } from '../../harness/ports.js';
import { serverIdentity } from '../../harness/server-binary.js';
import { expectNoLeaks, sidecarFor, tempDir, track } from './context.js';

const server = serverIdentity();

/** A `seal "static"` block reading a fresh 32-byte key from a file, as a mounted Secret would hold it. */
function staticSeal(): string {
  const keyFile = join(tempDir('static-key'), 'unseal.key');
  writeFileSync(keyFile, randomBytes(32), { mode: 0o600 });
  return `seal "static" {
  current_key_id = "key-1"
  current_key = "file://${keyFile}"
}`;
}

describe(`on ${server.name}: the static seal`, () => {
  if (server.kind === 'openbao') {
    it('unseals the server at every start from the key file; a seal by hand holds only until the next start', async () => {
      const node = track(await startOpenBao({ storage: 'persistent', seal: staticSeal() }));
      const answer = await node.request('PUT', 'sys/init', {
        body: { recovery_shares: 5, recovery_threshold: 3 },
        timeoutMs: 60_000,
      });
      expect(answer.status).toBe(200);
      const rootToken = (answer.body as { root_token: string }).root_token;
      await node.restart();
      const status = await node.waitUntil('unsealed by itself after a restart', (s) => !s.sealed);
      expect(status).toMatchObject({ initialized: true, recovery_seal: true, type: 'static' });

      await node.seal(rootToken);
      await sleep(6_000); // past the server's own 5 s retry of "unseal with stored keys"
      expect(await node.sealStatus()).toMatchObject({ sealed: true });
      await node.restart();
      await node.waitUntil('unsealed by itself at the next start', (s) => s.sealed === false);
    });
  } else {
    it('is not a seal type HashiCorp Vault knows: the server refuses to start', async () => {
      const [api = 0, cluster = 0] = await freePorts(2);
      const node = new OpenBaoServer({ storage: 'persistent', seal: staticSeal() }, [api, cluster]);
      track(node);
      await expect(node.start()).rejects.toThrow(/exited during start[\s\S]*static/);
    });
  }

  it('a Shamir server whose sidecar is paused stays sealed across a restart (the pause switch holds)', async () => {
    const node = track(await startOpenBao({ storage: 'persistent' }));
    const init = await node.init(5, 3);
    const keysDir = tempDir('keys');
    writeSecretVolume(keysDir, { 'init.json': init.rawJson });
    const podinfo = tempDir('podinfo');
    writeAnnotationsVolume(podinfo, { 'vault-autounseal.io/paused': 'false' });
    const sidecar = await sidecarFor(node.addr, keysDir, { UNSEAL_PODINFO_DIR: podinfo });
    await node.waitUntil('unsealed by the sidecar', (s) => s.sealed === false);

    writeAnnotationsVolume(podinfo, { 'vault-autounseal.io/paused': 'true' });
    await waitFor('the sidecar to say paused', async () =>
      (await sidecar.status()).paused === true ? true : undefined,
    );
    await node.seal(init.rootToken);
    await node.restart();
    await waitFor('the sidecar to see the restarted server sealed', async () => {
      const view = await sidecar.status();
      return view.vault.sealed === true && view.paused === true ? true : undefined;
    });
    await sleep(3_000);
    expect(await node.sealStatus()).toMatchObject({ sealed: true, progress: 0 });
    await expectNoLeaks(sidecar, init);
  });
});
