// Runs once per node run (`vitest run --project node --project node-exclusive …`) in the main
// process: starts the real node (see harness/cluster.ts) and installs the webhook from the
// project's own chart with `helm install`, for every test file of the run: the `node` project's
// files, then the `node-exclusive` ones, one at a time (vitest.config.ts). At the end it tears the
// node down fully, whatever the tests did; test/node/teardown.test.ts (project node-teardown, the
// last group) tears it down first and checks the machine is as it was.
import { BEFORE_ENV, DIR_ENV, IMAGES, node, webhookInstallArgs } from './harness/node.js';
import { componentMemory, down, up } from './harness/cluster.js';

export default async function setup(): Promise<() => Promise<void>> {
  // Both node projects name this setup (either may run alone, `--project node-exclusive`); in one
  // vitest process the cluster starts once, for whichever comes first.
  if (process.env[DIR_ENV]) return async () => {};
  const cluster = await up({ projectImages: [IMAGES.sidecar, IMAGES.webhook] });
  process.env[DIR_ENV] = cluster.dir;
  process.env[BEFORE_ENV] = JSON.stringify(cluster.before);
  const teardown = async (): Promise<void> => {
    await down(cluster.dir, cluster.before);
    await cluster.lock.release();
  };
  try {
    const started = Date.now();
    await node().helmOk(webhookInstallArgs());
    process.stderr.write(
      `[node] webhook installed with helm: ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );
    process.stderr.write(`[node] RSS in MiB: ${JSON.stringify(componentMemory(cluster.dir))}\n`);
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}
