// Runs once per `vitest run` in the main process: installs the server binary before any worker
// needs it (so parallel files never race to pip-install), names the server, marks this run, and at the end kills
// any process of this run that a crashed test left behind.
import { randomUUID } from 'node:crypto';
import { killOrphans, RUN_ENV } from '../harness/orphans.js';
import { findServerBinary, serverIdentity } from '../harness/server-binary.js';

export default function setup(): () => void {
  const binary = findServerBinary();
  // Named in the output, so a count can be told apart from the other server's (`npm run test:vault`).
  process.stderr.write(
    `[harness] integration tests against ${serverIdentity().name} (${binary}), Node ${process.version}\n`,
  );
  const run = randomUUID();
  process.env[RUN_ENV] = run;
  return () => {
    const killed = killOrphans(run);
    if (killed > 0)
      process.stderr.write(`[harness] killed ${killed} process(es) left behind by tests\n`);
  };
}
