/**
 * The read revision (migration 0003) is what lets a run-time read reuse what it loaded: it must be
 * replaced by every change to anything a read depends on — whichever connection commits it — and by
 * nothing else, or reads could never reuse anything.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest, openStore, type Store } from '../../src/store/database.js';
import type { Vault } from '../../src/vault/index.js';
import { vaultWithReader } from '../support/reader.js';
import { DATABASES, freshStorage, type TestStorage } from '../support/stores.js';

/** Every table a run-time read joins, and the columns that may change without touching the revision. */
const WATCHED: Record<string, string[]> = {
  accounts: [],
  agents: [],
  agent_keys: [],
  secrets: ['last_read_at'],
  secret_versions: [],
  grants: ['last_read_at'],
};

describe.each(DATABASES)('the read revision on %s', (kind) => {
  let storage: TestStorage;
  let store: Store;
  let other: Store;
  let vault: Vault;
  let agentKey: string;

  beforeAll(async () => {
    storage = await freshStorage(kind);
    store = openStore(storage.location);
    await migrateToLatest(store);
    // A second, independent connection to the same database: another instance, or the CLI.
    other = openStore(storage.location);
    ({ vault, agentKey } = await vaultWithReader(store, { name: 'watched', value: 'v1' }));
  });
  afterAll(async () => {
    await other?.close();
    await vault?.close();
    await storage?.dispose();
  });

  const revision = async () => (await other.db.selectFrom('read_revision').select('revision').executeTakeFirstOrThrow()).revision;

  it('is replaced by an update of any column a read depends on, and not by "last read" stamps', async () => {
    const tables = await other.db.introspection.getTables();
    for (const [table, ignored] of Object.entries(WATCHED)) {
      const columns = tables.find((t) => t.name === table)?.columns.map((c) => c.name) ?? [];
      expect(columns.length, table).toBeGreaterThan(0);
      for (const column of columns) {
        const before = await revision();
        await sql`update ${sql.table(table)} set ${sql.ref(column)} = ${sql.ref(column)}`.execute(other.db);
        expect(await revision() !== before, `${table}.${column}`).toBe(!ignored.includes(column));
      }
    }
  });

  it('is replaced by inserts and deletes, and read answers follow changes made on another connection', async () => {
    expect((await vault.runtime.readSecretForAgent(agentKey, 'watched')).value).toBe('v1');
    const before = await revision();
    // A hand edit that bypasses the vault entirely: the key is revoked by another connection.
    await other.db.updateTable('agent_keys').set({ revoked_at: new Date().toISOString() }).execute();
    expect(await revision()).not.toBe(before);
    await expect(vault.runtime.readSecretForAgent(agentKey, 'watched')).rejects.toMatchObject({ code: 'unauthenticated' });
    await other.db.updateTable('agent_keys').set({ revoked_at: null }).execute();
    expect((await vault.runtime.readSecretForAgent(agentKey, 'watched')).value).toBe('v1');

    const beforeDelete = await revision();
    await other.db.deleteFrom('grants').execute();
    expect(await revision()).not.toBe(beforeDelete);
    await expect(vault.runtime.readSecretForAgent(agentKey, 'watched')).rejects.toMatchObject({ code: 'MissingAccess' });
  });
});
