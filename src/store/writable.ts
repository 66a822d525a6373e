import { CompiledQuery, sql } from 'kysely';
import type { Store } from './database.js';

class ProbeDone extends Error {}

/**
 * Proves the database takes writes, before a service that could answer nothing but 503 (every read
 * writes its audit event) starts listening; fails with the database's own error, or says why.
 * - SQLite opens a file it cannot write (read-only mount, immutable, no permission) for reading without
 *   a word: a table is created and the transaction rolled back, which writes nothing to the file.
 * - PostgreSQL says whether this session may write (default_transaction_read_only, a hot standby);
 *   asked rather than tried, so a role that may only use the vault's tables (no CREATE) still starts.
 */
export async function checkWritable(store: Pick<Store, 'dialect' | 'db'>): Promise<void> {
  if (store.dialect === 'postgres') {
    const { rows } = await sql<{ transaction_read_only: string }>`show transaction_read_only`.execute(store.db);
    if (rows[0]?.transaction_read_only === 'on') throw new Error('the database is read-only (transaction_read_only is on)');
    return;
  }
  try {
    await store.db.transaction().execute(async (tx) => {
      await sql`create table agent_secrets_write_probe (probe integer)`.execute(tx);
      throw new ProbeDone();
    });
  } catch (error) {
    if (!(error instanceof ProbeDone)) throw error;
  }
}

const SELECT_ONE = CompiledQuery.raw('select 1 as one');

/**
 * Proves the database answers a query on the connection that serves requests (readiness). SQLite: a
 * read, which never waits for another writer in WAL mode; a write here would wait for an outside
 * client's write lock with the event loop blocked (the audit writer thread proves writes instead, off
 * that loop). PostgreSQL: as checkWritable, a query that also says whether writes are allowed.
 */
export async function checkAnswers(store: Pick<Store, 'dialect' | 'db' | 'read'>): Promise<void> {
  if (store.dialect === 'postgres') return checkWritable(store);
  await store.read(SELECT_ONE);
}

const USER_VERSION = CompiledQuery.raw('pragma user_version') as CompiledQuery<{ user_version: number }>;

/**
 * Proves, while the service runs, that the database still takes writes, on this store's connection:
 * what readiness (GET /readyz) asks of the audit writer's (on SQLite its thread runs this).
 * - SQLite: a write that commits, the smallest there is: the header's user_version (which nothing else
 *   uses) set to the value it has. A connection that opened writable keeps believing it can write when
 *   its files turn read-only, and a rolled-back change (checkWritable) never touches them; this one
 *   appends to the WAL and syncs it, as a read's audit event would.
 * - PostgreSQL: as checkWritable, a query the server must answer that says whether writes are allowed.
 */
export async function probeWrites(store: Pick<Store, 'dialect' | 'db' | 'writeTransaction'>): Promise<void> {
  if (store.dialect === 'postgres') return checkWritable(store);
  await store.writeTransaction(async (runner) => {
    const { rows } = await runner.executeQuery(USER_VERSION);
    const version = Number(rows[0]?.user_version ?? 0);
    // An integer from the database itself, so the statement text is fixed by what is stored.
    await runner.executeQuery(CompiledQuery.raw(`pragma user_version = ${Math.trunc(version)}`));
  });
}
