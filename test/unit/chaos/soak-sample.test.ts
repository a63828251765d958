// What the soak reads from a sidecar: values out of a real prom-client exposition, and the
// descriptors of a real process from /proc (Linux, like the images and CI).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import {
  SIGUSR2,
  catchesSignal,
  metricValue,
  openDescriptors,
} from '../../../chaos/soak-sample.js';
import { createRegistry } from '../../../common/metrics-registry.js';

describe('metricValue', () => {
  it('reads the default metrics the sidecar registers', async () => {
    const exposition = await createRegistry().metrics();
    expect(metricValue(exposition, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(metricValue(exposition, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
  });

  it.each([
    ['nodejs_eventloop_lag_seconds 0.0012\n', 'nodejs_eventloop_lag_seconds', 0.0012],
    // a longer name that starts with the one asked for is another metric
    [
      'nodejs_eventloop_lag_seconds_x 9\nnodejs_eventloop_lag_seconds 2\n',
      'nodejs_eventloop_lag_seconds',
      2,
    ],
    // the HELP and TYPE lines are not values
    ['# HELP up 1 if up\n# TYPE up gauge\nup 1 1700000000000\n', 'up', 1],
    ['other 1\n', 'up', NaN], // absent
    ['', 'up', NaN], // the scrape failed
  ])('reads %j as %s = %s', (text, name, value) => {
    expect(metricValue(text, name)).toBe(value);
  });
});

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

/** A Node process that runs `setup`, says ready and waits to be killed; resolves with its pid. */
async function nodeProcess(setup: string): Promise<number> {
  const script = `${setup}; setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  children.push(child);
  await once(child.stdout, 'data');
  return child.pid ?? 0;
}

describe('catchesSignal', () => {
  // The soak sends SIGUSR2 only to a sidecar that handles it: unhandled, it ends the process.
  it('sees a SIGUSR2 handler, and its absence', async () => {
    const ready = "process.stdout.write('ready\\n')";
    expect(
      catchesSignal(await nodeProcess(`process.on('SIGUSR2', () => {}); ${ready}`), SIGUSR2),
    ).toBe(true);
    expect(catchesSignal(await nodeProcess(ready), SIGUSR2)).toBe(false);
  });
});

describe('openDescriptors', () => {
  /** A Node process listening on `servers` loopback sockets, started identically otherwise. */
  async function holding(servers: number): Promise<number> {
    return nodeProcess(`
      const net = require('node:net');
      let left = ${servers};
      const ready = () => process.stdout.write('ready\\n');
      if (left === 0) ready();
      for (let i = 0; i < ${servers}; i++)
        net.createServer().listen(0, '127.0.0.1', () => --left === 0 && ready())`);
  }

  it('counts each listening socket as one descriptor and one socket', async () => {
    const bare = openDescriptors(await holding(0));
    const three = openDescriptors(await holding(3));
    expect(three.sockets - bare.sockets).toBe(3);
    expect(three.fds - bare.fds).toBeGreaterThanOrEqual(3);
    expect(three.fds).toBeGreaterThan(three.sockets);
  });
});
