import { sql } from 'kysely';
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
export async function checkWritable(store: Store): Promise<void> {
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
