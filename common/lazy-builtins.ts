// Node's network modules, loaded with require() when a path first needs them, never by a static
// import (docs/footprint.md measures each, Node 24):
// - `import … from 'node:http'` costs about 13 MiB more than `require('node:http')`: an ES module
//   import reads every export of the module, and node:http's WebSocket, CloseEvent and
//   MessageEvent are getters that load undici, which loads node:tls and node:http2.
// - node:https (with node:tls and OpenSSL's TLS code) costs about 8.5 MiB, and a sidecar whose
//   VAULT_ADDR is http:// with no TLS files never needs it.
// - node:crypto costs about 2 MiB to a sidecar talking plain HTTP (docs/footprint.md, third
//   pass); only the checks of TLS files use it (X509Certificate), and TLS loads it anyway.
// Node caches each module, so later calls are a lookup. The bundle gives the dependencies' own
// imports of https, http2, tls and crypto the same treatment (scripts/bundle.mjs,
// `lazy-builtins`).
import { createRequire } from 'node:module';
import type * as Crypto from 'node:crypto';
import type * as Http from 'node:http';
import type * as Https from 'node:https';
import type * as Tls from 'node:tls';

const load = createRequire(import.meta.url);

/** `node:http`, without the exports that load undici. */
export function httpModule(): typeof Http {
  return load('node:http') as typeof Http;
}

/** `node:https`, loaded on first call. */
export function httpsModule(): typeof Https {
  return load('node:https') as typeof Https;
}

/** `node:tls`, loaded on first call. */
export function tlsModule(): typeof Tls {
  return load('node:tls') as typeof Tls;
}

/** `node:crypto`, loaded on first call. */
export function cryptoModule(): typeof Crypto {
  return load('node:crypto') as typeof Crypto;
}
