// Which side of a TLS failure is wrong (sidecar/tls-failure.ts), from real Node 20 / OpenSSL 3
// codes and messages: the server refusing our certificate, or us refusing the server's.
import { describe, expect, it } from 'vitest';
import { describeTlsFailure } from '../../../sidecar/tls-failure.js';
import { describeVaultError } from '../../../sidecar/vault-client.js';

const ADDR = 'https://127.0.0.1:8200';
const alert = (n: number, text: string): string =>
  `80AC13D20D7F0000:error:0A000412:SSL routines:ssl3_read_bytes:${text}:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number ${n}\n`;

describe('an alert from the server about a certificate: ours', () => {
  it.each([
    // [Node's code, OpenSSL's text]
    ['ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', alert(116, 'tlsv13 alert certificate required')],
    ['ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', alert(42, 'sslv3 alert bad certificate')],
    ['ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED', alert(45, 'sslv3 alert certificate expired')],
    ['ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED', alert(44, 'sslv3 alert certificate revoked')],
    ['ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN', alert(46, 'sslv3 alert certificate unknown')],
    [
      'ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE',
      alert(43, 'sslv3 alert unsupported certificate'),
    ],
    ['ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', alert(48, 'tlsv1 alert unknown ca')],
    ['ERR_SSL_TLSV1_ALERT_ACCESS_DENIED', alert(49, 'tlsv1 alert access denied')],
    // The code alone, or the text alone (an `EPROTO` wrapping it), is enough.
    ['ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', 'no text'],
    ['EPROTO', `write EPROTO ${alert(42, 'sslv3 alert bad certificate')}`],
  ])('%s names VAULT_CLIENT_CERT, not VAULT_CACERT', (code, message) => {
    const failure = describeTlsFailure(code, message, ADDR, { configured: true });
    expect(failure?.code).toBe('tls');
    expect(failure?.message).toBe(
      `${ADDR} refused our client certificate: ${message} (our certificate, not the server's: ` +
        'check VAULT_CLIENT_CERT and VAULT_CLIENT_KEY, signed by a CA the server trusts and in ' +
        'date; changed files are read again)',
    );
  });

  it('says when none is configured', () => {
    const message = alert(116, 'tlsv13 alert certificate required');
    expect(
      describeTlsFailure('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', message, ADDR, {
        configured: false,
      }),
    ).toEqual({
      code: 'tls',
      message: `${ADDR} requires a client certificate, and none is configured: ${message} (set VAULT_CLIENT_CERT and VAULT_CLIENT_KEY)`,
    });
  });

  it('says when ours has expired', () => {
    const failure = describeTlsFailure('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', 'x', ADDR, {
      configured: true,
      expiredAt: '2026-01-01T00:00:00.000Z',
    });
    expect(failure?.message).toMatch(
      /^https:\/\/127\.0\.0\.1:8200 refused our client certificate, which expired at 2026-01-01T00:00:00\.000Z: x \(/,
    );
  });
});

describe("our verdict on the server's certificate", () => {
  it.each([
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'],
    ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'unable to get local issuer certificate'],
    ['UNABLE_TO_GET_ISSUER_CERT', 'unable to get issuer certificate'],
    ['CERT_HAS_EXPIRED', 'certificate has expired'],
    ['CERT_NOT_YET_VALID', 'certificate is not yet valid'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"],
    ['CERT_SIGNATURE_FAILURE', 'certificate signature failure'],
    ['CERT_UNTRUSTED', 'x'],
    ['CERT_REJECTED', 'x'],
    ['INVALID_CA', 'x'],
    // A TLS protocol failure that is not about a certificate: still TLS, the general hint.
    ['EPROTO', 'write EPROTO sslv3 alert handshake failure'],
    ['ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'x'],
    // Recognised by the text only.
    ['', 'some tls trouble'],
    ['', 'an SSL routine failed'],
  ])('%s names VAULT_CACERT and VAULT_TLS_SERVER_NAME', (code, message) => {
    expect(describeTlsFailure(code, message, ADDR, { configured: true })).toEqual({
      code: 'tls',
      message: `TLS verification of ${ADDR} failed: ${message} (the server's certificate: check VAULT_CACERT and VAULT_TLS_SERVER_NAME)`,
    });
  });
});

describe('a server that does not speak TLS', () => {
  it.each([
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'x'],
    ['EPROTO', 'write EPROTO …:wrong version number:…'],
  ])('%s asks whether the address should be http://', (code, message) => {
    expect(describeTlsFailure(code, message, ADDR, { configured: false })).toEqual({
      code: 'tls',
      message: `${ADDR} does not answer in TLS: ${message} (is it http://, not https://?)`,
    });
  });
});

describe('not TLS at all', () => {
  it.each([
    ['ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:8200'],
    ['ECONNRESET', 'socket hang up'],
    ['', 'unknown error'],
  ])('%s is left to the caller', (code, message) => {
    expect(describeTlsFailure(code, message, ADDR, { configured: true })).toBeUndefined();
  });

  it('is unreachable for describeVaultError, which passes what it knows of our certificate', () => {
    expect(describeVaultError({ code: 'ECONNRESET', message: 'socket hang up' }, ADDR)).toEqual({
      code: 'unreachable',
      message: `cannot reach ${ADDR}: ECONNRESET`,
      errno: 'ECONNRESET',
    });
    expect(
      describeVaultError({ code: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', message: 'm' }, ADDR, {
        configured: true,
      }).message,
    ).toContain('refused our client certificate');
    // OpenSSL's trailing newline does not split the message from its hint.
    expect(
      describeVaultError(
        { code: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', message: alert(48, 'tlsv1 alert unknown ca') },
        ADDR,
        { configured: true },
      ).message,
    ).toMatch(/SSL alert number 48 \(our certificate/);
    // Without it, a certificate alert is read as "none configured".
    expect(
      describeVaultError({ code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', message: 'm' }, ADDR)
        .message,
    ).toContain('none is configured');
  });
});
