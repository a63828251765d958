import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { describeVaultError, type VaultFailure } from '../../../sidecar/vault-client.js';
import { TransportFailure } from '../../../sidecar/vault-transport.js';

const SHARE = randomBytes(33).toString('hex');

describe('describeVaultError', () => {
  it('keeps nothing of an axios error but its code: the request body (the share) stays behind', () => {
    const axiosLike = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8200'), {
      code: 'ECONNREFUSED',
      config: { data: JSON.stringify({ key: SHARE }), url: 'http://127.0.0.1:8200/v1/sys/unseal' },
      request: { _header: `PUT /v1/sys/unseal\r\n\r\n{"key":"${SHARE}"}` },
    });
    const failure = describeVaultError(axiosLike, 'http://127.0.0.1:8200');
    expect(failure).toEqual({
      code: 'unreachable',
      message: 'cannot reach http://127.0.0.1:8200: ECONNREFUSED',
      errno: 'ECONNREFUSED',
    });
    expect(JSON.stringify(failure)).not.toContain(SHARE);
  });

  it('scrubs a server message that echoes a share', () => {
    const apiError = Object.assign(new Error(`invalid key ${SHARE}`), {
      response: { statusCode: 400, body: {} },
    });
    const failure = describeVaultError(apiError, 'http://x');
    expect(failure.code).toBe('http');
    expect(failure.httpStatus).toBe(400);
    expect(failure.message).not.toContain(SHARE);
    expect(failure.message).toContain('invalid key');
  });

  it.each([
    [{ code: 'ECONNABORTED', message: 'timeout of 5000ms exceeded' }, 'timeout'],
    [
      {
        code: 'SELF_SIGNED_CERT_IN_CHAIN',
        message: 'self-signed certificate in certificate chain',
      },
      'tls',
    ],
    [
      {
        code: 'ERR_TLS_CERT_ALTNAME_INVALID',
        message: "Hostname/IP does not match certificate's altnames",
      },
      'tls',
    ],
    [{ code: 'ECONNRESET', message: 'socket hang up' }, 'unreachable'],
  ])('classifies %j as %s', (error, code) => {
    expect(describeVaultError(error, 'https://127.0.0.1:8200').code).toBe(code);
  });
});

describe('describeVaultError, given a failure the transport already described', () => {
  it('passes it through unchanged: redirect, size cap, deadline and stop are worded there', () => {
    const failure: VaultFailure = {
      code: 'http',
      httpStatus: 307,
      message: 'server answered 307, a redirect',
    };
    expect(describeVaultError(new TransportFailure(failure), 'http://x')).toBe(failure);
  });
});
