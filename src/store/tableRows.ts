import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

/**
 * Whole-table reads and writes by table name, for backup and restore. Values pass through untouched
 * (ciphertexts and wrapped keys stay sealed); the table and column names come from BACKUP_TABLES,
 * never from input.
 */
export type Row = Record<string, unknown>;

/** Rows after `after` in key order (keyset paging: each page is one bounded query). */
export async function pageOfRows(db: Kysely<Database>, table: string, key: readonly string[], after: readonly unknown[] | undefined, limit: number): Promise<Row[]> {
  const keyList = sql.join(key.map((column) => sql.ref(column)));
  const where = after === undefined ? sql`` : sql`where (${keyList}) > (${sql.join(after.map((value) => sql`${value}`))})`;
  const result = await sql<Row>`select * from ${sql.table(table)} ${where} order by ${keyList} limit ${limit}`.execute(db);
  return result.rows;
}

export async function hasAnyRow(db: Kysely<Database>, table: string): Promise<boolean> {
  const result = await sql<Row>`select 1 as one from ${sql.table(table)} limit 1`.execute(db);
  return result.rows.length > 0;
}

/** One multi-row INSERT; the caller keeps rows × columns under the databases' parameter limits. */
export async function insertRows(db: Kysely<Database>, table: string, columns: readonly string[], rows: readonly Row[]): Promise<void> {
  if (rows.length === 0) return;
  const values = sql.join(rows.map((row) => sql`(${sql.join(columns.map((column) => sql`${row[column] ?? null}`))})`));
  await sql`insert into ${sql.table(table)} (${sql.join(columns.map((column) => sql.ref(column)))}) values ${values}`.execute(db);
}
