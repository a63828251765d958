// Real OpenBao (or Vault) servers on loopback for tests and the demo: started in temporary
// directories on free ports, initialised, sealed, restarted (SIGKILL + start on the same storage)
// and rekeyed through the real API. Every server started here is killed when the process exits, and
// tests stop theirs in afterEach/afterAll, so no server outlives its test.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePorts, sleep, waitFor } from './ports.js';
import { runMarker } from './orphans.js';
import { findServerBinary } from './server-binary.js';
import { vaultRequest, type TlsClientOptions, type VaultHttpResponse } from './vault-http.js';

export interface TlsFiles {
  readonly certPem: string;
  readonly keyPem: string;
  /** The CA that signed the certificate; the harness's own client trusts it. */
  readonly caPem: string;
  /** Name in the certificate the harness verifies (when it does not name 127.0.0.1). */
  readonly serverName?: string;
  /**
   * mTLS: the listener requires a client certificate signed by this CA
   * (`tls_require_and_verify_client_cert`, `tls_client_ca_file`), and the harness's own client
   * presents `client`.
   */
  readonly clientCaPem?: string;
  readonly client?: { readonly certPem: string; readonly keyPem: string };
}

/**
 * `persistent`: single-node integrated storage (raft) in the server's directory, which survives a
 * restart (OpenBao 2.7 has no `file` backend). `dev-uninit`: in-memory, uninitialised
 * (`-dev -dev-skip-init`). `dev`: in-memory, initialised and unsealed at start with the root token
 * `devRootToken` (a transit seal's provider, for instance). `raft`: one node of a cluster (see
 * startRaftCluster).
 */
export type StorageMode = 'persistent' | 'dev-uninit' | 'dev' | 'raft';

export interface ServerOptions {
  readonly storage: StorageMode;
  readonly tls?: TlsFiles;
  /** Raft only: this node's id and the API addresses of its peers for retry_join. */
  readonly nodeId?: string;
  readonly peers?: () => readonly string[];
  /** A `seal "…" { … }` block for the config (persistent and raft only): an auto-unseal server. */
  readonly seal?: string;
  /** More settings of the API listener, e.g. `http_idle_timeout = "20ms"`. */
  readonly listener?: string;
}

export interface InitResult {
  readonly keysHex: readonly string[];
  readonly keysBase64: readonly string[];
  readonly rootToken: string;
  /** The answer exactly as the server or CLI printed it. */
  readonly rawJson: string;
}

const live = new Set<OpenBaoServer>();
process.once('exit', () => {
  for (const server of live) server.child?.kill('SIGKILL');
});

/** A child env without the developer's VAULT_ and BAO_ settings, so tests see only what they set. */
function cleanEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(VAULT|BAO)_/.test(key)) env[key] = value;
  }
  return { ...env, ...runMarker(), HOME: home };
}

export class OpenBaoServer {
  child: ChildProcess | undefined;
  readonly dir: string;
  readonly addr: string;
  readonly apiPort: number;
  readonly clusterPort: number;
  /** `dev` only: the root token the server was started with. */
  readonly devRootToken: string | undefined;
  private output = '';
  private exited: Promise<void> = Promise.resolve();
  /** The listener's TLS files now (replaceTls changes them). */
  private tls: TlsFiles | undefined;

  constructor(
    readonly options: ServerOptions,
    ports: readonly [number, number],
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'vau-openbao-'));
    [this.apiPort, this.clusterPort] = ports;
    this.addr = `${options.tls ? 'https' : 'http'}://127.0.0.1:${this.apiPort}`;
    this.devRootToken = options.storage === 'dev' ? `dev-${randomUUID()}` : undefined;
    if (options.tls) this.writeTls(options.tls);
  }

  private writeTls(tls: TlsFiles): void {
    this.tls = tls;
    writeFileSync(join(this.dir, 'tls.crt'), tls.certPem);
    writeFileSync(join(this.dir, 'tls.key'), tls.keyPem, { mode: 0o600 });
    writeFileSync(join(this.dir, 'ca.crt'), tls.caPem);
    if (tls.clientCaPem) writeFileSync(join(this.dir, 'client-ca.crt'), tls.clientCaPem);
  }

  /**
   * New TLS files for the listener (a rotated certificate, a new client CA), used from the next
   * start on: call restart() after it. The listener must have been started with TLS.
   */
  replaceTls(tls: TlsFiles): void {
    if (!this.options.tls) throw new Error('replaceTls: this server was started without TLS');
    if (Boolean(tls.clientCaPem) !== Boolean(this.options.tls.clientCaPem)) {
      throw new Error('replaceTls: mTLS on or off needs a new server');
    }
    this.writeTls(tls);
  }

  get tlsClient(): TlsClientOptions | undefined {
    const tls = this.tls;
    if (!tls) return undefined;
    return {
      ca: tls.caPem,
      ...(tls.serverName ? { servername: tls.serverName } : {}),
      ...(tls.client ? { cert: tls.client.certPem, key: tls.client.keyPem } : {}),
    };
  }

  /** Path of the CA file written beside the server's certificate (TLS servers only). */
  get caFile(): string {
    return join(this.dir, 'ca.crt');
  }

  /** What the server printed, for failure messages. */
  logs(): string {
    return this.output;
  }

  private configText(): string {
    const { storage, tls } = this.options;
    const clientCerts = tls?.clientCaPem
      ? `\n  tls_require_and_verify_client_cert = true\n  tls_client_ca_file = "${join(this.dir, 'client-ca.crt')}"`
      : '';
    const listenerTls = tls
      ? `tls_cert_file = "${join(this.dir, 'tls.crt')}"\n  tls_key_file = "${join(this.dir, 'tls.key')}"${clientCerts}`
      : 'tls_disable = true';
    const storageBlock =
      storage !== 'dev-uninit' && storage !== 'dev'
        ? `storage "raft" {
  path = "${join(this.dir, 'data')}"
  node_id = "${this.options.nodeId ?? 'node'}"
  performance_multiplier = 1
${(this.options.peers?.() ?? []).map((peer) => `  retry_join {\n    leader_api_addr = "${peer}"\n  }`).join('\n')}
}`
        : '';
    // disable_mlock: Vault mlocks all memory unless told not to, which needs CAP_IPC_LOCK (and, as
    // root, pins its ~500 MB binary); OpenBao 2.x dropped mlock and accepts only `true` here.
    return `ui = false
disable_mlock = true
api_addr = "${this.addr}"
cluster_addr = "https://127.0.0.1:${this.clusterPort}"
listener "tcp" {
  address = "127.0.0.1:${this.apiPort}"
  cluster_address = "127.0.0.1:${this.clusterPort}"
  ${listenerTls}
  ${this.options.listener ?? ''}
}
${storageBlock}
${this.options.seal ?? ''}
`;
  }

  private args(): string[] {
    if (this.options.storage === 'dev-uninit') {
      return [
        'server',
        '-dev',
        '-dev-skip-init',
        '-dev-no-store-token',
        `-dev-listen-address=127.0.0.1:${this.apiPort}`,
      ];
    }
    if (this.options.storage === 'dev') {
      return [
        'server',
        '-dev',
        `-dev-root-token-id=${this.devRootToken ?? ''}`,
        '-dev-no-store-token',
        `-dev-listen-address=127.0.0.1:${this.apiPort}`,
      ];
    }
    mkdirSync(join(this.dir, 'data'), { recursive: true });
    const configFile = join(this.dir, 'server.hcl');
    writeFileSync(configFile, this.configText());
    return ['server', `-config=${configFile}`];
  }

  /** Starts the process and waits until its API answers. */
  async start(): Promise<void> {
    const child = spawn(findServerBinary(), this.args(), {
      env: cleanEnv(this.dir),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    live.add(this);
    const append = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString('utf8')).slice(-65_536);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const exitedEarly = this.exited.then(() => {
      throw new Error(`server exited during start`);
    });
    const answering = waitFor(
      `OpenBao on ${this.addr}`,
      async () => {
        const answer = await this.request('GET', 'sys/seal-status').catch(() => undefined);
        return answer && answer.status > 0 ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    try {
      await Promise.race([answering, exitedEarly]);
    } catch (error) {
      child.kill('SIGKILL');
      throw new Error(`${(error as Error).message}\n--- server output ---\n${this.output}`);
    } finally {
      exitedEarly.catch(() => undefined);
    }
  }

  /** SIGKILL, as a crash or an OOM kill would: no clean seal, no goodbye. */
  async kill(): Promise<void> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
    live.delete(this);
  }

  /** Kill and start again on the same storage and ports. */
  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  /** Kill and delete its directory. */
  async destroy(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  async request(
    method: string,
    path: string,
    options: { body?: unknown; token?: string; timeoutMs?: number } = {},
  ): Promise<VaultHttpResponse> {
    const tls = this.tlsClient;
    return vaultRequest(this.addr, method, path, { ...options, ...(tls ? { tls } : {}) });
  }

  async sealStatus(): Promise<any> {
    const answer = await this.request('GET', 'sys/seal-status');
    if (answer.status !== 200) throw new Error(`seal-status answered ${answer.status}`);
    return answer.body;
  }

  /** `PUT /v1/sys/init`; the server stays sealed. */
  async init(shares = 5, threshold = 3): Promise<InitResult> {
    const answer = await this.request('PUT', 'sys/init', {
      body: { secret_shares: shares, secret_threshold: threshold },
      timeoutMs: 60_000,
    });
    if (answer.status !== 200)
      throw new Error(`init answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    const body = answer.body as { keys: string[]; keys_base64: string[]; root_token: string };
    return {
      keysHex: body.keys,
      keysBase64: body.keys_base64,
      rootToken: body.root_token,
      rawJson: JSON.stringify(answer.body),
    };
  }

  /** `bao operator init -format=json`, through the real CLI, exactly as an operator runs it. */
  async initWithCli(shares = 5, threshold = 3): Promise<InitResult> {
    const env: NodeJS.ProcessEnv = {
      ...cleanEnv(this.dir),
      VAULT_ADDR: this.addr,
      BAO_ADDR: this.addr,
    };
    if (this.options.tls) env.VAULT_CACERT = env.BAO_CACERT = this.caFile;
    if (this.options.tls?.serverName)
      env.VAULT_TLS_SERVER_NAME = env.BAO_TLS_SERVER_NAME = this.options.tls.serverName;
    const { stdout } = await promisify(execFile)(
      findServerBinary(),
      ['operator', 'init', `-key-shares=${shares}`, `-key-threshold=${threshold}`, '-format=json'],
      { env, timeout: 60_000 },
    );
    const body = JSON.parse(stdout) as {
      unseal_keys_hex: string[];
      unseal_keys_b64: string[];
      root_token: string;
    };
    return {
      keysHex: body.unseal_keys_hex,
      keysBase64: body.unseal_keys_b64,
      rootToken: body.root_token,
      rawJson: stdout,
    };
  }

  /** Submits one share, as a human at the CLI would. */
  async submitShare(key: string): Promise<VaultHttpResponse> {
    return this.request('PUT', 'sys/unseal', { body: { key }, timeoutMs: 60_000 });
  }

  /** Submits shares until unsealed. */
  async unsealWith(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      const answer = await this.submitShare(key);
      if (answer.status !== 200)
        throw new Error(`unseal answered ${answer.status}: ${JSON.stringify(answer.body)}`);
      if ((answer.body as { sealed: boolean }).sealed === false) return;
    }
  }

  /** `PUT /v1/sys/seal` with a sudo token (the active node only, on raft). */
  async seal(token: string): Promise<void> {
    await this.waitUntilActive();
    const answer = await this.request('PUT', 'sys/seal', { token });
    if (answer.status !== 204 && answer.status !== 200) {
      throw new Error(`seal answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    }
  }

  /**
   * Rekeys an unsealed server to new shares with the old ones; returns the new shares. OpenBao 2.4+
   * rotates through the authenticated `sys/rotate/root/*` (its unauthenticated `sys/rekey/*` is off
   * by default since 2.5); Vault still uses `sys/rekey/*`.
   */
  async rekey(
    token: string,
    oldKeys: readonly string[],
    shares = 5,
    threshold = 3,
  ): Promise<InitResult> {
    await this.waitUntilActive();
    let base = 'sys/rotate/root';
    let started = await this.request('PUT', `${base}/init`, {
      body: { secret_shares: shares, secret_threshold: threshold },
      token,
    });
    if (started.status === 404 || started.status === 405) {
      base = 'sys/rekey';
      started = await this.request('PUT', `${base}/init`, {
        body: { secret_shares: shares, secret_threshold: threshold },
        token,
      });
    }
    const unwrap = (body: any): any =>
      body && typeof body.data === 'object' && body.data ? body.data : body;
    if (started.status !== 200)
      throw new Error(`${base}/init answered ${started.status}: ${JSON.stringify(started.body)}`);
    const nonce = unwrap(started.body).nonce as string;
    for (const key of oldKeys) {
      const answer = await this.request('PUT', `${base}/update`, {
        body: { key, nonce },
        token,
        timeoutMs: 60_000,
      });
      if (answer.status !== 200)
        throw new Error(`${base}/update answered ${answer.status}: ${JSON.stringify(answer.body)}`);
      const body = unwrap(answer.body) as {
        complete?: boolean;
        keys?: string[];
        keys_base64?: string[];
      };
      if (body.complete && body.keys && body.keys_base64) {
        return {
          keysHex: body.keys,
          keysBase64: body.keys_base64,
          rootToken: token,
          rawJson: JSON.stringify(body),
        };
      }
    }
    throw new Error('rekey did not complete with the shares given');
  }

  /** Waits until this node serves requests as the active node (health 200). */
  async waitUntilActive(timeoutMs = 60_000): Promise<void> {
    await waitFor(
      `active node on ${this.addr}`,
      async () => ((await this.request('GET', 'sys/health')).status === 200 ? true : undefined),
      { timeoutMs, intervalMs: 100 },
    );
  }

  async waitUntil(
    what: string,
    predicate: (status: any) => boolean,
    timeoutMs = 60_000,
  ): Promise<any> {
    return waitFor(
      `${what} on ${this.addr}`,
      async () => {
        const status = await this.sealStatus();
        return predicate(status) ? status : undefined;
      },
      { timeoutMs, intervalMs: 100 },
    );
  }
}

/** Starts one server. Dev mode binds the API port and the port after it. */
export async function startOpenBao(options: ServerOptions): Promise<OpenBaoServer> {
  for (let attempt = 1; ; attempt++) {
    const [api = 0, cluster = 0] = await freePorts(2);
    const server = new OpenBaoServer(
      options,
      options.storage === 'dev-uninit' || options.storage === 'dev'
        ? [api, api + 1]
        : [api, cluster],
    );
    try {
      await server.start();
      return server;
    } catch (error) {
      await server.destroy();
      if (attempt >= 3) throw error;
      await sleep(200);
    }
  }
}

export interface RaftCluster {
  readonly nodes: readonly OpenBaoServer[];
  destroy(): Promise<void>;
}

/** A raft cluster on loopback, each node with its own port pair, joined through retry_join. */
export async function startRaftCluster(size = 3, tls?: TlsFiles): Promise<RaftCluster> {
  const ports = await freePorts(size * 2);
  const nodes: OpenBaoServer[] = [];
  for (let i = 0; i < size; i++) {
    const options: ServerOptions = {
      storage: 'raft',
      nodeId: `node-${i}`,
      peers: () => nodes.filter((_, j) => j !== i).map((node) => node.addr),
      ...(tls ? { tls } : {}),
    };
    nodes.push(new OpenBaoServer(options, [ports[2 * i] ?? 0, ports[2 * i + 1] ?? 0]));
  }
  const cluster: RaftCluster = {
    nodes,
    destroy: async () => {
      await Promise.all(nodes.map((node) => node.destroy()));
    },
  };
  try {
    await Promise.all(nodes.map((node) => node.start()));
  } catch (error) {
    await cluster.destroy();
    throw error;
  }
  return cluster;
}

/** Which node is active, from each node's own health answer (never from `standby`, trap 8). */
export async function activeNode(cluster: RaftCluster): Promise<OpenBaoServer | undefined> {
  for (const node of cluster.nodes) {
    const health = await node.request('GET', 'sys/health').catch(() => undefined);
    if (health?.status === 200) return node;
  }
  return undefined;
}

export interface TransitSealed {
  /** The dev-mode server whose transit engine holds the seal key. */
  readonly provider: OpenBaoServer;
  /** The server sealed by it, initialised with recovery keys (it unseals itself). */
  readonly node: OpenBaoServer;
  /** The init answer: recovery keys and the root token, held for the test's own checks. */
  readonly init: { recovery_keys: string[]; recovery_keys_base64: string[]; root_token: string };
}

/**
 * A server with a transit (auto-unseal) seal, as in Vault's and OpenBao's own auto-unseal guides: a
 * second server is the transit provider. Initialised with 5 recovery shares, threshold 3. `own`
 * registers each server for clean-up as soon as it exists.
 */
export async function startTransitSealed(
  own: (server: OpenBaoServer) => OpenBaoServer,
): Promise<TransitSealed> {
  const provider = own(await startOpenBao({ storage: 'dev' }));
  const token = provider.devRootToken!;
  const mounted = await provider.request('POST', 'sys/mounts/transit', {
    body: { type: 'transit' },
    token,
  });
  if (mounted.status !== 204) throw new Error(`mounting transit: HTTP ${mounted.status}`);
  const key = await provider.request('POST', 'transit/keys/autounseal', { token });
  if (key.status >= 300) throw new Error(`creating the transit key: HTTP ${key.status}`);
  const seal = `seal "transit" {
  address = "${provider.addr}"
  token = "${token}"
  key_name = "autounseal"
  mount_path = "transit/"
  disable_renewal = "true"
}`;
  const node = own(await startOpenBao({ storage: 'persistent', seal }));
  const answer = await node.request('PUT', 'sys/init', {
    body: { recovery_shares: 5, recovery_threshold: 3 },
    timeoutMs: 60_000,
  });
  if (answer.status !== 200) throw new Error(`init with recovery keys: HTTP ${answer.status}`);
  return { provider, node, init: answer.body as TransitSealed['init'] };
}
