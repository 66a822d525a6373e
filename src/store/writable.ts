import { sql } from 'kysely';
import type { Store } from './database.js';

class ProbeDone extends Error {}

/**
 * Proves the database takes writes, leaving nothing behind: a table is created and the transaction
 * rolled back (DDL is transactional on SQLite and PostgreSQL). A read-only file, mount or database
 * (SQLite falls back to reading a file it cannot open for writing) fails here with the database's
 * own error, before a service that could answer nothing but 503 starts listening.
 */
export async function checkWritable(store: Store): Promise<void> {
  try {
    await store.db.transaction().execute(async (tx) => {
      await sql`create table agent_secrets_write_probe (probe integer)`.execute(tx);
      throw new ProbeDone();
    });
  } catch (error) {
    if (!(error instanceof ProbeDone)) throw error;
  }
}
