// The last file of a node run (project node-teardown, a later group than `node`): tears the real
// node down, the same way the global setup's teardown does when tests fail, and compares the
// machine with the snapshot taken before the cluster started. Any process, mount, link, iptables
// rule or chain, kubepods cgroup or fixed path (/var/lib/kubelet, /var/log/containers,
// /run/containerd) that differs fails the test, listed.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { componentMemory, down, leftBehind } from './harness/cluster.js';
import type { HostState } from './harness/host-state.js';
import { BEFORE_ENV, DIR_ENV } from './harness/node.js';

describe('the real node, torn down', () => {
  it('leaves the machine as it was before the cluster started', async () => {
    const dir = process.env[DIR_ENV];
    const before = process.env[BEFORE_ENV];
    if (!dir || !before) {
      throw new Error(
        `${DIR_ENV} is unset: run this file with the node project (npm run test:node)`,
      );
    }
    const snapshot = JSON.parse(before) as HostState;
    process.stderr.write(`[node] RSS in MiB at the end: ${JSON.stringify(componentMemory(dir))}\n`);
    const seconds = await down(dir, snapshot);
    process.stderr.write(`[node] teardown took ${seconds.toFixed(1)} s\n`);
    expect(existsSync(dir), `${dir} removed`).toBe(false);
    expect(await leftBehind(snapshot)).toEqual([]);
  });
});
