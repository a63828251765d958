// What differs between HashiCorp Vault and OpenBao where an unsealer can see it, run against the real
// server of this run (`npm test`: OpenBao; `npm run test:vault`: Vault). Each expectation that is
// not the same on both says which server and why; docs/vault-and-openbao.md lists them.
import { describe, expect, it } from 'vitest';
import { writeSecretVolume } from '../../harness/key-volume.js';
import {
  activeNode,
  startOpenBao,
  startRaftCluster,
  startTransitSealed,
} from '../../harness/openbao.js';
import { waitFor } from '../../harness/ports.js';
import { serverIdentity } from '../../harness/server-binary.js';
import { expectNoLeaks, metricValue, sidecarFor, tempDir, track } from './context.js';

const server = serverIdentity();
const LIVENESS = 'sys/health?standbyok=true&sealedcode=204&uninitcode=204';

describe(`on ${server.name}: a wrong share at the threshold`, () => {
  it('is accepted below the threshold and rejected at it with 400 "invalid key", and the round is discarded', async () => {
    const target = track(await startOpenBao({ storage: 'dev-uninit' }));
    const other = track(await startOpenBao({ storage: 'dev-uninit' }));
    const init = await target.init(5, 3);
    const stranger = await other.init(5, 3);

    // Below the threshold nothing is checked: a share of another cluster looks accepted.
    const first = await target.submitShare(stranger.keysHex[0]!);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ sealed: true, progress: 1 });
    expect((await target.submitShare(init.keysHex[0]!)).body).toMatchObject({ progress: 2 });

    // At the threshold: Vault 1.13+ and OpenBao both answer 400 (Vault 1.3–1.12 answered 500, which
    // the sidecar still reads as a rejection: seal-round.ts isKeySetRejection).
    const last = await target.submitShare(init.keysHex[1]!);
    expect(last.status).toBe(400);
    const message = String((last.body as { errors?: string[] }).errors?.[0]);
    expect(message).toMatch(/invalid key/);
    expect(message).toMatch(/message authentication failed/);
    expect(await target.sealStatus()).toMatchObject({ sealed: true, progress: 0, nonce: '' });
  });
});

describe(`on ${server.name}: /v1/sys/health and the liveness probe path of deploy/`, () => {
  it('answers 501, 503 and 200 as the server is uninitialised, sealed and active; the probe path 204, 204, 200', async () => {
    const node = track(await startOpenBao({ storage: 'persistent' }));
    const codes = async (): Promise<[number, number, number]> => [
      (await node.request('GET', 'sys/health')).status,
      (await node.request('GET', LIVENESS)).status,
      (await node.request('HEAD', LIVENESS)).status,
    ];
    expect(await codes()).toEqual([501, 204, 204]);
    const init = await node.init(5, 3);
    expect(await codes()).toEqual([503, 204, 204]);
    await node.unsealWith(init.keysHex.slice(0, 3));
    await node.waitUntilActive();
    expect(await codes()).toEqual([200, 200, 200]);
  });
});

describe(`on ${server.name}: raft join, follower unseal and standby health`, () => {
  it('a follower reports "not initialised" until it joins, then the leader\'s t/n; unsealed it is a standby: 429, and 200 with standbyok', async () => {
    const cluster = track(await startRaftCluster(3));
    const [leader, ...followers] = cluster.nodes;
    const init = await leader!.init(5, 3);
    for (const follower of followers) {
      // Both servers: a node that has not joined knows nothing of the cluster (trap 5).
      expect(await follower.sealStatus()).toMatchObject({ initialized: false, sealed: true });
      expect((await follower.request('GET', 'sys/health')).status).toBe(501);
    }
    await leader!.unsealWith(init.keysHex.slice(0, 3));
    await leader!.waitUntilActive();

    // Sidecars unseal the followers: after the last share a follower may stay sealed at progress 0
    // while it joins (the sidecar polls, never resubmits).
    const keysDir = tempDir('keys');
    writeSecretVolume(keysDir, Object.fromEntries(init.keysHex.map((k, i) => [`key-${i}`, k])));
    const sidecars = await Promise.all(followers.map((node) => sidecarFor(node.addr, keysDir)));
    for (const follower of followers) {
      await follower.waitUntil('joined and unsealed', (s) => s.sealed === false, 90_000);
    }
    // Leadership may move while nodes join: read it from each node's own health answer.
    const active = await waitFor('an active node', () => activeNode(cluster));
    for (const node of cluster.nodes) {
      const status = await node.sealStatus();
      expect(status).toMatchObject({ initialized: true, sealed: false, t: 3, n: 5 });
      if (node === active) continue;
      expect((await node.request('GET', 'sys/health')).status).toBe(429);
      expect((await node.request('GET', 'sys/health?standbyok=true')).status).toBe(200);
      expect((await node.request('GET', LIVENESS)).status).toBe(200);
    }
    for (const sidecar of sidecars) {
      await waitFor('follower sidecar to report unsealed', async () =>
        (await sidecar.status()).state === 'unsealed' ? true : undefined,
      );
      const metrics = await sidecar.metrics();
      // A follower's round never needs a resubmission: at most t shares went to it.
      expect(
        metricValue(metrics, 'vault_autounseal_key_submissions_total{result="accepted"}'),
      ).toBeLessThanOrEqual(3);
      await expectNoLeaks(sidecar, init);
    }
  });
});

describe(`on ${server.name}: rekey`, () => {
  it(
    server.kind === 'vault'
      ? 'is served at sys/rekey/* (Vault has no sys/rotate/root/*)'
      : 'is served at sys/rotate/root/*, and the unauthenticated sys/rekey/* is off (OpenBao 2.5+)',
    async () => {
      const node = track(await startOpenBao({ storage: 'persistent' }));
      const init = await node.init(5, 3);
      await node.unsealWith(init.keysHex.slice(0, 3));
      await node.waitUntilActive();
      const body = { secret_shares: 4, secret_threshold: 2 };
      const rotate = await node.request('PUT', 'sys/rotate/root/init', {
        body,
        token: init.rootToken,
      });
      const rekey = await node.request('PUT', 'sys/rekey/init', { body, token: init.rootToken });
      if (server.kind === 'vault') {
        // Vault 1.21: sys/rotate/root does not exist; sys/rekey is the only rekey API.
        expect(rotate.status).toBeGreaterThanOrEqual(400);
        expect(rekey.status).toBe(200);
      } else {
        // OpenBao 2.5+ moved rekey under the authenticated sys/rotate/root and turned the old path off.
        expect(rotate.status).toBe(200);
        expect(rekey.status).toBeGreaterThanOrEqual(400);
      }
      // Cancel the round just started. Vault 1.21 cancels only with the round's nonce (without it:
      // 400, and the next init says "rekey already in progress"); OpenBao accepts it too.
      const started = (server.kind === 'vault' ? rekey : rotate).body as {
        nonce?: string;
        data?: { nonce?: string };
      };
      const cancel = await node.request(
        'DELETE',
        server.kind === 'vault' ? 'sys/rekey/init' : 'sys/rotate/root/init',
        { token: init.rootToken, body: { nonce: started.data?.nonce ?? started.nonce } },
      );
      expect(cancel.status).toBeLessThan(300);
      // Either way the harness's rekey (which tries both) gives new shares that unseal the server.
      const rekeyed = await node.rekey(init.rootToken, init.keysHex.slice(0, 3), 4, 2);
      await node.seal(init.rootToken);
      await node.unsealWith(rekeyed.keysHex.slice(0, 2));
      expect(await node.sealStatus()).toMatchObject({ sealed: false, t: 2, n: 4 });
    },
  );
});

describe(`on ${server.name}: a server with a transit (auto-unseal) seal`, () => {
  it('reports recovery_seal; the sidecar says so and submits nothing, sealed or not', async () => {
    const { node, init: body } = await startTransitSealed(track);
    expect(body.recovery_keys).toHaveLength(5);
    const recovery = {
      keysHex: body.recovery_keys,
      keysBase64: body.recovery_keys_base64,
      rootToken: body.root_token,
      rawJson: '',
    };
    // It unseals itself through the provider.
    await node.waitUntil('auto-unsealed after init', (s) => s.sealed === false);
    // A server with an auto-unseal seal retries "unseal with stored keys" every 5 s from its start
    // until one attempt finds it initialised; a seal before that attempt is undone by it (seen
    // here: sealed 3 s after the start, unsealed by the server itself 2 s later). After a restart
    // its first attempt succeeds and the retries end, so a seal by hand stays.
    await node.restart();
    const status = await node.waitUntil('auto-unsealed after a restart', (s) => s.sealed === false);
    expect(status).toMatchObject({
      initialized: true,
      recovery_seal: true,
      type: 'transit',
      t: 3,
      n: 5,
    });

    // The trap: an operator mounts the recovery keys where unseal keys belong.
    const keysDir = tempDir('keys');
    writeSecretVolume(keysDir, Object.fromEntries(recovery.keysHex.map((k, i) => [`key-${i}`, k])));
    const sidecar = await sidecarFor(node.addr, keysDir);
    await waitFor('sidecar to report the recovery seal', async () => {
      const view = await sidecar.status();
      return view.state === 'recovery-seal' && view.vault.recoverySeal === true ? true : undefined;
    });

    // Sealed by hand: an auto-unseal server stays sealed until it restarts. The sidecar must not
    // feed it recovery keys (both servers would count them toward a recovery-key unseal).
    await node.seal(recovery.rootToken);
    const sealedAt = Date.now();
    await waitFor('sidecar to see the sealed auto-unseal server', async () => {
      const view = await sidecar.status();
      return view.state === 'recovery-seal' &&
        view.vault.sealed === true &&
        view.vault.checkedAt !== null &&
        Date.parse(view.vault.checkedAt) > sealedAt + 1_000
        ? true
        : undefined;
    });
    expect(await node.sealStatus()).toMatchObject({
      sealed: true,
      recovery_seal: true,
      progress: 0,
    });

    // A restart unseals it through the provider again, with no help.
    await node.restart();
    await node.waitUntil('auto-unsealed after restart', (s) => s.sealed === false);
    await waitFor('sidecar to see it unsealed', async () => {
      const view = await sidecar.status();
      return view.state === 'recovery-seal' && view.vault.sealed === false ? true : undefined;
    });
    const metrics = await sidecar.metrics();
    for (const result of ['accepted', 'rejected', 'foreign-rejected', 'error']) {
      const value = metricValue(
        metrics,
        `vault_autounseal_key_submissions_total{result="${result}"}`,
      );
      expect(Number.isNaN(value) ? 0 : value, result).toBe(0);
    }
    await expectNoLeaks(sidecar, recovery);
  });
});
