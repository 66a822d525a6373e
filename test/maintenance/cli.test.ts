/**
 * The maintenance commands as an operator runs them: real `agent-secrets` processes next to a running
 * server that keeps answering agents through a master key rotation, then backup and restore.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMasterKey } from '../../src/crypto/masterKey.js';
import { migrateToLatest, openStore } from '../../src/store/database.js';
import { runCli, startServe, type CliResult, type ServeProcess } from '../support/processes.js';
import { CANARY, openEveryVersion, populate, type Populated } from './fixture.js';

describe('maintenance commands on the embedded store', () => {
  let dir: string;
  let data: string;
  let oldKeyText: string;
  let newKeyText: string;
  let populated: Populated;
  let before: Record<string, unknown>;
  let server: ServeProcess | undefined;
  const outputs: CliResult[] = [];

  const cli = async (args: string[]) => {
    const result = await runCli(args);
    outputs.push(result);
    return result;
  };
  const readAsAgent = async (url: string) => {
    const response = await fetch(`${url}/runtime/v1/secrets/stripe_api_key`, { headers: { authorization: `Bearer ${populated.agentKeys.acme}` } });
    return { status: response.status, body: (await response.json()) as { value?: string } };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agent-secrets-maint-cli-'));
    data = join(dir, 'data');
    oldKeyText = `${randomBytes(32).toString('base64')}\n`;
    newKeyText = `${randomBytes(32).toString('base64')}\n`;
    mkdirSync(data, { mode: 0o700 });
    writeFileSync(join(data, 'master.key'), oldKeyText, { mode: 0o600 });
    writeFileSync(join(dir, 'new.key'), newKeyText, { mode: 0o600 });
    const store = openStore({ kind: 'sqlite', file: join(data, 'agent-secrets.db') });
    await migrateToLatest(store);
    populated = await populate(store, parseMasterKey(oldKeyText, 'old'));
    before = await openEveryVersion(store.db, parseMasterKey(oldKeyText, 'old'));
    await store.close();
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('rotate-master re-wraps while a server on the old key keeps answering, with progress lines', async () => {
    server = await startServe(['--data', data]);
    const rotated = await cli(['keys', 'rotate-master', '--new-key-file', join(dir, 'new.key'), '--data', data]);
    expect(rotated.code).toBe(0);
    expect(rotated.stderr).toMatch(/Re-wrapping: 2\/2 data keys \(account \w+\)/);
    expect(rotated.stdout).toContain(`now wrapped by master key ${parseMasterKey(newKeyText, 'new').id}`);
    // The server never opened acme's data key before; it opens it now through the old wrapping.
    expect(await readAsAgent(server.url)).toEqual({ status: 200, body: expect.objectContaining({ value: `${CANARY}-acme-v1` }) });
  });

  it('after a restart on the new key, --complete drops the old wrappings and the server still answers', async () => {
    await server?.stop();
    copyFileSync(join(dir, 'new.key'), join(data, 'master.key'));
    chmodSync(join(data, 'master.key'), 0o600);
    server = await startServe(['--data', data]);
    const completed = await cli(['keys', 'rotate-master', '--complete', '--data', data]);
    expect(completed.code).toBe(0);
    expect(completed.stdout).toContain('Dropped the old wrappings of 2 data key(s)');
    expect(await readAsAgent(server.url)).toMatchObject({ status: 200 });

    const store = openStore({ kind: 'sqlite', file: join(data, 'agent-secrets.db') });
    try {
      expect(await openEveryVersion(store.db, parseMasterKey(newKeyText, 'new'))).toEqual(before);
      await expect(openEveryVersion(store.db, parseMasterKey(oldKeyText, 'old'))).rejects.toThrow();
    } finally {
      await store.close();
    }
  });

  it('rotate-data --all, then backup while the server runs, restore into a new folder that answers the same', async () => {
    const rotated = await cli(['keys', 'rotate-data', '--all', '--data', data, '--json']);
    expect(JSON.parse(rotated.stdout)).toHaveLength(2);

    const file = join(dir, 'vault.backup');
    const backup = await cli(['backup', '--out', file, '--data', data]);
    expect(backup.code).toBe(0);
    expect(backup.stdout).toMatch(/Backed up 2 account\(s\), 4 secret\(s\) with 10 version\(s\)/);

    const refused = await cli(['restore', '--in', file, '--data', data]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^agent-secrets: Restore needs an empty store/);

    const restoredData = join(dir, 'restored');
    const noKey = await cli(['restore', '--in', file, '--data', restoredData]);
    expect(noKey.stderr).toMatch(/restore needs the master key the backup was made with/);
    const restored = await cli(['restore', '--in', file, '--data', restoredData, '--master-key-file', join(dir, 'new.key')]);
    expect(restored.code).toBe(0);
    expect(restored.stdout).toContain('Restored 2 account(s), 4 secret(s) with 10 version(s)');

    copyFileSync(join(dir, 'new.key'), join(restoredData, 'master.key'));
    chmodSync(join(restoredData, 'master.key'), 0o600);
    const second = await startServe(['--data', restoredData]);
    try {
      expect(await readAsAgent(second.url)).toEqual({ status: 200, body: expect.objectContaining({ value: `${CANARY}-acme-v1` }) });
    } finally {
      await second.stop();
    }
  });

  it('no value or key appears in any output', () => {
    const everything = outputs.map((o) => o.stdout + o.stderr).join('\n') + (server?.output() ?? '');
    expect(everything).not.toContain(CANARY);
    for (const key of [oldKeyText, newKeyText]) {
      expect(everything).not.toContain(key.trim());
      expect(everything).not.toContain(Buffer.from(key.trim(), 'base64').toString('hex'));
    }
    for (const agentKey of Object.values(populated.agentKeys)) expect(everything).not.toContain(agentKey);
    expect(readFileSync(join(dir, 'vault.backup')).toString('latin1')).not.toContain(CANARY);
  });
});
