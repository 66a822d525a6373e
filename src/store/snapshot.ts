import { sql, type Kysely } from 'kysely';
import type { Store } from './database.js';
import type { Database } from './schema.js';

/**
 * Runs `work` inside one read-only transaction that sees a single consistent state of the database,
 * without holding up writers (the service keeps running while a backup reads everything).
 *
 * The two databases differ here: PostgreSQL takes a REPEATABLE READ snapshot; SQLite (WAL) gets its
 * snapshot from a deferred BEGIN at the first read. Kysely's transactions are not used because on
 * SQLite they BEGIN IMMEDIATE (see sqliteDriver.ts), which would block every writer for the duration.
 */
export async function readSnapshot<T>(store: Store, work: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  const begin = store.dialect === 'postgres' ? 'begin isolation level repeatable read read only' : 'begin deferred';
  return store.db.connection().execute(async (db) => {
    await sql.raw(begin).execute(db);
    try {
      const result = await work(db);
      await sql.raw('commit').execute(db);
      return result;
    } catch (error) {
      await sql.raw('rollback').execute(db).catch(() => undefined);
      throw error;
    }
  });
}
