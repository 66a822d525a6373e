/** `agent-secrets secrets set` on key/value secrets, as a person types it: real CLI and server processes. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstAdminToken, runCli, startServe, type ServeProcess } from '../support/processes.js';

const CANARY = 'CANARY-cli-kv-41c0de';

describe('secrets set on a key/value secret', () => {
  let dir: string;
  let server: ServeProcess;
  let env: Record<string, string>;
  const reveal = async (name: string) => JSON.parse((await runCli(['secrets', 'reveal', name, '--json'], { env })).stdout).value as unknown;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agent-secrets-cli-kv-'));
    server = await startServe(['--data', join(dir, 'data')]);
    env = { AGENT_SECRETS_URL: server.url, AGENT_SECRETS_TOKEN: await firstAdminToken(server.url, ['--data', join(dir, 'data')]) };
    await runCli(['secrets', 'create', 'oauth', '--kv', 'client_id=abc', '--kv', `client_secret=${CANARY}-1`], { env });
  });
  afterAll(async () => {
    expect(server.output()).not.toContain(CANARY);
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--kv changes only the keys given and keeps the others', async () => {
    const set = await runCli(['secrets', 'set', 'oauth', '--kv', `client_secret=${CANARY}-2`], { env });
    expect(set.stderr).toBe('');
    expect(set.stdout).toBe('Secret "oauth" is now at version 2 (keys: client_id, client_secret).\n');
    expect(await reveal('oauth')).toEqual({ client_id: 'abc', client_secret: `${CANARY}-2` });
  });

  it('--remove-key removes one key, beside --kv adding another', async () => {
    const set = await runCli(['secrets', 'set', 'oauth', '--remove-key', 'client_id', '--kv', 'audience=api'], { env });
    expect(set.stdout).toContain('(keys: client_secret, audience)');
    expect(await reveal('oauth')).toEqual({ client_secret: `${CANARY}-2`, audience: 'api' });
  });

  it('--replace replaces the whole value with exactly the keys given', async () => {
    await runCli(['secrets', 'set', 'oauth', '--replace', '--kv', 'client_id=xyz', '--kv', `client_secret=${CANARY}-3`], { env });
    expect(await reveal('oauth')).toEqual({ client_id: 'xyz', client_secret: `${CANARY}-3` });
  });

  it.each([
    ['--replace with --remove-key', ['--replace', '--kv', 'a=b', '--remove-key', 'client_id'], '--remove-key changes a value in place'],
    ['--kv and --remove-key naming one key', ['--kv', 'client_id=b', '--remove-key', 'client_id'], '--kv and --remove-key both name "client_id"'],
    ['--kv with --value', ['--kv', 'a=b', '--value', 'c'], 'give the value one way only'],
    ['--replace with no value', ['--replace'], '--replace needs the new value'],
  ])('refuses %s in one line, changing nothing', async (_label, args, message) => {
    const result = await runCli(['secrets', 'set', 'oauth', ...args], { env });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(message);
    expect(await reveal('oauth')).toEqual({ client_id: 'xyz', client_secret: `${CANARY}-3` });
  });

  it('--kv on a single-value secret says which flags to use instead', async () => {
    await runCli(['secrets', 'create', 'plain', '--stdin'], { env, input: `${CANARY}-plain\n` });
    const result = await runCli(['secrets', 'set', 'plain', '--kv', 'a=b'], { env });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('"plain" holds a single value: set it with --value, --stdin or --file, or make it key/value with --replace --kv KEY=VALUE');
    expect(await reveal('plain')).toBe(`${CANARY}-plain`);
  });

  it("the server's refusal names the key: removing one that is not there", async () => {
    const result = await runCli(['secrets', 'set', 'oauth', '--remove-key', 'ghost'], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('(field: valueKeys.ghost)');
    expect(result.stderr).not.toContain(CANARY);
  });

  it.each([
    ['set', ['secrets', 'set', 'oauth', '--kv', '__proto__=x']],
    ['set --replace', ['secrets', 'set', 'oauth', '--replace', '--kv', 'a=b', '--kv', 'constructor=x']],
    ['create', ['secrets', 'create', 'pk', '--kv', '__proto__=x']],
  ])('%s with a reserved key name says the rule in one line, sending nothing', async (_label, args) => {
    const result = await runCli(args, { env });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/(__proto__|constructor): __proto__ and constructor are reserved key names/);
    expect(await reveal('oauth')).toEqual({ client_id: 'xyz', client_secret: `${CANARY}-3` });
    expect((await runCli(['secrets', 'get', 'pk'], { env })).code).not.toBe(0);
  });

  it("a reserved key in --stdin-json gets the server's refusal naming value.__proto__", async () => {
    const result = await runCli(['secrets', 'create', 'pk', '--stdin-json'], { env, input: '{"__proto__":"x","a":"b"}' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('__proto__ and constructor are reserved key names');
    expect(result.stderr).toContain('(field: value.__proto__)');
  });
});
