// The chaos target: a real OpenBao raft cluster on loopback, one real sidecar per node behind a
// recording proxy, and each node's key files and pause switch in the kubelet's atomic-writer layout.
// Everything a fault does goes through here, so it is recorded in the episode's trace.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  activeNode,
  startRaftCluster,
  type InitResult,
  type OpenBaoServer,
  type RaftCluster,
} from '../test/harness/openbao.js';
import { sleep, waitFor } from '../test/harness/ports.js';
import { serverIdentity } from '../test/harness/server-binary.js';
import { startSidecar, type SidecarProcess } from '../test/harness/sidecar-process.js';
import { writeAnnotationsVolume, writeSecretVolume } from '../test/harness/key-volume.js';
import { secretForms } from '../test/harness/leaks.js';
import { shareDigest, startRecordingProxy, type RecordingProxy } from './proxy.js';
import type { TraceEvent } from './trace.js';

/** The sidecar's settings in every episode; the unseal bounds in limits.ts follow from them. */
export const SIDECAR_TIMING = {
  UNSEAL_INTERVAL: '1s',
  UNSEAL_RETRY_INTERVAL: '200ms',
  UNSEAL_MAX_BACKOFF: '4s',
  UNSEAL_REQUEST_TIMEOUT: '2s',
} as const;

export const SHARES = 5;
export const THRESHOLD = 3;
const PAUSE_ANNOTATION = 'vault-autounseal.io/paused';

type Untimed<E> = E extends TraceEvent ? Omit<E, 't'> : never;

/** Collects one episode's events; outside an episode, events are dropped. */
export class Recorder {
  events: TraceEvent[] = [];
  startedAt = 0;
  private on = false;

  begin(now = Date.now()): void {
    this.events = [];
    this.startedAt = now;
    this.on = true;
  }

  end(): TraceEvent[] {
    this.on = false;
    return this.events;
  }

  at(epochMs: number): number {
    return epochMs - this.startedAt;
  }

  emit(event: Untimed<TraceEvent>, epochMs = Date.now()): void {
    if (this.on) this.events.push({ ...event, t: this.at(epochMs) });
  }
}

/** What unsealing a stuck node by hand showed. */
export interface Rescue {
  readonly node: number;
  /** The share generation that unsealed it; undefined when none did. */
  readonly generation?: number;
  /** Its key files hold that generation: the sidecar should have unsealed it. */
  readonly inFiles: boolean;
}

/** A rescue in words, for the run's output. */
export function describeRescue(rescue: Rescue, newest: number): string {
  if (rescue.generation === undefined) return `node ${rescue.node}: no share generation unseals it`;
  const why = rescue.inFiles
    ? 'which its key files hold: the sidecar should have unsealed it'
    : `older than its files hold (${newest} and ${newest - 1}): it slept through two rekeys`;
  return `node ${rescue.node} unsealed by hand with share generation ${rescue.generation}, ${why}`;
}

export interface ChaosClusterOptions {
  readonly nodes: number;
  /** Another sidecar entry point (a planted-defect build); the shipped one by default. */
  readonly sidecarEntry?: string;
  readonly sidecarEnv?: Readonly<Record<string, string>>;
  readonly say: (line: string) => void;
}

export class ChaosCluster {
  readonly recorder = new Recorder();
  readonly generations: InitResult[] = [];
  /** Shares of no cluster here: what a stale file from another cluster looks like. */
  readonly foreignShares: readonly string[];
  readonly keysDirs: string[] = [];
  /**
   * A second key directory per node holding the share set of before the last rekey, as the docs
   * tell operators to keep it: a raft node that was down or sealed during a rekey still needs it.
   */
  readonly previousKeysDirs: string[] = [];
  /**
   * Per node, the oldest share generation its storage may still be at. It only rises when the
   * whole cluster is back unsealed (every node has then caught up); a node needs one of the
   * generations from there to the newest, so it counts as unsealable only when its files hold t
   * shares of each.
   */
  readonly minGeneration: number[] = [];
  private readonly written: { files: readonly string[]; previous: readonly string[] }[] = [];
  readonly podinfoDirs: string[] = [];
  readonly sidecars: (SidecarProcess | undefined)[] = [];
  /** Output of sidecars that were killed and replaced, kept for the leak check. */
  readonly retiredOutput: string[] = [];
  private readonly proxies: RecordingProxy[] = [];
  private readonly killedByDriver = new Set<SidecarProcess>();
  private readonly serverLocks: Promise<void>[] = [];
  private readonly work: string;
  /** Held while the cluster is being rekeyed: a lost rekey answer would lose the keys. */
  rekeying: Promise<void> = Promise.resolve();

  private constructor(
    readonly raft: RaftCluster,
    readonly options: ChaosClusterOptions,
  ) {
    this.work = mkdtempSync(join(tmpdir(), 'vau-chaos-'));
    this.foreignShares = Array.from({ length: SHARES }, (_, i) =>
      Buffer.concat([randomBytes(32), Buffer.from([i + 1])]).toString('hex'),
    );
    for (let i = 0; i < raft.nodes.length; i++) {
      this.keysDirs.push(join(this.work, `node-${i}`, 'keys'));
      this.previousKeysDirs.push(join(this.work, `node-${i}`, 'keys-previous'));
      this.minGeneration.push(0);
      this.written.push({ files: [], previous: [] });
      this.podinfoDirs.push(join(this.work, `node-${i}`, 'podinfo'));
      this.serverLocks.push(Promise.resolve());
      this.sidecars.push(undefined);
    }
  }

  static async start(options: ChaosClusterOptions): Promise<ChaosCluster> {
    // VAULT_BIN may name HashiCorp Vault: say which server the run is against.
    options.say(`starting a ${options.nodes}-node ${serverIdentity().name} raft cluster`);
    const raft = await startRaftCluster(options.nodes);
    const cluster = new ChaosCluster(raft, options);
    try {
      await cluster.initialise();
    } catch (error) {
      await cluster.destroy();
      throw error;
    }
    return cluster;
  }

  get size(): number {
    return this.raft.nodes.length;
  }

  get current(): InitResult {
    const last = this.generations[this.generations.length - 1];
    if (!last) throw new Error('the cluster is not initialised');
    return last;
  }

  server(node: number): OpenBaoServer {
    const server = this.raft.nodes[node];
    if (!server) throw new Error(`no node ${node}`);
    return server;
  }

  private async initialise(): Promise<void> {
    const first = this.server(0);
    this.generations.push(await first.init(SHARES, THRESHOLD));
    for (let node = 0; node < this.size; node++) {
      const server = this.server(node);
      const url = new URL(server.addr);
      this.proxies.push(
        await startRecordingProxy({ host: url.hostname, port: Number(url.port) }, (entry) =>
          this.recordRequest(node, entry),
        ),
      );
      this.writeKeys(node, this.current.keysHex);
      this.writePause(node, false);
      await this.startSidecar(node);
    }
    await this.waitAllUnsealed(120_000);
  }

  private recordRequest(
    node: number,
    entry: Parameters<Parameters<typeof startRecordingProxy>[1]>[0],
  ): void {
    const { recorder } = this;
    recorder.emit(
      {
        kind: 'request',
        node,
        method: entry.method,
        path: entry.path,
        ...(entry.status !== undefined ? { status: entry.status } : {}),
      },
      entry.startedAt,
    );
    if (!entry.unseal) return;
    const { unseal } = entry;
    recorder.emit(
      {
        kind: 'submission',
        node,
        reset: unseal.reset,
        ...(entry.answeredAt !== undefined ? { answeredAt: recorder.at(entry.answeredAt) } : {}),
        ...(unseal.shareDigest !== undefined
          ? { share: unseal.shareDigest, shareSet: this.shareSetOf(unseal.shareDigest) }
          : {}),
        ...(entry.status !== undefined ? { status: entry.status } : {}),
        ...(unseal.sealed !== undefined ? { sealed: unseal.sealed } : {}),
        ...(unseal.progress !== undefined ? { progress: unseal.progress } : {}),
        ...(unseal.threshold !== undefined ? { threshold: unseal.threshold } : {}),
        ...(unseal.nonce !== undefined ? { nonce: unseal.nonce } : {}),
      },
      entry.startedAt,
    );
  }

  shareSetOf(digest: string): 'current' | 'old' | 'foreign' | 'unknown' {
    if (this.current.keysHex.some((share) => shareDigest(share) === digest)) return 'current';
    if (this.generations.some((g) => g.keysHex.some((share) => shareDigest(share) === digest)))
      return 'old';
    if (this.foreignShares.some((share) => shareDigest(share) === digest)) return 'foreign';
    return 'unknown';
  }

  /** Every form of every secret this run has made: shares of all generations, the root token. */
  secrets(): string[] {
    const foreign: InitResult = {
      keysHex: this.foreignShares,
      keysBase64: this.foreignShares.map((hex) => Buffer.from(hex, 'hex').toString('base64')),
      rootToken: '',
      rawJson: '',
    };
    return secretForms(...this.generations, foreign);
  }

  /** The share set of before the last rekey (none before the first). */
  previousShares(): readonly string[] {
    return this.generations.at(-2)?.keysHex ?? [];
  }

  /**
   * Replaces a node's key files (the current directory, and the previous one) in one atomic swap
   * each, and records what they now hold.
   */
  writeKeys(node: number, files: readonly string[], previous = this.previousShares()): void {
    const dir = this.keysDirs[node];
    const previousDir = this.previousKeysDirs[node];
    if (!dir || !previousDir) throw new Error(`no node ${node}`);
    const volume = (list: readonly string[]): Record<string, string> =>
      Object.fromEntries(list.map((content, i) => [`unseal-key-${i}`, content]));
    writeSecretVolume(dir, volume(files));
    writeSecretVolume(previousDir, volume(previous));
    this.written[node] = { files, previous };
    this.recordKeys(node);
  }

  /**
   * Records what a node's key files hold against the generations its storage may need: the fewest
   * shares of any of them (its `currentShares`), and all valid shares (`totalShares`).
   */
  recordKeys(node: number): void {
    const { files, previous } = this.written[node] ?? { files: [], previous: [] };
    const valid = new Set(
      [...files, ...previous]
        .filter((f) => /^[0-9a-f]{66}$/i.test(f.trim()))
        .map((f) => f.trim().toLowerCase()),
    );
    let fewest = Number.POSITIVE_INFINITY;
    for (let g = this.minGeneration[node] ?? 0; g < this.generations.length; g++) {
      const shares = this.generations[g]?.keysHex ?? [];
      fewest = Math.min(fewest, shares.filter((k) => valid.has(k.toLowerCase())).length);
    }
    this.recorder.emit({
      kind: 'keys',
      node,
      currentShares: Number.isFinite(fewest) ? fewest : 0,
      totalShares: valid.size,
      threshold: THRESHOLD,
    });
  }

  writePause(node: number, paused: boolean): void {
    const dir = this.podinfoDirs[node];
    if (!dir) throw new Error(`no node ${node}`);
    writeAnnotationsVolume(dir, { [PAUSE_ANNOTATION]: String(paused) });
    this.recorder.emit({ kind: 'pause', node, paused });
  }

  /** Runs server operations of one node one at a time. */
  private async withServerLock<T>(node: number, action: () => Promise<T>): Promise<T> {
    // A crash or a freeze during a rekey could swallow its answer, and the new shares with it.
    await this.rekeying;
    const previous = this.serverLocks[node] ?? Promise.resolve();
    let release: () => void = () => undefined;
    this.serverLocks[node] = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      return await action();
    } finally {
      release();
    }
  }

  isServerUp(node: number): boolean {
    const child = this.server(node).child;
    return !!child && child.exitCode === null && child.signalCode === null;
  }

  async killServer(node: number): Promise<void> {
    await this.withServerLock(node, async () => {
      const server = this.server(node);
      // A stopped process takes SIGKILL too; SIGCONT first so its exit is reported promptly.
      server.child?.kill('SIGCONT');
      await server.kill();
      this.recorder.emit({ kind: 'server', node, what: 'killed' });
    });
  }

  async startServer(node: number): Promise<void> {
    await this.withServerLock(node, async () => {
      if (this.isServerUp(node)) return;
      await this.server(node).start();
      this.recorder.emit({ kind: 'server', node, what: 'started' });
    });
  }

  async freezeServer(node: number): Promise<boolean> {
    return this.withServerLock(node, async () => {
      if (!this.isServerUp(node)) return false;
      this.server(node).child?.kill('SIGSTOP');
      this.recorder.emit({ kind: 'server', node, what: 'frozen' });
      return true;
    });
  }

  async thawServer(node: number): Promise<void> {
    await this.withServerLock(node, async () => {
      if (!this.isServerUp(node)) return;
      this.server(node).child?.kill('SIGCONT');
      this.recorder.emit({ kind: 'server', node, what: 'thawed' });
    });
  }

  /** The active node now, from each node's own health answer; undefined when there is none. */
  async leader(): Promise<number | undefined> {
    const active = await activeNode(this.raft).catch(() => undefined);
    return active ? this.raft.nodes.indexOf(active) : undefined;
  }

  /** Seals a node: through the API when it is the active node, else by a crash and a restart. */
  async sealNode(node: number): Promise<string> {
    const leader = await this.leader();
    if (leader === node) {
      const answer = await this.server(node)
        .request('PUT', 'sys/seal', { token: this.current.rootToken, timeoutMs: 5_000 })
        .catch((error: Error) => ({ status: 0, body: error.message }));
      if (answer.status === 204 || answer.status === 200) {
        this.recorder.emit({ kind: 'server', node, what: 'sealed-by-api' });
        return 'sealed through the API';
      }
    }
    await this.killServer(node);
    await this.startServer(node);
    return 'sealed by a crash and restart';
  }

  sidecarEnv(node: number): Record<string, string> {
    const proxy = this.proxies[node];
    if (!proxy) throw new Error(`no proxy for node ${node}`);
    return {
      VAULT_ADDR: proxy.addr,
      UNSEAL_KEYS_DIR: `${this.keysDirs[node] ?? ''},${this.previousKeysDirs[node] ?? ''}`,
      UNSEAL_PODINFO_DIR: this.podinfoDirs[node] ?? '',
      LOG_LEVEL: 'info',
      ...SIDECAR_TIMING,
      ...this.options.sidecarEnv,
    };
  }

  async startSidecar(node: number): Promise<void> {
    const sidecar = await startSidecar(
      this.sidecarEnv(node),
      this.options.sidecarEntry ? { entry: this.options.sidecarEntry } : {},
    );
    this.sidecars[node] = sidecar;
    this.recorder.emit({ kind: 'sidecar', node, what: 'started' });
    void sidecar.exited.then(({ code, signal }) => {
      const killedByDriver = this.killedByDriver.has(sidecar);
      this.recorder.emit({ kind: 'sidecar', node, what: 'exited', killedByDriver, code, signal });
      if (!killedByDriver)
        this.options.say(`node ${node}: the sidecar exited (code ${code}, signal ${signal})`);
    });
  }

  async killSidecar(node: number): Promise<void> {
    const sidecar = this.sidecars[node];
    if (!sidecar) return;
    this.killedByDriver.add(sidecar);
    this.sidecars[node] = undefined;
    sidecar.child.kill('SIGKILL');
    await sidecar.exited;
    this.retiredOutput.push(sidecar.stdout(), sidecar.stderr());
  }

  /** Sidecars that died on their own are started again (and their exit stays in the trace). */
  async reviveSidecars(): Promise<void> {
    for (let node = 0; node < this.size; node++) {
      const sidecar = this.sidecars[node];
      if (sidecar && sidecar.child.exitCode === null && sidecar.child.signalCode === null) continue;
      if (sidecar) this.retiredOutput.push(sidecar.stdout(), sidecar.stderr());
      await this.startSidecar(node);
    }
  }

  async waitAllUnsealed(timeoutMs: number): Promise<void> {
    await waitFor(
      'every node unsealed',
      async () => {
        for (let node = 0; node < this.size; node++) {
          const status = await this.server(node).sealStatus();
          if (status.sealed !== false) return undefined;
        }
        return (await this.leader()) === undefined ? undefined : true;
      },
      { timeoutMs, intervalMs: 200 },
    );
  }

  /**
   * Puts the cluster back to the state every episode starts from: servers up and thawed, keys
   * current, pause off, sidecars running, every node unsealed with an active node.
   */
  async restoreBaseline(timeoutMs = 90_000): Promise<Rescue[]> {
    await this.rekeying;
    for (let node = 0; node < this.size; node++) {
      if (this.isServerUp(node)) this.server(node).child?.kill('SIGCONT');
      else await this.startServer(node);
      this.writeKeys(node, this.current.keysHex);
      this.writePause(node, false);
    }
    await this.reviveSidecars();
    const rescues: Rescue[] = [];
    try {
      await this.waitAllUnsealed(20_000);
    } catch {
      // A node that slept through two rekeys needs shares older than its files hold: the operator
      // unseals it by hand once. If the shares that work are in its files, that is the sidecar's
      // failure, and the caller says so.
      for (let node = 0; node < this.size; node++) {
        const rescue = await this.rescue(node);
        if (rescue) rescues.push(rescue);
      }
      await this.waitAllUnsealed(timeoutMs);
    }
    await sleep(200);
    // Every node is unsealed in one cluster again: each has caught up with the newest rekey.
    this.minGeneration.fill(this.generations.length - 1);
    return rescues;
  }

  /**
   * For a node its sidecar could not unseal: which share generation, tried by hand newest first,
   * unseals it, and whether the node's key files hold that generation (if they do, the sidecar
   * should have done it). The sidecar is paused meanwhile, so the two do not mix their rounds.
   */
  async rescue(node: number): Promise<Rescue | undefined> {
    const server = this.server(node);
    const sealed = await server
      .sealStatus()
      .then((s: { sealed?: boolean }) => s.sealed)
      .catch(() => undefined);
    if (sealed !== true) return undefined;
    this.writePause(node, true);
    await sleep(300);
    try {
      for (let g = this.generations.length - 1; g >= 0; g--) {
        const shares = this.generations[g]?.keysHex.slice(0, THRESHOLD) ?? [];
        await server
          .request('PUT', 'sys/unseal', { body: { reset: true }, timeoutMs: 5_000 })
          .catch(() => undefined);
        const answers = [];
        for (const share of shares)
          answers.push(await server.submitShare(share).catch(() => undefined));
        const unsealed = answers.some(
          (a) => (a?.body as { sealed?: boolean } | undefined)?.sealed === false,
        );
        if (unsealed) return { node, generation: g, inFiles: g >= this.generations.length - 2 };
      }
      return { node, inFiles: false };
    } finally {
      this.writePause(node, false);
    }
  }

  proxyAddr(node: number): string {
    return this.proxies[node]?.addr ?? '';
  }

  async destroy(): Promise<void> {
    for (let node = 0; node < this.size; node++) {
      const sidecar = this.sidecars[node];
      if (sidecar) {
        this.killedByDriver.add(sidecar);
        await sidecar.stop().catch(() => undefined);
      }
    }
    await Promise.all(this.proxies.map((proxy) => proxy.close().catch(() => undefined)));
    await this.raft.destroy();
    rmSync(this.work, { recursive: true, force: true });
  }
}
