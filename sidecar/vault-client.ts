// The sidecar's only door to the server: node-vault behind a small typed port. node-vault returns
// `any`, rejects with errors whose axios `config.data` holds the request body (the share!), reads
// VAULT_SKIP_VERIFY="false" as "skip", and picks up VAULT_TOKEN / VAULT_NAMESPACE / VAULT_PREFIX
// from the environment (a namespace header breaks unseal on OpenBao 2.3+, a prefix changes the
// path). So: explicit options only, our own wire under it (vault-transport.ts says why), and every
// failure is turned into a fresh, secret-free value here, before anything else can see it.
import { Agent } from 'node:https';
import nodeVault from 'node-vault';
import type { SealStatus } from './seal-round.js';
import { isKeySetRejection, type UnsealAnswer } from './seal-round.js';
import { scrubSecrets } from './scrub.js';
import { createTransport, TransportFailure, type NodeVaultRequest } from './vault-transport.js';

export type VaultErrorCode =
  'unreachable' | 'timeout' | 'tls' | 'http' | 'rate-limited' | 'bad-answer';

/** A failure talking to the server, safe to log and to show in `/status`. */
export interface VaultFailure {
  readonly code: VaultErrorCode;
  readonly message: string;
  readonly httpStatus?: number;
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
  readonly ca: string | undefined;
  readonly clientCert: string | undefined;
  readonly clientKey: string | undefined;
  readonly tlsServerName: string | undefined;
  readonly skipVerify: boolean;
  /** A total deadline per request: connect, TLS, headers and body together. */
  readonly requestTimeoutMs: number;
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
  'EPROTO',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

/** Turns anything node-vault or axios threw into a secret-free failure. Never keeps the error object. */
export function describeVaultError(error: unknown, address: string): VaultFailure {
  if (error instanceof TransportFailure) return error.failure;
  const e = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: unknown;
    message?: unknown;
    response?: { statusCode?: unknown };
  };
  const code = typeof e.code === 'string' ? e.code : '';
  const message = scrubSecrets(typeof e.message === 'string' ? e.message : 'unknown error');
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
  return describeTransportError(code, message, address);
}

function describeTransportError(code: string, message: string, address: string): VaultFailure {
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT' || /timeout/i.test(message)) {
    return { code: 'timeout', message: `no answer from ${address} in time` };
  }
  if (TLS_CODES.has(code) || /certificate|self.signed|tls|ssl/i.test(message)) {
    return {
      code: 'tls',
      message: `TLS verification of ${address} failed: ${message} (check VAULT_CACERT and VAULT_TLS_SERVER_NAME)`,
    };
  }
  return { code: 'unreachable', message: `cannot reach ${address}: ${code || message}` };
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
  const tls = {
    rejectUnauthorized: !options.skipVerify,
    ...(options.ca !== undefined ? { ca: options.ca } : {}),
    ...(options.clientCert !== undefined ? { cert: options.clientCert } : {}),
    ...(options.clientKey !== undefined ? { key: options.clientKey } : {}),
    ...(options.tlsServerName !== undefined ? { servername: options.tlsServerName } : {}),
  };
  const transport = createTransport({
    address: options.address,
    httpsAgent: new Agent({ ...tls, keepAlive: false }),
    keepAliveHttpsAgent: new Agent({ ...tls, keepAlive: true, maxSockets: 1, maxFreeSockets: 1 }),
    deadlineMs: options.requestTimeoutMs,
  });
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
        return { ok: false, failure: describeVaultError(error, options.address) };
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
        const failure = describeVaultError(error, options.address);
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
        return { ok: false, failure: describeVaultError(error, options.address) };
      }
    },
    onConnectionLost: (listener) => transport.onConnectionLost(listener),
    close: () => transport.close(),
  };
}
