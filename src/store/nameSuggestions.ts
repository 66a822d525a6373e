import { sql, type SelectQueryBuilder, type SqlBool } from 'kysely';
import type { Db, Tx } from './database.js';

/**
 * What every "did you mean" lookup shares, so that its cost does not grow with what the account holds:
 * only names (a lower-cased name column: `name_key`, `s.name_key`) within `distance` characters of the
 * wanted name's length, the one equal ignoring case first, then those that begin like it, at most
 * `limit` of them; src/domain/suggest.ts picks the nearest among them.
 */
export function nearestNamesFirst<DB, TB extends keyof DB, O>(query: SelectQueryBuilder<DB, TB, O>, column: string, wanted: string, distance: number, limit: number): SelectQueryBuilder<DB, TB, O> {
  const key = wanted.toLowerCase();
  const name = sql.ref(column);
  return query
    .where(sql<SqlBool>`length(${name}) between ${key.length - distance} and ${key.length + distance}`)
    .orderBy(sql`case when ${name} = ${key} then 0 when substr(${name}, 1, 4) = ${key.slice(0, 4)} then 1 else 2 end`)
    .orderBy(name)
    .limit(limit);
}

/**
 * The names of an account's secrets or agents a mistyped name may have meant, for the management
 * API: an admin may see every name of the account, so every name is a candidate (an agent at run
 * time gets only the names it may read: suggestionCandidates in runtime.ts).
 */
export async function accountNameCandidates(db: Db | Tx, table: 'secrets' | 'agents', accountId: string, wanted: string, distance: number, limit: number): Promise<string[]> {
  const rows = await nearestNamesFirst(db.selectFrom(table).select('name').where('account_id', '=', accountId), 'name_key', wanted, distance, limit).execute();
  return rows.map((row) => row.name);
}
