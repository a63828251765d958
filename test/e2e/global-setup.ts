// Runs once per `vitest run --project e2e` in the main process: marks this run, and at the end
// kills any process of this run (etcd, kube-apiserver, the webhook) that a crashed test left behind.
import { randomUUID } from 'node:crypto';
import { killOrphans, RUN_ENV } from '../harness/orphans.js';

export default function setup(): () => void {
  const run = randomUUID();
  process.env[RUN_ENV] = run;
  return () => {
    const killed = killOrphans(run);
    if (killed > 0)
      process.stderr.write(`[e2e] killed ${killed} process(es) left behind by tests\n`);
  };
}
