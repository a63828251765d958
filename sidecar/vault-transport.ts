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
import http from 'node:http';
import https from 'node:https';
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
  /** VAULT_ADDR as given, for messages. */
  readonly address: string;
  readonly httpsAgent: https.Agent;
  readonly deadlineMs: number;
  readonly maxAnswerBytes?: number;
}

export interface Transport {
  send(request: NodeVaultRequest): Promise<NodeVaultResponse>;
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
    const request = (x.url.protocol === 'https:' ? https : http).request(
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

export function createTransport(options: TransportOptions): Transport {
  // keepAlive off: each check opens its own connection, so a server restart never meets a
  // half-dead pooled socket. An explicit agent for http too: never the (possibly proxied) global.
  const httpAgent = new http.Agent({ keepAlive: false });
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

  return {
    async send(request) {
      if (closed) throw stopping();
      const url = new URL(request.uri);
      const body =
        request.json === undefined ? undefined : Buffer.from(JSON.stringify(request.json));
      const controller = new AbortController();
      pending.add(controller);
      // One clock for connect, TLS, headers and body together: a total deadline, not idle time.
      const deadline = setTimeout(() => controller.abort(DEADLINE), options.deadlineMs);
      try {
        return await exchange({
          url,
          method: request.method,
          body,
          agent: url.protocol === 'https:' ? options.httpsAgent : httpAgent,
          signal: controller.signal,
          maxBytes,
        });
      } catch (error) {
        throw describe(error, controller.signal);
      } finally {
        clearTimeout(deadline);
        pending.delete(controller);
      }
    },
    close() {
      closed = true;
      for (const controller of pending) controller.abort(CLOSED);
    },
  };
}
