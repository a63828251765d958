// Node's network modules stay out of a process until a path needs them (common/lazy-builtins.ts,
// docs/footprint.md): on Node 24 an ES import of node:http alone loads undici, node:tls and
// node:http2, about 13 MiB, and node:https costs about 8.5 MiB to a sidecar talking plain HTTP.
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cryptoModule, httpModule, httpsModule, tlsModule } from '../../../common/lazy-builtins.js';
import { createTransport, type HttpsAgents } from '../../../sidecar/vault-transport.js';
import { repoRoot } from '../../harness/repo-root.js';

describe('the lazy loaders', () => {
  it("give Node's own modules", async () => {
    expect(cryptoModule().X509Certificate).toBe((await import('node:crypto')).X509Certificate);
    expect(httpModule().request).toBe(http.request);
    expect(httpsModule().Agent).toBe(https.Agent);
    expect(tlsModule().createSecureContext).toBe((await import('node:tls')).createSecureContext);
  });
});

describe("the programs' sources", () => {
  // A value import (not `import type`) loads the module at start. Multi-line imports included.
  const valueImports = (modules: string): RegExp =>
    new RegExp(`^import\\s+(?!type\\s)[^;]*?\\sfrom\\s+'node:(${modules})'`, 'gm');
  const sources = (dir: string): string[] =>
    readdirSync(join(repoRoot(), dir))
      .filter((name) => name.endsWith('.ts'))
      .map((name) => join(dir, name));
  const read = (file: string): string => readFileSync(join(repoRoot(), file), 'utf8');

  // node:http through an ES import loads undici, tls and http2 on Node 24; http2 is never used.
  it.each([...sources('sidecar'), ...sources('webhook'), ...sources('common')])(
    '%s imports neither node:http nor node:http2 as a value',
    (file) => {
      expect(read(file).match(valueImports('http|http2')) ?? []).toEqual([]);
    },
  );

  // The webhook is an https server and loads https and tls anyway; the sidecar only for https.
  it.each([...sources('sidecar'), ...sources('common')])(
    '%s imports neither node:https nor node:tls as a value',
    (file) => {
      expect(read(file).match(valueImports('https|tls')) ?? []).toEqual([]);
    },
  );

  // The webhook loads tls and crypto anyway, but by require: an ES import reads every export
  // (crypto's webcrypto, tls's rootCertificates), about 0.4 MiB more on Node 24.
  it.each(sources('webhook'))('%s imports neither node:tls nor node:crypto as a value', (file) => {
    expect(read(file).match(valueImports('tls|crypto')) ?? []).toEqual([]);
  });

  // node:crypto costs a plain-HTTP sidecar about 2 MiB on Node 24: only TLS file checks load it.
  it.each([...sources('sidecar'), ...sources('common')])(
    '%s imports node:crypto only as a type',
    (file) => {
      expect(read(file).match(valueImports('crypto')) ?? []).toEqual([]);
    },
  );
});

describe('the transport, given an http:// server', () => {
  const servers: ReturnType<typeof createServer>[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  it('never builds https agents: not at creation, not for a request, not on renewal or close', async () => {
    const server = createServer((_, res) => res.end('{"sealed":false}'));
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    let built = 0;
    const transport = createTransport({
      address: `http://127.0.0.1:${port}`,
      httpsAgents: (): HttpsAgents => {
        built += 1;
        throw new Error('no https agents for an http:// server');
      },
      deadlineMs: 5_000,
    });
    const answer = await transport.send({
      method: 'GET',
      uri: `http://127.0.0.1:${port}/v1/sys/seal-status`,
    });
    expect(answer.body).toEqual({ sealed: false });
    transport.renewHttpsAgents();
    transport.close();
    expect(built).toBe(0);
  });
});
