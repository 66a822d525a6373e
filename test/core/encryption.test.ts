import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IntegrityError, Keyring, open, seal, secretVersionAad } from '../../src/crypto/keyring.js';
import { masterKeyFromBytes } from '../../src/crypto/masterKey.js';
import { startHarness, type Harness } from '../support/harness.js';
import { DATABASES } from '../support/stores.js';

const CANARY = 'CANARY-at-rest-51c0de';

describe('sealing', () => {
  const key = Buffer.alloc(32, 7);

  it('uses a fresh nonce for every encryption', () => {
    const a = seal(key, Buffer.from('same'), 'aad');
    const b = seal(key, Buffer.from('same'), 'aad');
    expect(a.subarray(1, 13).equals(b.subarray(1, 13))).toBe(false);
    expect(open(key, a, 'aad', 'x').toString()).toBe('same');
  });

  it('fails to open with other associated data, another key, or one flipped bit', () => {
    const sealed = seal(key, Buffer.from('value'), secretVersionAad('acc_1', 'sec_1', 1));
    expect(() => open(key, sealed, secretVersionAad('acc_1', 'sec_2', 1), 'x')).toThrow(IntegrityError);
    expect(() => open(key, sealed, secretVersionAad('acc_1', 'sec_1', 2), 'x')).toThrow(IntegrityError);
    expect(() => open(key, sealed, secretVersionAad('acc_2', 'sec_1', 1), 'x')).toThrow(IntegrityError);
    expect(() => open(Buffer.alloc(32, 8), sealed, secretVersionAad('acc_1', 'sec_1', 1), 'x')).toThrow(IntegrityError);
    const flipped = Buffer.from(sealed);
    flipped[20] = (flipped[20] ?? 0) ^ 1;
    expect(() => open(key, flipped, secretVersionAad('acc_1', 'sec_1', 1), 'x')).toThrow(IntegrityError);
  });

  it('wraps data keys so that only the same master key and account open them', () => {
    const master = masterKeyFromBytes(Buffer.alloc(32, 1));
    const { wrappedKey, key: dataKey } = new Keyring(master).newDataKey('acc_1', 'dk_1');
    expect(new Keyring(master).openDataKey(wrappedKey).equals(dataKey)).toBe(true);
    expect(() => new Keyring(masterKeyFromBytes(Buffer.alloc(32, 2))).openDataKey(wrappedKey)).toThrow(IntegrityError);
    expect(() => new Keyring(master).openDataKey({ ...wrappedKey, accountId: 'acc_2' })).toThrow(IntegrityError);
  });
});

/** Every byte the database holds, as text: the SQLite file with its WAL, or every PostgreSQL row. */
async function everythingStored(h: Harness): Promise<string> {
  if (h.storage.location.kind === 'sqlite') {
    const dir = dirname(h.storage.where);
    return readdirSync(dir)
      .map((file) => readFileSync(join(dir, file)).toString('latin1'))
      .join('\n');
  }
  const client = new pg.Client({ connectionString: h.storage.where });
  await client.connect();
  try {
    const tables = await client.query<{ tablename: string }>("select tablename from pg_tables where schemaname = 'public'");
    const dumps: string[] = [];
    for (const { tablename } of tables.rows) {
      const rows = await client.query(`select * from "${tablename}"`);
      dumps.push(JSON.stringify(rows.rows, (_k, v: unknown) => (v && typeof v === 'object' && 'type' in v && (v as { type: string }).type === 'Buffer' ? Buffer.from((v as unknown as { data: number[] }).data).toString('latin1') : v)));
    }
    return dumps.join('\n');
  } finally {
    await client.end();
  }
}

describe.each(DATABASES)('encryption at rest on %s', (kind) => {
  let h: Harness;
  let agent: { key: string };

  beforeAll(async () => {
    h = await startHarness(kind);
    agent = await h.agentWithKey(h.admin.token, 'reader');
    await h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { name: 'single', value: `${CANARY}-single`, agents: ['reader'] } });
    await h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { name: 'pair', value: { id: 'x', secret: `${CANARY}-kv` }, agents: ['reader'] } });
    await h.call('PATCH', '/api/v1/secrets/single', { token: h.admin.token, body: { value: `${CANARY}-rotated` } });
    await h.call('GET', '/runtime/v1/secrets/single', { token: agent.key });
    await h.vault.audit.flush();
  });
  afterAll(async () => h?.close());

  it('no value, agent key or token lands in the database in plaintext', async () => {
    const stored = await everythingStored(h);
    expect(stored.length).toBeGreaterThan(1000);
    expect(stored).toContain('single'); // names are plaintext: the check would see a value too
    expect(stored).not.toContain(CANARY);
    expect(stored).not.toContain(agent.key);
    expect(stored).not.toContain(h.admin.token);
    expect(stored).not.toContain(h.admin.password);
  });

  it('a ciphertext copied onto another secret or version does not open', async () => {
    const db = h.vault.store.db;
    const single = await db.selectFrom('secrets').selectAll().where('name', '=', 'single').executeTakeFirstOrThrow();
    const pair = await db.selectFrom('secrets').selectAll().where('name', '=', 'pair').executeTakeFirstOrThrow();
    const v1 = await db.selectFrom('secret_versions').selectAll().where('secret_id', '=', single.id).where('version', '=', 1).executeTakeFirstOrThrow();
    // Version 1's ciphertext put in place of version 2 of the same secret.
    await db.updateTable('secret_versions').set({ ciphertext: v1.ciphertext }).where('secret_id', '=', single.id).where('version', '=', 2).execute();
    const moved = await h.call('GET', '/runtime/v1/secrets/single', { token: agent.key });
    expect(moved.status).toBe(500);
    expect(moved.body.error.code).toBe('secret_unreadable');
    expect(JSON.stringify(moved.body)).not.toContain(CANARY);
    // The same ciphertext put on another secret.
    await db.updateTable('secret_versions').set({ ciphertext: v1.ciphertext, kind: 'single' }).where('secret_id', '=', pair.id).execute();
    const copied = await h.call('GET', '/runtime/v1/secrets/pair', { token: agent.key });
    expect(copied.status).toBe(500);
    expect(JSON.stringify(copied.body)).not.toContain(CANARY);
    expect(copied.body.error.code).toBe('secret_unreadable');
    expect(h.logLines.join('')).toContain('stored value failed its integrity check');
    expect(h.logLines.join('')).not.toContain(CANARY);
  });
});
