#!/usr/bin/env node
// `npm run demo`: a real 3-node OpenBao raft cluster on loopback, kept unsealed by one real sidecar
// per node, each reading its shares from a Kubernetes-style Secret volume. It initialises the
// cluster 5/3 and lets the sidecars unseal it. Like a kubelet, it restarts a server (or sidecar)
// process that exits (supervisor.ts), so it then kills one server with SIGKILL and shows it
// restarted and unsealed again, with the time it took; a `kill -9` from outside does the same.
// Every way out (Ctrl-C once or twice, SIGTERM, SIGHUP, an error) stops everything it started and
// deletes its temporary directory, shares included (shutdown.ts); after a SIGKILL of the demo, its
// guardian process does (guardian.ts).
// `--once` runs the same story and exits (the test suite uses it).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeAnnotationsVolume, writeSecretVolume } from '../test/harness/key-volume.js';
import { freePorts } from '../test/harness/ports.js';
import { findServerBinary, serverIdentity } from '../test/harness/server-binary.js';
import {
  initWithCli,
  isActive,
  layoutCluster,
  sealStatus,
  startServer,
  startSidecar,
  type DemoNode,
} from './cluster.js';
import { startGuardian } from './guard.js';
import { createShutdown, type Shutdown } from './shutdown.js';
import { supervise, type ExitEvent, type RestartEvent, type Supervised } from './supervisor.js';
import { pause, poll } from './wait.js';

const once = process.argv.includes('--once');
const say = (text: string): void => {
  process.stdout.write(`${text}\n`);
};
const seconds = (ms: number, digits = 2): string => (ms / 1000).toFixed(digits);

interface Pod {
  readonly node: DemoNode;
  readonly server: Supervised;
  readonly sidecar: Supervised;
}

/** A restarted server, unsealed again: what the story waits for and prints. */
interface Recovery {
  readonly crashToUnsealedMs: number;
  readonly sidecarSeconds: number | undefined;
}

/** Who waits for which node's next recovery (the story, for the node it kills). */
const recoveryWaiters = new Map<number, (recovery: Recovery) => void>();

/** One condensed line per sidecar log line, prefixed with its node; nothing else of it is shown. */
function relayLogLine(node: DemoNode, line: string, shutdown: Shutdown): void {
  if (shutdown.signal.aborted || line.trim() === '') return;
  try {
    const { level, time, msg, ...fields } = JSON.parse(line) as Record<string, unknown>;
    const extra = Object.entries(fields)
      .filter(([key]) => ['durationSeconds', 'loaded', 'state', 'threshold', 'code'].includes(key))
      .map(([key, value]) => `${key}=${String(value)}`)
      .join(' ');
    say(
      `  [${node.name} sidecar] ${String(time).slice(11, 23)} ${String(level)} ${String(msg)} ${extra}`,
    );
  } catch {
    say(`  [${node.name} sidecar] (a line that is not JSON, not shown)`);
  }
}

function reportExit(node: DemoNode, what: 'server' | 'sidecar', event: ExitEvent): void {
  const when =
    event.delayMs === 0 ? 'at once' : `in ${seconds(event.delayMs, 0)} s (crash-loop back-off)`;
  const exited =
    event.pid === undefined
      ? `${what}: ${event.how}`
      : `${what} (pid ${event.pid}) exited (${event.how})`;
  say(
    `  [supervisor] ${node.name}: ${exited}; restarting it ${when}, same storage and ports (restart ${event.restarts})`,
  );
}

/** The sidecar's own measure of the unseal that followed `since` (its /status `lastUnseal`). */
async function sidecarMeasure(pod: Pod, since: number, shutdown: Shutdown): Promise<number> {
  return poll(
    `${pod.node.name}'s sidecar to report the unseal`,
    async () => {
      const response = await fetch(`${pod.node.sidecarAddr}/status`, {
        signal: AbortSignal.timeout(2_000),
      });
      const status = (await response.json()) as {
        state?: string;
        lastUnseal?: { at: string; durationSeconds: number };
      };
      const last = status.lastUnseal;
      return status.state === 'unsealed' && last && Date.parse(last.at) >= since
        ? last.durationSeconds
        : undefined;
    },
    { signal: shutdown.signal, timeoutMs: 30_000, intervalMs: 200 },
  );
}

/** After a server restart: waits until its sidecar has unsealed it and prints time-to-unseal. */
async function watchRecovery(pod: Pod, event: RestartEvent, shutdown: Shutdown): Promise<void> {
  const { node } = pod;
  const child = pod.server.current();
  say(
    `  [supervisor] ${node.name}: server restarted as pid ${event.pid}, answering ${seconds(event.readyAt - event.crashedAt)} s after the crash; its sidecar takes it from here`,
  );
  // Ends early (false) if this process dies too: the next restart reports on its own.
  const unsealed = await poll(
    `${node.name} unsealed again`,
    async () => {
      if (pod.server.current() !== child || child.exitCode !== null || child.signalCode !== null)
        return false;
      const status = await sealStatus(node);
      return status.initialized === true && status.sealed === false ? true : undefined;
    },
    { signal: shutdown.signal, timeoutMs: 10 * 60_000, intervalMs: 100 },
  );
  if (!unsealed) return;
  const crashToUnsealedMs = Date.now() - event.crashedAt;
  const sidecarSeconds = await sidecarMeasure(pod, event.crashedAt, shutdown).catch(
    () => undefined,
  );
  say(
    `  [supervisor] ${node.name}: unsealed again by its sidecar, ${seconds(crashToUnsealedMs)} s after the crash (${seconds(Date.now() - event.readyAt)} s after the restarted server answered${sidecarSeconds === undefined ? '' : `; the sidecar's own time-to-unseal: ${sidecarSeconds.toFixed(3)} s`})`,
  );
  recoveryWaiters.get(node.index)?.({ crashToUnsealedMs, sidecarSeconds });
  recoveryWaiters.delete(node.index);
}

/** One "pod": the server and its sidecar, each supervised. */
async function startPod(binary: string, node: DemoNode, shutdown: Shutdown): Promise<Pod> {
  writeAnnotationsVolume(node.podinfoDir, { 'vault-autounseal.io/inject': 'true' });
  const pod: { node: DemoNode; server?: Supervised; sidecar?: Supervised } = { node };
  pod.server = await supervise({
    start: () => startServer(binary, node, shutdown),
    signal: shutdown.signal,
    onExit: (event) => reportExit(node, 'server', event),
    onRestart: (event) => {
      watchRecovery(pod as Pod, event, shutdown).catch((error: unknown) => {
        if (!shutdown.signal.aborted)
          say(`  [supervisor] ${node.name}: ${(error as Error).message}`);
      });
    },
  });
  pod.sidecar = await supervise({
    start: () => startSidecar(node, shutdown, (line) => relayLogLine(node, line, shutdown)),
    signal: shutdown.signal,
    onExit: (event) => reportExit(node, 'sidecar', event),
    onRestart: (event) =>
      say(`  [supervisor] ${node.name}: sidecar restarted as pid ${event.pid}, ready`),
  });
  return pod as Pod;
}

async function unsealedNode(node: DemoNode): Promise<true | undefined> {
  const status = await sealStatus(node);
  return status.initialized === true && status.sealed === false ? true : undefined;
}

async function story(binary: string, workDir: string, pods: readonly Pod[], shutdown: Shutdown) {
  const { signal } = shutdown;
  const first = pods[0]!;
  say('\n2. Initialising node-0 with 5 shares, threshold 3 (`bao operator init -format=json`)…');
  const init = await initWithCli(binary, first.node, shutdown);
  say(
    "   Writing the shares into each pod's Secret volume (atomic ..data swap, one file per share)…",
  );
  for (const pod of pods) {
    writeSecretVolume(
      pod.node.keysDir,
      Object.fromEntries(init.keysBase64.map((key, i) => [`unseal-key-${i}`, key])),
    );
  }
  const rootTokenFile = join(workDir, 'root-token');
  writeFileSync(rootTokenFile, `${init.rootToken}\n`, { mode: 0o600 });

  const started = Date.now();
  await Promise.all(
    pods.map((pod) =>
      poll(`${pod.node.name} unsealed`, () => unsealedNode(pod.node), {
        signal,
        timeoutMs: 90_000,
      }),
    ),
  );
  const leader = await poll(
    'an active node',
    async () => {
      for (const pod of pods) if (await isActive(pod.node)) return pod;
      return undefined;
    },
    { signal, timeoutMs: 60_000 },
  );
  say(
    `\n3. All 3 nodes unsealed by their sidecars in ${seconds(Date.now() - started, 1)} s; active node: ${leader.node.name} (${leader.node.addr})`,
  );

  // Each sidecar has seen its server unsealed too, so the crash below starts from a steady state.
  await Promise.all(
    pods.map((pod) =>
      poll(
        `${pod.node.name}'s sidecar to see it unsealed`,
        async () => {
          const response = await fetch(`${pod.node.sidecarAddr}/status`, {
            signal: AbortSignal.timeout(2_000),
          });
          return ((await response.json()) as { state?: string }).state === 'unsealed'
            ? true
            : undefined;
        },
        { signal, timeoutMs: 30_000, intervalMs: 200 },
      ),
    ),
  );

  const victim = pods.find((pod) => pod !== leader)!;
  const pid = victim.server.current().pid!;
  say(
    `\n4. Killing ${victim.node.name}'s server (pid ${pid}) with SIGKILL, as a crash or an OOM kill would.`,
  );
  say(
    '   Nobody seals it or unseals it by hand: the demo restarts the process, as a kubelet restarts a container, and the sidecar does the rest.',
  );
  const recovered = new Promise<Recovery>((resolve) =>
    recoveryWaiters.set(victim.node.index, resolve),
  );
  process.kill(pid, 'SIGKILL');
  const timeout = pause(5 * 60_000, signal).then((): never => {
    throw new Error(`${victim.node.name} did not come back unsealed within 5 minutes`);
  });
  timeout.catch(() => undefined);
  const recovery = await Promise.race([recovered, timeout]);
  say(`\n5. ${victim.node.name} unsealed again, no human involved.`);
  say(
    `   time from kill to unsealed: ${seconds(recovery.crashToUnsealedMs)} s (the restart, then the sidecar noticing at its next check: UNSEAL_INTERVAL, 5s by default)`,
  );
  if (recovery.sidecarSeconds !== undefined) {
    say(
      `   time-to-unseal measured by its sidecar (first seen sealed → unsealed): ${recovery.sidecarSeconds.toFixed(3)} s`,
    );
  }
  say('\n   Look for yourself:');
  for (const pod of pods) {
    say(
      `   ${pod.node.name}: ${pod.node.sidecarAddr}/status   ${pod.node.sidecarAddr}/metrics   (${serverName()} at ${pod.node.addr}, pid ${pod.server.current().pid})`,
    );
  }
  say(
    `   The root token is in ${rootTokenFile}; the shares are in each node's unseal-keys/ under ${workDir}.`,
  );
  say('   That directory is deleted when the demo stops.');
}

/** `Vault v1.21.0` or `OpenBao v2.7.2`, from `<binary> version`; VAULT_BIN may name either. */
function serverName(): string {
  try {
    return serverIdentity().name;
  } catch {
    return 'the server';
  }
}

async function main(): Promise<void> {
  const shutdown = createShutdown({ say, guard: startGuardian() });
  shutdown.install();
  say(
    'vault-autounseal demo: a real raft cluster (OpenBao, or HashiCorp Vault) kept unsealed by real sidecars\n',
  );
  try {
    const binary = findServerBinary();
    say(`1. Server binary: ${binary} (${serverName()})`);
    const workDir = shutdown.ownDirectory(mkdtempSync(join(tmpdir(), 'vault-autounseal-demo-')));
    say(`   Temporary directory (shares, root token, raft data; deleted on exit): ${workDir}`);
    say(
      '   Starting a 3-node raft cluster on 127.0.0.1 and one sidecar per node, each process supervised (restarted when it exits)…',
    );
    const nodes = layoutCluster(workDir, await freePorts(9));
    const pods = await Promise.all(nodes.map((node) => startPod(binary, node, shutdown)));
    await story(binary, workDir, pods, shutdown);
  } catch (error) {
    if (!shutdown.signal.aborted) say(`\nThe demo failed: ${(error as Error).message}`);
    await shutdown.stop({ kind: 'error', error });
  }
  if (once) await shutdown.stop({ kind: 'done' });
  say(
    '\nThe cluster keeps running, supervised: `kill -9` a bao process (pids above) and watch the demo restart it and its sidecar unseal it again. Ctrl-C stops everything.',
  );
}

await main();
