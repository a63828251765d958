// The last-resort scrubber (sidecar/scrub.ts): every form of a share and every token goes, while
// the text that says what is wrong (OpenSSL's and Node's own messages, paths, long words) stays.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REDACTED, scrubSecrets } from '../../../sidecar/scrub.js';

/** A share as OpenBao and Vault make it: 33 bytes (or 32 and more, for other secrets). */
const shareBytes = fc.uint8Array({ minLength: 32, maxLength: 65 }).map((a) => Buffer.from(a));
const forms: readonly [string, (b: Buffer) => string][] = [
  ['hex', (b) => b.toString('hex')],
  ['upper-case hex', (b) => b.toString('hex').toUpperCase()],
  ['base64', (b) => b.toString('base64')],
  ['base64 without padding', (b) => b.toString('base64').replace(/=+$/, '')],
];
const tokenChars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
const token = fc
  .tuple(
    fc.constantFrom('hvs.', 'hvb.', 'hvr.', 's.', 'b.', 'r.'),
    fc.string({ unit: fc.constantFrom(...tokenChars), minLength: 16, maxLength: 120 }),
  )
  .map(([prefix, body]) => `${prefix}${body}`);
/** Text around a secret, as a message or a JSON body would put it. */
const around = fc.constantFrom(
  ['', ''],
  ['invalid key ', ''],
  ['{"key":"', '"}'],
  ['unseal failed: ', ': try again'],
  ['(', ')'],
  ['key=', '\n'],
);

describe('scrubSecrets removes', () => {
  it.each(forms)('every share written as %s, in any surrounding text', (_name, encode) => {
    fc.assert(
      fc.property(shareBytes, around, (bytes, [before, after]) => {
        const secret = encode(bytes);
        const scrubbed = scrubSecrets(`${before}${secret}${after}`);
        expect(scrubbed).not.toContain(secret);
        expect(scrubbed).toContain(REDACTED);
      }),
      { numRuns: 2_000 },
    );
  });

  it('every Vault/OpenBao token', () => {
    fc.assert(
      fc.property(token, around, (secret, [before, after]) => {
        expect(scrubSecrets(`${before}${secret}${after}`)).not.toContain(secret);
      }),
      { numRuns: 2_000 },
    );
  });

  it('a real-looking share and token together', () => {
    const share = randomBytes(33);
    const text = `a ${share.toString('hex')} b ${share.toString('base64')} c hvs.CAESIJxxxxxxxxxxxxxxxxxxxxxxxx d`;
    expect(scrubSecrets(text)).toBe('a [redacted] b [redacted] c [redacted] d');
  });
});

describe('scrubSecrets leaves alone', () => {
  it.each([
    // Node 20 / OpenSSL 3, as the transport meets them (the thread id in front is 16 hex digits).
    'self-signed certificate',
    'self-signed certificate in certificate chain',
    'unable to verify the first certificate',
    'unable to get local issuer certificate',
    'certificate has expired',
    "Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list: ",
    "Hostname/IP does not match certificate's altnames: Host: vault-0.vault-internal. is not in the cert's altnames: DNS:vault.vault.svc.cluster.local",
    '80AC13D20D7F0000:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 116\n',
    '80AC13D20D7F0000:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 42\n',
    '80AC13D20D7F0000:error:0A000415:SSL routines:ssl3_read_bytes:sslv3 alert certificate expired:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1605:SSL alert number 45\n',
    '80AC13D20D7F0000:error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1605:SSL alert number 48\n',
    'write EPROTO 80AC13D20D7F0000:error:0A000410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 40\n',
    'write EPROTO 80AC13D20D7F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n',
    'error:0A000086:SSL routines::certificate verify failed',
    'error:1E08010C:DECODER routines::unsupported',
    'error:0480006C:PEM routines::no start line',
    'error:05800074:x509 certificate routines::key values mismatch',
    'Client network socket disconnected before secure TLS connection was established',
    'connect ECONNREFUSED 127.0.0.1:8200',
    'getaddrinfo ENOTFOUND vault-0.vault-internal.vault.svc.cluster.local',
    'socket hang up',
    // Paths, including long ones of lower-case words.
    '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
    '/vault/userconfig/vault-server-tls/vault.ca',
    'cannot read /etc/vault/tls/client/certificates/current/bundle/ca.pem (ENOENT)',
    '/usr/local/lib/node_modules/vault/autounseal/sidecar/dist/program.js',
    '/var/lib/kubelet/pods/longpodname/volumes/kubernetes/secretvolumename/certificate',
    // Long words and ordinary sentences.
    'pneumonoultramicroscopicsilicovolcanoconiosis',
    'the server answered 503: Vault is sealed',
  ])('%j', (text) => {
    expect(scrubSecrets(text)).toBe(text);
  });
});
