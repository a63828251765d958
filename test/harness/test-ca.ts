// A real, throw-away certificate authority for tests: the webhook's TLS hot reload and OpenBao's
// TLS listeners both need certificates that a strict client (Node's tls, Go's crypto/tls) accepts.
//
// Go rejects CN-only server certificates (linkerd#4945), so every issued certificate carries SANs,
// the serverAuth EKU and digitalSignature key usage; the CA carries basicConstraints CA:true and
// keyCertSign. Keys are ECDSA P-256, exported as PKCS#8 PEM (`BEGIN PRIVATE KEY`), which both Node
// and Go load.
// @peculiar/x509 resolves its algorithm providers through tsyringe, which needs the Reflect
// metadata polyfill loaded first.
import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

export interface IssueOptions {
  readonly commonName: string;
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** `client`: an mTLS client certificate (clientAuth EKU, which Go checks); `server` by default. */
  readonly usage?: 'server' | 'client';
}

export interface IssuedCert {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface TestCa {
  readonly certPem: string;
  readonly keyPem: string;
  issue(opts: IssueOptions): Promise<IssuedCert>;
}

// Passed explicitly to every call instead of setting @peculiar/x509's global provider.
const crypto = webcrypto;
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const ONE_DAY_MS = 24 * 3_600_000;

async function generateKeys(): Promise<CryptoKeyPair> {
  return await crypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/** A positive serial number (the top bit clear), 16 random bytes as RFC 5280 recommends. */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return bytes.toString('hex');
}

/** Backdated a minute so a client whose clock is slightly behind still accepts the certificate. */
function defaultValidity(): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  return { notBefore: new Date(now - 60_000), notAfter: new Date(now + ONE_DAY_MS) };
}

function escapeDnValue(value: string): string {
  return value.replace(/([,+"\\<>;=])/g, '\\$1');
}

export async function createTestCa(commonName = 'vault-autounseal test CA'): Promise<TestCa> {
  const caKeys = await generateKeys();
  const caName = `CN=${escapeDnValue(commonName)}`;
  const validity = defaultValidity();
  const caCert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serialNumber(),
      name: caName,
      notBefore: validity.notBefore,
      notAfter: new Date(validity.notAfter.getTime() + 6 * ONE_DAY_MS),
      signingAlgorithm: ALGORITHM,
      keys: caKeys,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
      ],
    },
    crypto,
  );

  const issue = async (opts: IssueOptions): Promise<IssuedCert> => {
    const keys = await generateKeys();
    const names: x509.JsonGeneralName[] = [
      ...(opts.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
      ...(opts.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
    ];
    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([
        opts.usage === 'client'
          ? x509.ExtendedKeyUsage.clientAuth
          : x509.ExtendedKeyUsage.serverAuth,
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
    ];
    if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names));
    const defaults = defaultValidity();
    const cert = await x509.X509CertificateGenerator.create(
      {
        serialNumber: serialNumber(),
        subject: `CN=${escapeDnValue(opts.commonName)}`,
        issuer: caCert.subject,
        notBefore: opts.notBefore ?? defaults.notBefore,
        notAfter: opts.notAfter ?? defaults.notAfter,
        signingAlgorithm: ALGORITHM,
        publicKey: keys.publicKey,
        signingKey: caKeys.privateKey,
        extensions,
      },
      crypto,
    );
    return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
  };

  return {
    certPem: caCert.toString('pem'),
    keyPem: await privateKeyPem(caKeys.privateKey),
    issue,
  };
}
