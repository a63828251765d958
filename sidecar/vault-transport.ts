// The wire under node-vault: each request goes to VAULT_ADDR itself, directly, within a total
// deadline, and no answer is read past a size cap. Plugged in through node-vault's
// `request-promise` hook; node-vault still builds the paths and bodies and reads the answers.
//
// Why not node-vault's own axios: node-vault 0.12 (src/index.js, `requestWrapper`) builds every
// axios request from `method`, `url`, `headers`, `data`, `timeout`, `httpAgent` and `httpsAgent`
// only, on an instance created with `validateStatus`, `httpsAgent` and `timeout`. Everything else
// in `requestOptions` is dropped, so `proxy: false`, `maxRedirects: 0`, `maxContentLength` and
// `signal` never reach axios, and axios's defaults apply: a proxy taken from HTTP_PROXY /
// HTTPS_PROXY / ALL_PROXY (proxy-from-env, which also honours NO_PROXY), up to 21 redirects
// followed (follow-redirects re-sends a 307/308's body, the share, to wherever it points), no size
// limit, and `timeout` as a socket idle timer that a server sending a byte a second never trips.
// Changing axios's global defaults would reach into a module we do not own and break silently on
// an upgrade; axios is not even our dependency. Plain node:http/https give each guarantee by
// construction instead: an explicit Agent never reads proxy variables (Node's NODE_USE_ENV_PROXY
// applies to the global agents only), node:http never follows a redirect, and we count the bytes
// and own the clock. Response headers are already capped by Node (--max-http-header-size, 16 KiB).
import type http from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import { httpModule, httpsModule } from '../common/lazy-builtins.js';
import { scrubSecrets } from './scrub.js';
import type { VaultFailure } from './vault-client.js';

/**
 * The largest answer read. A seal-status or unseal answer is about 400 bytes (Vault's, with
 * build_date, cluster_name, cluster_id and removed_from_cluster, still under 1 KiB) and an error
 * answer is one short message. 64 KiB is 64 times that, room for any future field, while a
 * runaway or hostile answer costs at most 64 KiB of memory per request.
 */
export const MAX_ANSWER_BYTES = 64 * 1024;

/** What node-vault's `request` passes to the `request-promise` function (the parts we use). */
export interface NodeVaultRequest {
  readonly method: string;
  readonly uri: string;
  readonly json?: unknown;
}

/** What node-vault's `handleVaultResponse` reads from the `request-promise` function's result. */
export interface NodeVaultResponse {
  readonly statusCode: number;
  readonly body: unknown;
  readonly request: { readonly path: string };
}

/** A failure the transport already described: a fresh, secret-free value. */
export class TransportFailure extends Error {
  constructor(readonly failure: VaultFailure) {
    super(failure.message);
    this.name = 'TransportFailure';
  }
}

export interface TransportOptions {
  /** VAULT_ADDR as it may be shown (without userinfo, display-path.ts), for messages. */
  readonly address: string;
  /**
   * Builds the https agents, with the TLS settings of the moment: called at the first request to
   * an https:// address, and again at the first one after `renewHttpsAgents()`. Never called for an
   * http:// address, so node:https is never loaded there (common/lazy-builtins.ts). Both with the
   * same TLS settings: `read` keeps its one connection alive (the restart detector,
   * `onConnectionLost`), `write` does not, so a share is never written into a socket the server
   * already closed.
   */
  readonly httpsAgents: () => HttpsAgents;
  readonly deadlineMs: number;
  readonly maxAnswerBytes?: number;
}

export interface Transport {
  send(request: NodeVaultRequest): Promise<NodeVaultResponse>;
  /**
   * Calls `listener` when the idle connection left by the last read closes: the server died or
   * restarted (in a pod it shares 127.0.0.1 with us, so its death closes the socket at once), or
   * it dropped an idle connection (its idle timeout, a proxy). Only ever a reason to look now,
   * never proof of a restart: the caller checks the seal status, and decides from that.
   */
  onConnectionLost(listener: () => void): void;
  /**
   * Builds new https agents at the next https request (the TLS files changed). The old ones are
   * destroyed once their requests in flight end; their connection closing is not reported as lost.
   */
  renewHttpsAgents(): void;
  /** Aborts every request in flight and refuses new ones. */
  close(): void;
}

const DEADLINE = Symbol('deadline');
const CLOSED = Symbol('closed');

function parseBody(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    // Not JSON (an empty 204, a proxy's HTML page): node-vault then reports `Status <code>`.
    return undefined;
  }
}

interface Exchange {
  readonly url: URL;
  readonly method: string;
  readonly body: Buffer | undefined;
  readonly agent: http.Agent;
  readonly signal: AbortSignal;
  readonly maxBytes: number;
}

function refusedRedirect(status: number): TransportFailure {
  return new TransportFailure({
    code: 'http',
    httpStatus: status,
    message:
      `server answered ${status}, a redirect: not followed, and nothing was sent elsewhere ` +
      '(VAULT_ADDR must name the server itself)',
  });
}

function tooLarge(maxBytes: number): TransportFailure {
  return new TransportFailure({
    code: 'bad-answer',
    message: `the server's answer is larger than ${maxBytes / 1024} KiB (a seal status is under 1 KiB); not read`,
  });
}

/** Reads the answer, refusing redirects and anything past the cap. */
function readAnswer(
  response: http.IncomingMessage,
  x: Exchange,
  resolve: (value: NodeVaultResponse) => void,
  reject: (reason: unknown) => void,
): void {
  const status = response.statusCode ?? 0;
  const declared = Number(response.headers['content-length'] ?? 0);
  const refusal =
    status >= 300 && status < 400
      ? refusedRedirect(status)
      : declared > x.maxBytes
        ? tooLarge(x.maxBytes)
        : undefined;
  if (refusal) {
    response.destroy();
    reject(refusal);
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  response.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > x.maxBytes) {
      response.destroy();
      reject(tooLarge(x.maxBytes));
    } else chunks.push(chunk);
  });
  response.on('error', reject);
  response.on('end', () =>
    resolve({
      statusCode: status,
      body: parseBody(Buffer.concat(chunks)),
      request: { path: x.url.pathname },
    }),
  );
}

function exchange(x: Exchange): Promise<NodeVaultResponse> {
  return new Promise((resolve, reject) => {
    // Settle at once on abort, whatever phase the socket is in; `signal` also destroys it.
    x.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    const request = (x.url.protocol === 'https:' ? httpsModule() : httpModule()).request(
      x.url,
      {
        method: x.method,
        agent: x.agent,
        signal: x.signal,
        // Built here, not taken from node-vault: no token, no namespace, nothing from the env.
        headers: {
          accept: 'application/json',
          ...(x.body
            ? { 'content-type': 'application/json', 'content-length': x.body.length }
            : {}),
        },
      },
      (response) => readAnswer(response, x, resolve, reject),
    );
    request.on('error', reject);
    request.end(x.body);
  });
}

/** A fresh value for whatever the socket threw: its code and a scrubbed message, nothing else. */
function freshError(error: unknown): Error {
  const e = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: unknown;
    message?: unknown;
  };
  const message = scrubSecrets(typeof e.message === 'string' ? e.message : 'unknown error');
  return Object.assign(new Error(message), typeof e.code === 'string' ? { code: e.code } : {});
}

/**
 * Watches the sockets an agent keeps free between reads: when one closes that we did not close,
 * the listeners hear of it. One socket at a time (`maxSockets: 1`), so at most one watch.
 * `stop()` only stops listening: an agent replaced after a TLS file change is destroyed once its
 * requests in flight are done, and its sockets closing then is no news.
 */
function watchFreeSockets(agents: readonly http.Agent[], lost: () => void): { stop(): void } {
  const watched = new WeakSet<object>();
  let stopped = false;
  const onFree = (socket: { once(event: 'close', fn: () => void): unknown }): void => {
    if (watched.has(socket)) return;
    watched.add(socket);
    socket.once('close', () => {
      if (!stopped) lost();
    });
  };
  for (const agent of agents) agent.on('free', onFree);
  return {
    stop() {
      stopped = true;
      for (const agent of agents) agent.off('free', onFree);
    },
  };
}

/** The two https agents: fresh connections for writes, one kept-alive, watched one for reads. */
export interface HttpsAgents {
  readonly write: HttpsAgent;
  readonly read: HttpsAgent;
}

/**
 * Agents in use, counted per request, so that a replaced pair is destroyed when its last request
 * ends rather than under it (a share half-written on a destroyed socket is an error to sort out).
 */
function createAgentUse(): {
  begin(agent: http.Agent): void;
  end(agent: http.Agent): void;
  retire(agents: readonly http.Agent[]): void;
} {
  const inUse = new Map<http.Agent, number>();
  const retired = new Set<http.Agent>();
  const destroyIfIdle = (agent: http.Agent): void => {
    if (retired.has(agent) && !inUse.get(agent)) {
      retired.delete(agent);
      agent.destroy();
    }
  };
  return {
    begin: (agent) => inUse.set(agent, (inUse.get(agent) ?? 0) + 1),
    end(agent) {
      const left = (inUse.get(agent) ?? 1) - 1;
      if (left > 0) inUse.set(agent, left);
      else inUse.delete(agent);
      destroyIfIdle(agent);
    },
    retire(agents) {
      for (const agent of agents) {
        retired.add(agent);
        destroyIfIdle(agent);
      }
    },
  };
}

export function createTransport(options: TransportOptions): Transport {
  // Writes: keepAlive off, a fresh connection each, so a share never meets a half-dead pooled
  // socket. Reads: one kept-alive connection, watched (see onConnectionLost). Explicit agents for
  // http too: never the (possibly proxied) global one.
  const { Agent } = httpModule();
  const httpAgent = new Agent({ keepAlive: false });
  const readHttpAgent = new Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 });
  const listeners: (() => void)[] = [];
  const lost = (): void => {
    for (const listener of listeners) listener();
  };
  const httpWatch = watchFreeSockets([readHttpAgent], lost);
  // Built at the first https request, not here: an http:// server never needs them.
  let httpsAgents: HttpsAgents | undefined;
  let httpsWatch: { stop(): void } | undefined;
  const currentHttpsAgents = (): HttpsAgents => {
    if (!httpsAgents) {
      httpsAgents = options.httpsAgents();
      httpsWatch = watchFreeSockets([httpsAgents.read], lost);
    }
    return httpsAgents;
  };
  const use = createAgentUse();
  const maxBytes = options.maxAnswerBytes ?? MAX_ANSWER_BYTES;
  const pending = new Set<AbortController>();
  let closed = false;

  const stopping = (): TransportFailure =>
    new TransportFailure({
      code: 'unreachable',
      message: `request to ${options.address} cancelled: the sidecar is stopping`,
    });

  const describe = (error: unknown, signal: AbortSignal): Error => {
    if (error instanceof TransportFailure) return error;
    if (signal.aborted && signal.reason === CLOSED) return stopping();
    if (signal.aborted && signal.reason === DEADLINE) {
      return new TransportFailure({
        code: 'timeout',
        message: `no complete answer from ${options.address} within ${options.deadlineMs} ms`,
      });
    }
    return freshError(error);
  };

  const agentFor = (tls: boolean, read: boolean): http.Agent => {
    if (!tls) return read ? readHttpAgent : httpAgent;
    const agents = currentHttpsAgents();
    return read ? agents.read : agents.write;
  };

  return {
    onConnectionLost(listener) {
      listeners.push(listener);
    },
    renewHttpsAgents() {
      if (!httpsAgents) return;
      httpsWatch?.stop();
      use.retire([httpsAgents.write, httpsAgents.read]);
      httpsAgents = undefined;
    },
    async send(request) {
      if (closed) throw stopping();
      const url = new URL(request.uri);
      const body =
        request.json === undefined ? undefined : Buffer.from(JSON.stringify(request.json));
      const controller = new AbortController();
      pending.add(controller);
      // One clock for connect, TLS, headers and body together: a total deadline, not idle time.
      const deadline = setTimeout(() => controller.abort(DEADLINE), options.deadlineMs);
      const agent = agentFor(url.protocol === 'https:', request.method === 'GET');
      use.begin(agent);
      try {
        return await exchange({
          url,
          method: request.method,
          body,
          agent,
          signal: controller.signal,
          maxBytes,
        });
      } catch (error) {
        throw describe(error, controller.signal);
      } finally {
        clearTimeout(deadline);
        pending.delete(controller);
        use.end(agent);
      }
    },
    close() {
      closed = true;
      httpWatch.stop();
      httpsWatch?.stop();
      const https = httpsAgents ? [httpsAgents.read, httpsAgents.write] : [];
      for (const agent of [readHttpAgent, ...https]) agent.destroy();
      for (const controller of pending) controller.abort(CLOSED);
    },
  };
}
