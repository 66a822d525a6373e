import { sql, type RawBuilder } from 'kysely';
import type { Db, Tx } from './database.js';

/**
 * What every "did you mean" lookup shares, so that its cost does not grow with what the account holds:
 * only names within `distance` characters of the wanted name's length, the one equal ignoring case
 * first, then those that begin like it, at most `limit` of them (src/domain/suggest.ts picks the nearest).
 */
export interface NearNameBounds {
  length: RawBuilder<number>;
  shortest: number;
  longest: number;
  rank: RawBuilder<number>;
}

/** The bounds over a lower-cased name column (`name_key`, `s.name_key`). */
export function nearNameBounds(column: string, wanted: string, distance: number): NearNameBounds {
  const key = wanted.toLowerCase();
  const ref = sql.ref(column);
  return {
    length: sql<number>`length(${ref})`,
    shortest: key.length - distance,
    longest: key.length + distance,
    rank: sql<number>`case when ${ref} = ${key} then 0 when substr(${ref}, 1, 4) = ${key.slice(0, 4)} then 1 else 2 end`,
  };
}

/**
 * The names of an account's secrets or agents a mistyped name may have meant, for the management
 * API: an admin may see every name of the account, so every name is a candidate (an agent at run
 * time gets only the names it may read: suggestionCandidates in runtime.ts).
 */
export async function accountNameCandidates(db: Db | Tx, table: 'secrets' | 'agents', accountId: string, wanted: string, distance: number, limit: number): Promise<string[]> {
  const near = nearNameBounds('name_key', wanted, distance);
  const rows = await db
    .selectFrom(table)
    .select('name')
    .where('account_id', '=', accountId)
    .where(near.length, '>=', near.shortest)
    .where(near.length, '<=', near.longest)
    .orderBy(near.rank)
    .orderBy('name_key')
    .limit(limit)
    .execute();
  return rows.map((row) => row.name);
}
