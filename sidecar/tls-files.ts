// The TLS files the sidecar talks to its server with (VAULT_CACERT, VAULT_CLIENT_CERT,
// VAULT_CLIENT_KEY), kept current. Read once at start they went stale for good: a CA rotated (a
// self-signed certificate or cert-manager's `selfSigned` issuer, re-issued) or an mTLS client
// certificate renewed, and the sidecar failed TLS until someone restarted it, while Vault stayed
// sealed and every probe said all was well.
//
// cert-manager and the kubelet replace the files by swapping the `..data` symlink of the mounted
// directory, so the directories are watched (common/dir-watcher.ts), and the files are compared by
// content; the client also asks for a re-read after each TLS failure (vault-client.ts), so a lost
// watch event heals at the next failure. New files are checked before use (each certificate
// parses, the key belongs to the certificate); files that are unreadable or unusable after start
// leave the last good ones in use, and say so in the log once (per problem). A `subPath` mount is
// never updated by the kubelet: mount the directory.
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { watchDirectories, type DirWatcher } from '../common/dir-watcher.js';
import { cryptoModule, tlsModule } from '../common/lazy-builtins.js';
import { displayPath } from './display-path.js';
import { scrubSecrets } from './scrub.js';

/** PEM text of each file, or undefined when its setting is not set. */
export interface TlsMaterial {
  readonly ca: string | undefined;
  readonly cert: string | undefined;
  readonly key: string | undefined;
}

type Part = keyof TlsMaterial;

/** Where each file is, and the setting that named it (for messages). */
export type TlsFilePaths = Readonly<
  Record<Part, { readonly setting: string; readonly path: string | undefined }>
>;

export interface TlsFileSource {
  current(): TlsMaterial;
  /** Re-reads the files; resolves true when new material is now in use. */
  refresh(): Promise<boolean>;
  /** Called with the new material after each change. */
  onChange(listener: (material: TlsMaterial) => void): void;
  close(): Promise<void>;
}

const PARTS: readonly Part[] = ['ca', 'cert', 'key'];
/** A PEM certificate block whose armour lines stand on lines of their own, as OpenSSL reads them. */
const PEM_CERTIFICATE =
  /^-----BEGIN CERTIFICATE-----\r?\n[\s\S]*?^-----END CERTIFICATE-----\s*?$/gm;
const BEGIN_CERTIFICATE = /-----BEGIN CERTIFICATE-----/g;

/** Why a PEM bundle cannot be used as certificates, or undefined when every one parses. */
export function certificateProblem(pem: string): string | undefined {
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) return 'holds no PEM certificate';
  // Two files joined without a newline (`-----END CERTIFICATE----------BEGIN …`): OpenSSL then
  // loses the first certificate, and every handshake fails.
  if ((pem.match(BEGIN_CERTIFICATE) ?? []).length !== blocks.length) {
    return 'holds a PEM block that does not start on a line of its own';
  }
  for (const block of blocks) {
    try {
      new (cryptoModule().X509Certificate)(block);
    } catch {
      return 'holds a certificate that does not parse';
    }
  }
  return undefined;
}

/** Which file makes the material unusable, and why; undefined when it can be used. */
export function materialProblem(
  material: TlsMaterial,
): { readonly part: Part; readonly reason: string } | undefined {
  for (const part of ['ca', 'cert'] as const) {
    const text = material[part];
    const reason = text === undefined ? undefined : certificateProblem(text);
    if (reason) return { part, reason };
  }
  if (material.cert !== undefined && material.key !== undefined) {
    try {
      // node:tls only when a client certificate is configured (common/lazy-builtins.ts).
      tlsModule().createSecureContext({ cert: material.cert, key: material.key });
    } catch (error) {
      const text = error instanceof Error ? scrubSecrets(error.message) : 'unusable';
      return { part: 'key', reason: `is not the key of the client certificate (${text})` };
    }
  }
  return undefined;
}

/** When the client certificate expired (ISO), if it has by `now`; undefined otherwise. */
export function expiredAt(cert: string | undefined, now: number): string | undefined {
  if (cert === undefined) return undefined;
  try {
    const notAfter = Date.parse(new (cryptoModule().X509Certificate)(cert).validTo);
    return notAfter < now ? new Date(notAfter).toISOString() : undefined;
  } catch {
    return undefined;
  }
}

const same = (a: TlsMaterial, b: TlsMaterial): boolean =>
  PARTS.every((part) => a[part] === b[part]);

export interface TlsFileSourceDeps {
  readonly paths: TlsFilePaths;
  /** What was read at start (an unreadable file there is a config error, exit 2). */
  readonly initial: TlsMaterial;
  readonly logger: Logger;
  /** Watch the files' directories; off only in tests of the re-read on failure. */
  readonly watch?: boolean;
}

export function createTlsFileSource(deps: TlsFileSourceDeps): TlsFileSource {
  const { paths, logger } = deps;
  let current = deps.initial;
  let reported: string | undefined;
  let running: Promise<boolean> | undefined;
  const listeners: ((material: TlsMaterial) => void)[] = [];

  /** A problem is logged when it is new: once, not at every failed request or watch event. */
  const report = (setting: string, path: string | undefined, reason: string): void => {
    const text = `${setting} (${displayPath(path ?? '')}) ${reason}`;
    if (text === reported) return;
    reported = text;
    logger.error(
      { setting, path: displayPath(path ?? '') },
      `TLS file ${text}; still using the TLS files read before`,
    );
  };

  const read = async (): Promise<TlsMaterial | undefined> => {
    const next: Partial<Record<Part, string | undefined>> = {};
    for (const part of PARTS) {
      const { setting, path } = paths[part];
      if (path === undefined) continue;
      try {
        next[part] = await readFile(path, 'utf8');
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        report(setting, path, `cannot be read (${typeof code === 'string' ? code : 'error'})`);
        return undefined;
      }
    }
    return { ca: next.ca, cert: next.cert, key: next.key };
  };

  const attempt = async (): Promise<boolean> => {
    const next = await read();
    if (!next) return false;
    if (same(next, current)) {
      if (reported !== undefined) logger.info('TLS files usable again, and unchanged');
      reported = undefined;
      return false;
    }
    const problem = materialProblem(next);
    if (problem) {
      report(paths[problem.part].setting, paths[problem.part].path, problem.reason);
      return false;
    }
    const changed = PARTS.filter((part) => next[part] !== current[part]).map(
      (part) => paths[part].setting,
    );
    current = next;
    reported = undefined;
    logger.info({ changed }, 'TLS files changed: new connections to the server use them');
    for (const listener of listeners) listener(next);
    return true;
  };

  // One re-read at a time: a watch event during a re-read waits for it, then reads again.
  const refresh = async (): Promise<boolean> => {
    while (running) await running;
    running = attempt();
    try {
      return await running;
    } finally {
      running = undefined;
    }
  };

  const dirs = [
    ...new Set(PARTS.flatMap((part) => (paths[part].path ? [dirname(paths[part].path)] : []))),
  ];
  const watcher: DirWatcher | undefined =
    deps.watch === false || dirs.length === 0
      ? undefined
      : watchDirectories(dirs, () => void refresh());

  return {
    current: () => current,
    refresh,
    onChange(listener) {
      listeners.push(listener);
    },
    async close() {
      await watcher?.close();
    },
  };
}
