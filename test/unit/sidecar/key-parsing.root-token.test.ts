// A key file that also holds a token (issue 22): its shares are still used, the file is flagged,
// and the token goes nowhere (sidecar/key-parsing.ts holdsToken, sidecar/key-snapshot.ts).
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { holdsToken, parseKeyFile, parseKeyFileFrom } from '../../../sidecar/key-parsing.js';
import { buildKeySnapshot, type FileReading } from '../../../sidecar/key-snapshot.js';

const HEX = [randomBytes(33).toString('hex'), randomBytes(33).toString('hex')];
const B64 = HEX.map((hex) => Buffer.from(hex, 'hex').toString('base64'));
const body = (): string => randomBytes(18).toString('base64url').replace(/[-_]/g, 'x');
const TOKENS = [`hvs.${body()}`, `s.${body()}`, `b.${body()}`, `hvb.${body()}`, `r.${body()}`];
const initJson = (rootToken: unknown): string =>
  JSON.stringify({
    unseal_keys_b64: B64,
    unseal_keys_hex: HEX,
    unseal_shares: 2,
    unseal_threshold: 2,
    root_token: rootToken,
  });

describe('a key file that holds a token', () => {
  it.each(TOKENS)(
    'the whole `operator init -format=json` output, root token %s: shares used, flagged',
    (token) => {
      const parsed = parseKeyFile(initJson(token));
      expect(parsed).toEqual({ ok: true, shares: HEX.map((hex) => ({ hex })), rootToken: true });
      expect(JSON.stringify(parsed)).not.toContain(token);
    },
  );

  it('flags a root_token of any form (a dev server\'s "root"), not an empty one', () => {
    expect(parseKeyFile(initJson('root'))).toMatchObject({ ok: true, rootToken: true });
    expect(parseKeyFile(initJson(''))).toEqual({ ok: true, shares: HEX.map((hex) => ({ hex })) });
    expect(parseKeyFile(initJson(null))).not.toHaveProperty('rootToken');
  });

  it.each(TOKENS)('a file of the token %s alone: unusable, said why, flagged', (token) => {
    const parsed = parseKeyFile(`${token}\n`);
    expect(parsed).toEqual({
      ok: false,
      problem: 'holds a Vault token, not an unseal share',
      rootToken: true,
    });
  });

  it('the text output of `operator init` ("Initial Root Token: …"): unusable, flagged', () => {
    const text = `Unseal Key 1: ${B64[0]}\nUnseal Key 2: ${B64[1]}\n\nInitial Root Token: ${TOKENS[0]}\n`;
    expect(parseKeyFile(text)).toMatchObject({ ok: false, rootToken: true });
  });

  it('broken JSON that carries a token: invalid JSON, flagged', () => {
    expect(parseKeyFile(`{"root_token": "${TOKENS[0]}",`)).toEqual({
      ok: false,
      problem: 'invalid JSON',
      rootToken: true,
    });
    expect(parseKeyFile('{"root_token": ')).toEqual({ ok: false, problem: 'invalid JSON' });
  });

  it('JSON without shares but with a token: no shares, flagged', () => {
    expect(parseKeyFile(JSON.stringify({ root_token: TOKENS[1] }))).toMatchObject({
      ok: false,
      rootToken: true,
    });
  });

  it('is told apart from shares, hex or base64, and from text that only looks like one', () => {
    for (const text of [
      ...HEX,
      ...B64,
      initJson(undefined),
      'hvs.short',
      'xs.abcdefghijklmnopqrstuvwxyz',
    ]) {
      expect(parseKeyFile(text)).not.toHaveProperty('rootToken');
    }
    expect(holdsToken('s.abcdefghijklmnopqrst')).toBe(true);
    expect(holdsToken('s.abcdefghijklmnopqrs')).toBe(false);
    expect(holdsToken('a.b.abcdefghijklmnopqrstuvwxyz')).toBe(false);
    expect(holdsToken('x', { root_token: '  ' })).toBe(false);
    expect(holdsToken('x', ['root_token'])).toBe(false);
    expect(holdsToken('x', null)).toBe(false);
  });

  it('keeps the flag, and only the flag, when shares are labelled with their file', () => {
    const parsed = parseKeyFileFrom(initJson(TOKENS[0]), '/keys/init.json');
    expect(parsed).toEqual({
      ok: true,
      rootToken: true,
      shares: HEX.map((hex, i) => ({ hex, origin: `/keys/init.json#${i + 1}` })),
    });
    expect(parseKeyFileFrom(HEX[0]!, '/keys/k')).toEqual({
      ok: true,
      shares: [{ hex: HEX[0], origin: '/keys/k' }],
    });
    expect(parseKeyFileFrom(TOKENS[0]!, '/keys/t')).toMatchObject({ ok: false, rootToken: true });
  });
});

describe('the snapshot of key files that hold a token', () => {
  const withToken = (path: string, kind: 'shares' | 'invalid'): FileReading => ({
    path,
    outcome:
      kind === 'shares'
        ? {
            kind,
            shares: [{ hex: randomBytes(33).toString('hex'), origin: path }],
            rootToken: true,
          }
        : { kind, reason: 'holds a Vault token, not an unseal share', rootToken: true },
  });
  const dir = (path: string, files: FileReading[]) =>
    ({ path, state: 'ok', entries: files.length, files, stopped: null }) as const;

  it('names them (shares or not) and counts them; their shares still load', () => {
    const snapshot = buildKeySnapshot([
      dir('/a', [withToken('/a/init.json', 'shares'), withToken('/a/token', 'invalid')]),
      dir('/b', [{ path: '/b/k', outcome: { kind: 'shares', shares: [] } }]),
    ]);
    expect(snapshot.rootTokenFiles).toEqual(['/a/init.json', '/a/token']);
    expect(snapshot.counts?.rootTokenFiles).toBe(2);
    expect(snapshot.shares).toHaveLength(1);
  });

  it('lists at most `listed` per directory and counts them all', () => {
    const files = Array.from({ length: 4 }, (_, i) => withToken(`/a/f${i}`, 'invalid'));
    const snapshot = buildKeySnapshot([dir('/a', files)], {
      filesPerDirectory: 10,
      totalBytes: 1_000,
      listed: 2,
    });
    expect(snapshot.rootTokenFiles).toEqual(['/a/f0', '/a/f1']);
    expect(snapshot.counts?.rootTokenFiles).toBe(4);
  });

  it('is empty without such files', () => {
    const snapshot = buildKeySnapshot([dir('/a', [])]);
    expect(snapshot.rootTokenFiles).toEqual([]);
    expect(snapshot.counts?.rootTokenFiles).toBe(0);
  });
});
