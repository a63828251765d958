// The sidecar's only door to the server: node-vault behind a small typed port. node-vault returns
// `any`, rejects with errors whose axios `config.data` holds the request body (the share!), reads
// VAULT_SKIP_VERIFY="false" as "skip", and picks up VAULT_TOKEN / VAULT_NAMESPACE / VAULT_PREFIX
// from the environment (a namespace header breaks unseal on OpenBao 2.3+, a prefix changes the
// path). So: explicit options only, our own wire under it (vault-transport.ts says why), and every
// failure is turned into a fresh, secret-free value here, before anything else can see it.
import type { AgentOptions } from 'node:https';
import nodeVault from 'node-vault';
import { httpsModule } from '../common/lazy-builtins.js';
import type { SealStatus } from './seal-round.js';
import { isKeySetRejection, type UnsealAnswer } from './seal-round.js';
import { displayAddress } from './display-path.js';
import { scrubSecrets } from './scrub.js';
import { describeTlsFailure, type ClientCertView } from './tls-failure.js';
import { expiredAt, type TlsFileSource, type TlsMaterial } from './tls-files.js';
import {
  createTransport,
  TransportFailure,
  type HttpsAgents,
  type NodeVaultRequest,
} from './vault-transport.js';

export type VaultErrorCode =
  'unreachable' | 'timeout' | 'tls' | 'http' | 'rate-limited' | 'bad-answer';

/** A failure talking to the server, safe to log and to show in `/status`. */
export interface VaultFailure {
  readonly code: VaultErrorCode;
  readonly message: string;
  readonly httpStatus?: number;
  /**
   * For `unreachable`: the system error code (ECONNREFUSED, ECONNRESET, ...), when there was one.
   * A refused or reset connection is what a restarting server looks like (outage-level.ts).
   */
  readonly errno?: string;
}

export type StatusResult =
  | { readonly ok: true; readonly status: SealStatus }
  | { readonly ok: false; readonly failure: VaultFailure };

export type SubmitResult = UnsealAnswer & { readonly failure?: VaultFailure };

export interface VaultPort {
  sealStatus(): Promise<StatusResult>;
  /** Sends one share; `wasLastShare` tells how to read a timeout (see seal-round.ts). */
  submitShare(shareHex: string, wasLastShare: boolean): Promise<SubmitResult>;
  /** Clears a stuck round (`reset: true`). */
  resetRound(): Promise<{ ok: boolean; failure?: VaultFailure }>;
}

/**
 * The idle connection to the server closed: a reason to check now (the server may have restarted),
 * never a reason to submit. See vault-transport.ts.
 */
export interface ConnectionWatch {
  onConnectionLost(listener: () => void): void;
}

/** The port plus what only the composition root needs. */
export interface VaultClient extends VaultPort, ConnectionWatch {
  /**
   * Aborts every request in flight (each then fails at once) and refuses new ones. Shutdown calls
   * it before stopping the loop, which waits for its tick: a hung server must not hold the exit.
   */
  close(): void;
}

export interface VaultClientOptions {
  readonly address: string;
  /**
   * The PEM text of VAULT_CACERT, VAULT_CLIENT_CERT and VAULT_CLIENT_KEY: fixed, or a source that
   * re-reads the files when they change (tls-files.ts). With a source, new agents are built on
   * each change, and the files are read again after each TLS failure.
   */
  readonly tls: TlsMaterial | Pick<TlsFileSource, 'current' | 'refresh' | 'onChange'>;
  readonly tlsServerName: string | undefined;
  readonly skipVerify: boolean;
  /** A total deadline per request: connect, TLS, headers and body together. */
  readonly requestTimeoutMs: number;
}

/** Turns anything node-vault or axios threw into a secret-free failure. Never keeps the error object. */
export function describeVaultError(
  error: unknown,
  address: string,
  ours: ClientCertView = { configured: false },
): VaultFailure {
  if (error instanceof TransportFailure) return error.failure;
  const e = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: unknown;
    message?: unknown;
    response?: { statusCode?: unknown };
  };
  const code = typeof e.code === 'string' ? e.code : '';
  // Trimmed: OpenSSL ends its text with a newline, which would split the hint from it.
  const message = scrubSecrets(typeof e.message === 'string' ? e.message : 'unknown error').trim();
  const statusCode = e.response?.statusCode;
  if (statusCode === 429) {
    // The server answered, so it is up: a rate-limit quota (Vault exempts sys/seal-status and
    // sys/unseal by default; `rate_limit_exempt_paths` can take that away) or a proxy in front.
    return {
      code: 'rate-limited',
      httpStatus: 429,
      message: `server answered 429 Too Many Requests (a rate-limit quota on sys/seal-status or sys/unseal, or a proxy in front of the server?); backing off: ${message}`,
    };
  }
  if (typeof statusCode === 'number') {
    return {
      code: 'http',
      httpStatus: statusCode,
      message: `server answered ${statusCode}: ${message}`,
    };
  }
  return describeTransportError(code, message, address, ours);
}

function describeTransportError(
  code: string,
  message: string,
  address: string,
  ours: ClientCertView,
): VaultFailure {
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT' || /timeout/i.test(message)) {
    return { code: 'timeout', message: `no answer from ${address} in time` };
  }
  return (
    describeTlsFailure(code, message, address, ours) ?? {
      code: 'unreachable',
      message: `cannot reach ${address}: ${code || message}`,
      ...(code ? { errno: code } : {}),
    }
  );
}

function toSealStatus(body: unknown): SealStatus | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as Record<string, unknown>;
  if (typeof b.sealed !== 'boolean') return undefined;
  const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  return {
    // An unseal answer carries no `initialized`; it is only ever given by an initialised server.
    initialized: typeof b.initialized === 'boolean' ? b.initialized : true,
    sealed: b.sealed,
    threshold: num(b.t),
    shares: num(b.n),
    progress: num(b.progress),
    nonce: str(b.nonce),
    recoverySeal: b.recovery_seal === true,
    type: str(b.type),
    version: str(b.version),
  };
}

export function createVaultClient(options: VaultClientOptions): VaultClient {
  // Every message names the server without the userinfo VAULT_ADDR may carry.
  const shown = displayAddress(options.address);
  const source = 'current' in options.tls ? options.tls : undefined;
  const fixed = options.tls as TlsMaterial;
  const material = (): TlsMaterial => (source ? source.current() : fixed);
  // Called by the transport at its first https request (none for an http:// VAULT_ADDR), and at the
  // next one after the files change: node:https is loaded only then (common/lazy-builtins.ts).
  const agentsFor = (files: TlsMaterial): HttpsAgents => {
    const { Agent } = httpsModule();
    const tls: AgentOptions = {
      rejectUnauthorized: !options.skipVerify,
      ...(files.ca !== undefined ? { ca: files.ca } : {}),
      ...(files.cert !== undefined ? { cert: files.cert } : {}),
      ...(files.key !== undefined ? { key: files.key } : {}),
      ...(options.tlsServerName !== undefined ? { servername: options.tlsServerName } : {}),
    };
    return {
      write: new Agent({ ...tls, keepAlive: false }),
      read: new Agent({ ...tls, keepAlive: true, maxSockets: 1, maxFreeSockets: 1 }),
    };
  };
  const transport = createTransport({
    address: shown,
    httpsAgents: () => agentsFor(material()),
    deadlineMs: options.requestTimeoutMs,
  });
  // New files, new agents: the next request (and the next kept-alive read) uses them.
  source?.onChange(() => transport.renewHttpsAgents());

  // After a TLS failure, the files are compared with what is in use (at most once a second): a
  // rotation whose watch event was lost is then picked up at the next request.
  let lastRefresh = Number.NEGATIVE_INFINITY;
  const failed = async (error: unknown): Promise<VaultFailure> => {
    const files = material();
    const failure = describeVaultError(error, shown, {
      configured: files.cert !== undefined,
      expiredAt: expiredAt(files.cert, Date.now()),
    });
    if (failure.code === 'tls' && source && performance.now() - lastRefresh >= 1_000) {
      lastRefresh = performance.now();
      await source.refresh();
    }
    return failure;
  };

  const client = nodeVault({
    endpoint: options.address,
    // node-vault's `debug` would print request bodies (shares) when DEBUG=node-vault is set.
    debug: () => undefined,
    // node-vault's hook for its HTTP layer: `defaults()` returns the function every request goes
    // through. It replaces node-vault's axios (and so its TLS, proxy and redirect handling).
    'request-promise': { defaults: () => (request: NodeVaultRequest) => transport.send(request) },
  });
  // Neither a token nor a namespace is needed for seal-status and unseal, a namespace header makes
  // OpenBao 2.3+ refuse unseal, and a prefix sends the calls to another path: drop whatever
  // node-vault picked up from the environment. (The transport sends neither header anyway.)
  Object.assign(client, { token: undefined, namespace: undefined, pathPrefix: '' });

  const asStatus = (body: unknown): StatusResult => {
    const status = toSealStatus(body);
    return status
      ? { ok: true, status }
      : {
          ok: false,
          failure: { code: 'bad-answer', message: 'the server answered without a seal status' },
        };
  };

  return {
    async sealStatus() {
      try {
        return asStatus(await client.status());
      } catch (error) {
        return { ok: false, failure: await failed(error) };
      }
    },
    async submitShare(shareHex, wasLastShare) {
      try {
        const status = toSealStatus(await client.unseal({ key: shareHex }));
        if (status) return { kind: 'status', status };
        return {
          kind: 'error',
          wasLastShare,
          failure: { code: 'bad-answer', message: 'unseal answered without a seal status' },
        };
      } catch (error) {
        const failure = await failed(error);
        if (
          failure.httpStatus !== undefined &&
          isKeySetRejection(failure.httpStatus, failure.message)
        ) {
          return { kind: 'rejected', failure };
        }
        return { kind: 'error', wasLastShare, failure };
      }
    },
    async resetRound() {
      try {
        await client.unseal({ reset: true });
        return { ok: true };
      } catch (error) {
        return { ok: false, failure: await failed(error) };
      }
    },
    onConnectionLost: (listener) => transport.onConnectionLost(listener),
    close: () => transport.close(),
  };
}
