// The README promises Node ≥ 20.19. Every package `npm ci` installs must admit that version, or npm
// warns EBADENGINE on a supported Node (and the package may really need a newer one). cookie@2
// (fastify → light-my-request) declared `node >=22`; package.json overrides it to cookie@1.1, whose
// `stringifySetCookie` is the one function light-my-request calls. The inject test below keeps that
// swap honest.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify from 'fastify';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../harness/repo-root.js';

interface LockEntry {
  readonly version?: string;
  readonly engines?: Record<string, string> | readonly string[];
}

const readJson = (name: string): any => JSON.parse(readFileSync(join(repoRoot(), name), 'utf8'));

describe('the dependency tree on the oldest supported Node', () => {
  const manifest = readJson('package.json') as { engines: { node: string } };
  const oldest = semver.minVersion(manifest.engines.node)?.version ?? '';

  it('is Node 20.19, as the README says', () => {
    expect(oldest).toBe('20.19.0');
  });

  it("admits it in every locked package's engines.node", () => {
    const lock = readJson('package-lock.json') as { packages: Record<string, LockEntry> };
    const refusing = Object.entries(lock.packages)
      .map(([path, entry]) => {
        const engines = entry.engines;
        const range =
          engines && !Array.isArray(engines) ? (engines as Record<string, string>).node : undefined;
        return { path, version: entry.version, range };
      })
      .filter(({ range }) => range !== undefined && !semver.satisfies(oldest, range))
      .map(({ path, version, range }) => `${path}@${version} wants node ${range}`);
    expect(refusing).toEqual([]);
  });
});

describe("fastify's inject with cookies (light-my-request over the overridden cookie)", () => {
  it('sends them as one Cookie header, path-matched and encoded', async () => {
    const app = Fastify();
    app.get('/api/echo', async (request) => ({ cookie: request.headers.cookie ?? null }));
    try {
      const response = await app.inject({
        method: 'GET',
        url: '/api/echo',
        cookies: { plain: 'abc', spaced: 'a b;c' },
      });
      expect(response.json()).toEqual({ cookie: 'plain=abc; spaced=a%20b%3Bc' });

      const scoped = await app.inject({
        method: 'GET',
        url: '/api/echo',
        cookies: [
          { name: 'here', value: '1', path: '/api' },
          { name: 'elsewhere', value: '2', path: '/admin' },
        ],
      });
      expect(scoped.json()).toEqual({ cookie: 'here=1' });
    } finally {
      await app.close();
    }
  });

  it('reads Set-Cookie from the reply', async () => {
    const app = Fastify();
    app.get('/', async (_request, reply) => {
      void reply.header('set-cookie', ['session=xyz; Path=/; HttpOnly', 'theme=dark']);
      return 'ok';
    });
    try {
      const response = await app.inject({ method: 'GET', url: '/' });
      expect(response.cookies).toEqual([
        { name: 'session', value: 'xyz', path: '/', httpOnly: true },
        { name: 'theme', value: 'dark' },
      ]);
    } finally {
      await app.close();
    }
  });
});
