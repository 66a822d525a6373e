/**
 * The hot path does no more database work than the design says (DESIGN.md, "The hot path"): one
 * single-row query (the read revision) for the reads that arrive together, the full read query only
 * after a change, and one audit transaction per batch of reads, whatever the size of the batch: on
 * SQLite eight statements, on PostgreSQL one (src/store/postgresReadEvents.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest, openStore, type Store } from '../../src/store/database.js';
import type { Vault } from '../../src/vault/index.js';
import { vaultWithReader } from '../support/reader.js';
import { DATABASES, freshStorage, type TestStorage } from '../support/stores.js';

describe.each(DATABASES)('database round trips of a run-time read on %s', (kind) => {
  let storage: TestStorage;
  let store: Store;
  let vault: Vault;
  let agentKey: string;
  let caller: Awaited<ReturnType<Vault['people']['authenticateToken']>>;
  const statements: string[] = [];
  // SQLite: begin, chain lock (returning the head), insert, head update, grant, secret and environment
  // "last read" (SPEC S15, S24), commit. PostgreSQL: all of that in one statement, after the head this
  // writer last wrote.
  const auditStatements = kind === 'sqlite' ? 8 : 1;
  const endsAuditBatch = (sql: string) => (kind === 'sqlite' ? sql === 'commit' : sql.trimStart().startsWith('with head as'));

  beforeAll(async () => {
    storage = await freshStorage(kind);
    store = openStore(storage.location, { onQuery: (sql) => statements.push(sql) });
    await migrateToLatest(store);
    ({ vault, caller, agentKey } = await vaultWithReader(store, { name: 'hot', value: 'v' }));
    // Opens the data key once; on PostgreSQL the audit writer also learns that nobody else appends to
    // this account's chain (two locked batches in a row find it where it left it).
    for (let i = 0; i < 2; i++) {
      await vault.runtime.readSecretForAgent(agentKey, 'hot');
      await vault.audit.flush();
    }
  });
  afterAll(async () => {
    await vault?.close();
    await storage?.dispose();
  });

  const isRevision = (sql: string) => sql.startsWith('select "revision" from "read_revision"');
  const isFullRead = (sql: string) => sql.startsWith('select') && sql.includes('from "agent_keys"');

  it('a single read: one single-row query, then one audit transaction', async () => {
    statements.length = 0;
    await vault.runtime.readSecretForAgent(agentKey, 'hot');
    await vault.audit.flush();
    expect(statements.filter(isRevision)).toHaveLength(1);
    expect(statements.filter(isFullRead)).toHaveLength(0);
    expect(statements.length).toBe(1 + auditStatements);
  });

  it('the first read after a change runs the full query once, and sees the change', async () => {
    await vault.secrets.updateSecret(caller, 'hot', { value: 'v2' });
    statements.length = 0;
    expect((await vault.runtime.readSecretForAgent(agentKey, 'hot')).value).toBe('v2');
    expect((await vault.runtime.readSecretForAgent(agentKey, 'hot')).value).toBe('v2');
    await vault.audit.flush();
    expect(statements.filter(isRevision)).toHaveLength(2);
    expect(statements.filter(isFullRead)).toHaveLength(1);
  });

  it('forty reads arriving together: one single-row query for all, and their audit events share transactions', async () => {
    statements.length = 0;
    await Promise.all(Array.from({ length: 40 }, () => vault.runtime.readSecretForAgent(agentKey, 'hot')));
    await vault.audit.flush();
    expect(statements.filter(isRevision)).toHaveLength(1);
    expect(statements.filter(isFullRead)).toHaveLength(0);
    const batches = statements.filter(endsAuditBatch);
    expect(batches.length).toBeGreaterThanOrEqual(1);
    expect(batches.length).toBeLessThanOrEqual(2);
    expect(statements.length - 1).toBe(batches.length * auditStatements);
  });
});
