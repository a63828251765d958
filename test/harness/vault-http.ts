// A minimal JSON client for the Vault HTTP API, for test set-up and checks only (the product itself
// talks through node-vault in sidecar/vault-client.ts). Plain node:http so that tests do not share
// code paths with the thing they test.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface TlsClientOptions {
  readonly ca?: string;
  readonly servername?: string;
  /** A client certificate and key, for a listener that requires one. */
  readonly cert?: string;
  readonly key?: string;
}

export interface VaultHttpResponse {
  readonly status: number;
  readonly body: any;
}

export async function vaultRequest(
  addr: string,
  method: string,
  path: string,
  options: { body?: unknown; token?: string; tls?: TlsClientOptions; timeoutMs?: number } = {},
): Promise<VaultHttpResponse> {
  const url = new URL(`/v1/${path.replace(/^\//, '')}`, addr);
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    // Explicit: node:http sends a DELETE body neither chunked nor with a length unless told, so
    // the server would read none (Vault's rekey cancel needs its nonce in the body).
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  if (options.token) headers['x-vault-token'] = options.token;
  const requester = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = requester(
      url,
      {
        method,
        headers,
        timeout: options.timeoutMs ?? 10_000,
        ...(options.tls?.ca ? { ca: options.tls.ca } : {}),
        ...(options.tls?.servername ? { servername: options.tls.servername } : {}),
        ...(options.tls?.cert ? { cert: options.tls.cert, key: options.tls.key } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = text === '' ? undefined : JSON.parse(text);
          } catch {
            body = text;
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${url.pathname}`)));
    req.on('error', reject);
    req.end(payload);
  });
}
