#!/usr/bin/env node
// `npm run demo`: a real 3-node OpenBao raft cluster on loopback, kept unsealed by one real sidecar
// per node, each reading its shares from a Kubernetes-style Secret volume. It initialises the
// cluster 5/3, lets the sidecars unseal it, kills and restarts one node, and shows the sidecar
// unsealing it again with the time it took. Ctrl-C stops everything it started.
// `--once` runs the same story and exits (the test suite uses it).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSecretVolume, writeAnnotationsVolume } from '../test/harness/key-volume.js';
import {
  activeNode,
  startRaftCluster,
  type OpenBaoServer,
  type RaftCluster,
} from '../test/harness/openbao.js';
import { waitFor } from '../test/harness/ports.js';
import { findServerBinary } from '../test/harness/server-binary.js';
import { startSidecar, type SidecarProcess } from '../test/harness/sidecar-process.js';

const once = process.argv.includes('--once');
const say = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

/** Condensed sidecar log lines, prefixed with the node they belong to. */
function relayLogs(name: string, sidecar: SidecarProcess): void {
  let buffered = '';
  sidecar.child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      try {
        const { level, time, msg, ...fields } = JSON.parse(line) as Record<string, unknown>;
        const extra = Object.entries(fields)
          .filter(([key]) =>
            ['durationSeconds', 'loaded', 'state', 'threshold', 'code'].includes(key),
          )
          .map(([key, value]) => `${key}=${String(value)}`)
          .join(' ');
        say(
          `  [${name} sidecar] ${String(time).slice(11, 23)} ${String(level)} ${String(msg)} ${extra}`,
        );
      } catch {
        say(`  [${name} sidecar] ${line}`);
      }
    }
  });
}

async function waitUnsealed(node: OpenBaoServer, timeoutMs = 90_000): Promise<void> {
  await node.waitUntil('unsealed', (s) => s.sealed === false && s.initialized === true, timeoutMs);
}

async function story(
  cluster: RaftCluster,
  sidecars: SidecarProcess[],
  volumes: string[],
): Promise<void> {
  const [first] = cluster.nodes;
  if (!first) throw new Error('empty cluster');
  say('\n2. Initialising node-0 with 5 shares, threshold 3 (`bao operator init -format=json`)…');
  const init = await first.initWithCli(5, 3);
  say(
    "   Writing the shares into each pod's Secret volume (atomic ..data swap, one file per share)…",
  );
  for (const dir of volumes) {
    writeSecretVolume(
      dir,
      Object.fromEntries(init.keysBase64.map((key, i) => [`unseal-key-${i}`, key])),
    );
  }
  const started = Date.now();
  await Promise.all(cluster.nodes.map((node) => waitUnsealed(node)));
  const leader = await waitFor('an active node', () => activeNode(cluster), { timeoutMs: 60_000 });
  say(
    `\n3. All 3 nodes unsealed by their sidecars in ${((Date.now() - started) / 1000).toFixed(1)} s; active node: ${leader.addr}`,
  );
  await Promise.all(
    sidecars.map((sidecar) =>
      waitFor('sidecar sees unsealed', async () =>
        (await sidecar.status()).state === 'unsealed' ? true : undefined,
      ),
    ),
  );

  const victimIndex = cluster.nodes.indexOf(leader) === 1 ? 2 : 1;
  const victim = cluster.nodes[victimIndex]!;
  say(
    `\n4. Killing node-${victimIndex} with SIGKILL and starting it again on the same storage (a crash)…`,
  );
  const restartedAt = Date.now();
  await victim.restart();
  say(
    `   node-${victimIndex} is back and sealed: ${JSON.stringify({ sealed: (await victim.sealStatus()).sealed })}`,
  );
  await waitUnsealed(victim);
  const wall = (Date.now() - restartedAt) / 1000;
  const status = await waitFor('the sidecar to report the unseal', async () => {
    const s = await sidecars[victimIndex]!.status();
    return s.state === 'unsealed' && s.lastUnseal && Date.parse(s.lastUnseal.at) >= restartedAt
      ? s
      : undefined;
  });
  say(`\n5. node-${victimIndex} unsealed again, no human involved.`);
  say(
    `   time from kill to unsealed: ${wall.toFixed(2)} s (includes the server's own start and the sidecar's ${'5s'} check interval)`,
  );
  say(
    `   time-to-unseal measured by its sidecar (first seen sealed → unsealed): ${status.lastUnseal.durationSeconds.toFixed(3)} s`,
  );
  say('\n   Look for yourself:');
  sidecars.forEach((sidecar, i) => {
    say(
      `   node-${i}: ${sidecar.httpAddr}/status   ${sidecar.httpAddr}/metrics   (OpenBao at ${cluster.nodes[i]!.addr})`,
    );
  });
}

async function main(): Promise<void> {
  say('vault-autounseal demo: a real OpenBao raft cluster kept unsealed by real sidecars\n');
  const binary = findServerBinary();
  say(`1. Server binary: ${binary}`);
  say('   Starting a 3-node raft cluster on 127.0.0.1 and one sidecar per node…');
  const workDir = mkdtempSync(join(tmpdir(), 'vault-autounseal-demo-'));
  const cluster = await startRaftCluster(3);
  const sidecars: SidecarProcess[] = [];
  let stopping = false;
  const stop = async (code: number): Promise<never> => {
    if (!stopping) {
      stopping = true;
      say('\nStopping the sidecars and the cluster…');
      await Promise.all(sidecars.map((sidecar) => sidecar.stop('SIGTERM')));
      await cluster.destroy();
      rmSync(workDir, { recursive: true, force: true });
      say('Everything the demo started has stopped.');
    }
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  try {
    const volumes = cluster.nodes.map((_, i) => join(workDir, `node-${i}`, 'unseal-keys'));
    for (const [i, node] of cluster.nodes.entries()) {
      const podinfo = join(workDir, `node-${i}`, 'podinfo');
      writeAnnotationsVolume(podinfo, { 'vault-autounseal.io/inject': 'true' });
      const sidecar = await startSidecar({
        VAULT_ADDR: node.addr,
        UNSEAL_KEYS_DIR: volumes[i]!,
        UNSEAL_PODINFO_DIR: podinfo,
      });
      relayLogs(`node-${i}`, sidecar);
      sidecars.push(sidecar);
    }
    await story(cluster, sidecars, volumes);
  } catch (error) {
    say(`\nThe demo failed: ${(error as Error).message}`);
    await stop(1);
  }
  if (once) await stop(0);
  say(
    '\nThe cluster keeps running. Try `kill -9` on a bao process and watch it come back. Ctrl-C stops everything.',
  );
}

await main();
