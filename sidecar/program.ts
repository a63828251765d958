// Composition root of the sidecar (sidecar/main.ts runs it): parse the configuration (exit 2 listing every problem), wire the
// real edges (node-vault, the key directories, the downward-API file, the clock) into the unsealer,
// serve /healthz /readyz /status /metrics, and stop cleanly on SIGTERM or SIGINT.
import { readFileSync } from 'node:fs';
import { readBuildInfo, versionLine, wantsVersion } from '../common/build-info.js';
import { CONFIG_EXIT_CODE, formatProblems, type ConfigProblem } from '../common/config-problems.js';
import { watchDirectories } from '../common/dir-watcher.js';
import { createLogger } from '../common/logger.js';
import { createRegistry } from '../common/metrics-registry.js';
import { listenWithFallback } from '../common/listen.js';
import { exitOnSignals } from '../common/shutdown.js';
import {
  parseSidecarConfig,
  sidecarHelp,
  tlsFileSettings,
  unknownUnsealVariables,
  wantsHelp,
} from './config.js';
import { displayAddress } from './display-path.js';
import { createKeyReader } from './key-files.js';
import { createSidecarMetrics } from './metrics.js';
import { createPauseFileReader } from './pause-file.js';
import { scrubSecrets } from './scrub.js';
import { buildSidecarServer } from './server.js';
import { createUnsealer, type UnsealerDeps } from './unsealer.js';
import { createTlsFileSource } from './tls-files.js';
import { createVaultClient } from './vault-client.js';

const PROGRAM = 'vault-autounseal-sidecar';

/**
 * The files named by the TLS settings, as read at start; unreadable ones are config problems.
 * Read even when other settings are bad, so one message lists every problem. After start, the
 * files are re-read when they change (tls-files.ts).
 */
function readTlsFiles(settings: ReturnType<typeof tlsFileSettings>): {
  files: Record<'ca' | 'cert' | 'key', string | undefined>;
  problems: ConfigProblem[];
} {
  const problems: ConfigProblem[] = [];
  const read = ({ setting, path }: { setting: string; path: string | undefined }) => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'error';
      problems.push({ setting, message: `cannot read ${path} (${code})` });
      return undefined;
    }
  };
  return {
    files: { ca: read(settings.ca), cert: read(settings.cert), key: read(settings.key) },
    problems,
  };
}

function installCrashGuards(logger: ReturnType<typeof createLogger>): void {
  // Node's default handlers print the whole error object, and an HTTP client error carries its
  // request body, which for an unseal call is a share. Print name and a scrubbed message only.
  const die = (kind: string) => (error: unknown) => {
    const name = error instanceof Error ? error.name : 'Error';
    const message = error instanceof Error ? error.message : 'a non-Error value was thrown';
    logger.fatal({ err: { name, message: scrubSecrets(message) } }, kind);
    process.exit(1);
  };
  process.on('uncaughtException', die('uncaught exception'));
  process.on('unhandledRejection', die('unhandled rejection'));
}

/**
 * Wraps the unsealer's dependencies before it is built. The shipped program passes none; the chaos
 * tool's planted-defect builds (chaos/planted-sidecar.ts) pass one to prove its invariants catch a
 * broken sidecar, without a defect ever living in this code path.
 */
export type DependencySeam = (deps: UnsealerDeps) => UnsealerDeps;

export async function runSidecarProgram(
  argv: readonly string[],
  seam: DependencySeam = (deps) => deps,
): Promise<void> {
  const build = readBuildInfo();
  // Before anything is validated: `--version` answers whatever else is set.
  if (wantsVersion(argv)) {
    process.stdout.write(`${versionLine(PROGRAM, build)}\n`);
    process.exit(0);
  }
  if (wantsHelp(argv)) {
    process.stdout.write(`${sidecarHelp(PROGRAM)}\n`);
    process.exit(0);
  }
  const parsed = parseSidecarConfig(process.env, argv);
  const tlsSettings = tlsFileSettings(process.env, argv);
  const tls = readTlsFiles(tlsSettings);
  const problems = [...(parsed.ok ? [] : parsed.problems), ...tls.problems];
  if (!parsed.ok || problems.length > 0) {
    process.stderr.write(`${formatProblems(PROGRAM, problems)}\n`);
    process.exit(CONFIG_EXIT_CODE);
  }
  const config = parsed.value;

  const logger = createLogger({ name: PROGRAM, level: config.logLevel });
  installCrashGuards(logger);
  const unknown = unknownUnsealVariables(process.env);
  if (unknown.length > 0) {
    // Names only, never values. A typo'd variable is otherwise silently replaced by its default.
    logger.warn(
      { variables: unknown.map((u) => u.name) },
      `unknown UNSEAL_* variables, ignored: ${unknown
        .map((u) => (u.suggestion ? `${u.name} (did you mean ${u.suggestion}?)` : u.name))
        .join(', ')}`,
    );
  }
  // What the world sees of VAULT_ADDR: never its userinfo (display-path.ts).
  const shownAddress = displayAddress(config.vaultAddr);
  if (config.skipVerify) {
    logger.warn(
      { address: shownAddress },
      'VAULT_SKIP_VERIFY is on: the server certificate is NOT verified',
    );
  }
  const registry = createRegistry();
  const metrics = createSidecarMetrics(registry, build);
  const tlsFiles = createTlsFileSource({
    paths: tlsSettings,
    initial: tls.files,
    logger: logger.child({ component: 'tls-files' }),
  });
  const vault = createVaultClient({
    address: config.vaultAddr,
    tls: tlsFiles,
    tlsServerName: config.tlsServerName,
    skipVerify: config.skipVerify,
    requestTimeoutMs: config.requestTimeoutMs,
  });
  const unsealer = createUnsealer(
    seam({
      vault,
      readKeys: createKeyReader(config.keysDirs),
      readPause: createPauseFileReader(config.podinfoDir),
      logger,
      metrics,
      // Wall clock for what is shown; a monotonic one for every deadline (a clock step must not
      // hold unsealing back).
      clock: { now: () => Date.now(), monotonic: () => performance.now() },
      timing: config,
    }),
  );
  // In a pod the server shares 127.0.0.1 with us: its restart closes our idle connection at once.
  vault.onConnectionLost(() => unsealer.connectionLost());
  // Rotated TLS files: try again now with them, not at the end of a back-off.
  tlsFiles.onChange(() => unsealer.wake());
  const watcher = watchDirectories([...config.keysDirs, config.podinfoDir], () => unsealer.wake());
  const app = buildSidecarServer({ unsealer, registry, logger, address: shownAddress });

  const httpHost = await listenWithFallback(
    app,
    { host: config.httpHost, port: config.httpPort },
    logger,
  );
  unsealer.start();
  logger.info(
    {
      version: build.version,
      revision: build.revision,
      address: shownAddress,
      keysDirs: config.keysDirs,
      podinfoDir: config.podinfoDir,
      http: `${httpHost.includes(':') ? `[${httpHost}]` : httpHost}:${config.httpPort}`,
    },
    'started',
  );
  exitOnSignals({
    logger,
    timeoutMs: 4_500,
    close: async () => {
      // Abort the requests in flight first: stop() waits for the running tick, and a request to a
      // hung server would otherwise hold it up to UNSEAL_REQUEST_TIMEOUT, past this deadline.
      vault.close();
      await unsealer.stop();
      await Promise.all([watcher.close(), tlsFiles.close(), app.close()]);
    },
  });
}
