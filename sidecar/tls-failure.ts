// Which side of a TLS failure is wrong, and what to check. Pure: vault-client.ts passes the error's
// code and (scrubbed) message, and what it knows of our own client certificate.
//
// Two different problems fail the same handshake:
// - we could not verify the server's certificate: Node's own verdict, a code such as
//   UNABLE_TO_VERIFY_LEAF_SIGNATURE or ERR_TLS_CERT_ALTNAME_INVALID (VAULT_CACERT,
//   VAULT_TLS_SERVER_NAME);
// - the server refused ours: an alert *from the server*, which OpenSSL reports as "alert bad
//   certificate", "alert certificate required", "alert certificate expired", "alert unknown ca" …
//   (VAULT_CLIENT_CERT, VAULT_CLIENT_KEY). We are the client: an alert we receive is the peer's
//   complaint, and the only certificate a server judges is the client's. Go's crypto/tls, which
//   Vault and OpenBao use, sends "certificate required" for none (TLS 1.3), "unknown ca" for one
//   it cannot chain, "certificate expired" for one out of date, and "bad certificate" otherwise.
import type { VaultFailure } from './vault-client.js';

/** What the client knows of its own certificate when a request fails. */
export interface ClientCertView {
  /** Whether VAULT_CLIENT_CERT is set. */
  readonly configured: boolean;
  /** When the configured certificate expired (ISO), if it has: worth saying first. */
  readonly expiredAt?: string | undefined;
}

/** Node's codes for a server certificate it could not verify, and plain TLS protocol errors. */
const SERVER_CERT_CODES: ReadonlySet<string> = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
]);

/** A certificate alert received from the server, by OpenSSL's code or text. */
const CLIENT_CERT_ALERT_CODE =
  /^ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_(?:CERTIFICATE_REQUIRED|BAD_CERTIFICATE|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|UNKNOWN_CA|ACCESS_DENIED)$/;
const CLIENT_CERT_ALERT_TEXT =
  /alert (?:certificate required|bad certificate|certificate expired|certificate revoked|certificate unknown|unsupported certificate|unknown ca|access denied)/i;

const SERVER_HINT = "the server's certificate: check VAULT_CACERT and VAULT_TLS_SERVER_NAME";

function clientCertFailure(address: string, message: string, ours: ClientCertView): VaultFailure {
  if (!ours.configured) {
    return {
      code: 'tls',
      message:
        `${address} requires a client certificate, and none is configured: ${message} ` +
        '(set VAULT_CLIENT_CERT and VAULT_CLIENT_KEY)',
    };
  }
  const expired = ours.expiredAt ? `, which expired at ${ours.expiredAt}` : '';
  return {
    code: 'tls',
    message:
      `${address} refused our client certificate${expired}: ${message} ` +
      "(our certificate, not the server's: check VAULT_CLIENT_CERT and VAULT_CLIENT_KEY, " +
      'signed by a CA the server trusts and in date; changed files are read again)',
  };
}

/**
 * The failure for a TLS error, or undefined when `code` and `message` are not a TLS error.
 * `message` must already be scrubbed; `address` is the display address.
 */
export function describeTlsFailure(
  code: string,
  message: string,
  address: string,
  ours: ClientCertView,
): VaultFailure | undefined {
  if (CLIENT_CERT_ALERT_CODE.test(code) || CLIENT_CERT_ALERT_TEXT.test(message)) {
    return clientCertFailure(address, message, ours);
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number/i.test(message)) {
    return {
      code: 'tls',
      message: `${address} does not answer in TLS: ${message} (is it http://, not https://?)`,
    };
  }
  if (
    SERVER_CERT_CODES.has(code) ||
    code === 'EPROTO' ||
    code.startsWith('ERR_SSL_') ||
    /certificate|self.signed|tls|ssl/i.test(message)
  ) {
    return {
      code: 'tls',
      message: `TLS verification of ${address} failed: ${message} (${SERVER_HINT})`,
    };
  }
  return undefined;
}
