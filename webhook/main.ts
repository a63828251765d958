#!/usr/bin/env node
// Composition root of the webhook: parse the configuration (or print `--help`), load the
// certificate, build the servers, listen on WEBHOOK_HOST (0.0.0.0 by default: kubelet probes and
// the apiserver come from outside the pod), reload the certificate when its files change, and stop
// cleanly on SIGTERM.
import { readFileSync } from 'node:fs';
import { readBuildInfo, versionLine, wantsVersion } from '../common/build-info.js';
import { CONFIG_EXIT_CODE, formatProblems } from '../common/config-problems.js';
import { createLogger } from '../common/logger.js';
import { createRegistry } from '../common/metrics-registry.js';
import { describeError, exitOnSignals } from '../common/shutdown.js';
import {
  SERVICE_ACCOUNT_NAMESPACE_FILE,
  formatHelp,
  parseWebhookConfig,
  startWarnings,
  wantsHelp,
} from './config.js';
import { createWebhookMetrics } from './metrics.js';
import { buildWebhookServer } from './server.js';
import { loadTlsFiles, startTlsReloader } from './tls-reloader.js';

const PROGRAM = 'vault-autounseal-webhook';

function readServiceAccountNamespace(): string | undefined {
  try {
    return readFileSync(SERVICE_ACCOUNT_NAMESPACE_FILE, 'utf8');
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const build = readBuildInfo();
  if (wantsVersion(argv)) {
    process.stdout.write(`${versionLine(PROGRAM, build)}\n`);
    return;
  }
  if (wantsHelp(argv)) {
    process.stdout.write(`${formatHelp(PROGRAM)}\n`);
    return;
  }
  const parsed = parseWebhookConfig(process.env, argv, {
    serviceAccountNamespace: readServiceAccountNamespace(),
  });
  if (!parsed.ok) {
    process.stderr.write(`${formatProblems(PROGRAM, parsed.problems)}\n`);
    process.exit(CONFIG_EXIT_CODE);
  }
  const config = parsed.value;
  const logger = createLogger({ level: config.logLevel, name: PROGRAM });
  for (const warning of startWarnings(config))
    logger.warn({ namespace: config.namespace }, warning);
  const registry = createRegistry();
  const metrics = createWebhookMetrics(registry, build);

  let initial;
  try {
    initial = await loadTlsFiles(config.tlsCertFile, config.tlsKeyFile);
  } catch (error: unknown) {
    logger.fatal({ err: describeError(error) }, 'cannot load the TLS certificate');
    process.exit(1);
  }

  const servers = buildWebhookServer({ config, tls: initial, logger, registry, metrics });
  const reloader = startTlsReloader({
    certFile: config.tlsCertFile,
    keyFile: config.tlsKeyFile,
    initial,
    apply: (material) => servers.setSecureContext(material),
    logger,
    metrics,
  });

  exitOnSignals({
    logger,
    timeoutMs: 5_000,
    close: async () => {
      await reloader.close();
      await Promise.all([servers.admission.close(), servers.ops.close()]);
    },
  });

  await servers.ops.listen({ host: config.host, port: config.metricsPort });
  await servers.admission.listen({ host: config.host, port: config.port });
  logger.info(
    {
      version: build.version,
      revision: build.revision,
      host: config.host,
      port: config.port,
      metricsPort: config.metricsPort,
      namespace: config.namespace,
      image: config.sidecar.image,
      nativeSidecar: config.sidecar.nativeSidecar,
      certNotAfter: new Date(initial.notAfterSeconds * 1000).toISOString(),
    },
    'webhook listening',
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${PROGRAM}: ${JSON.stringify(describeError(error))}\n`);
  process.exit(1);
});
