import type { Db } from './database.js';
import { precompile } from './precompiled.js';

/** What identifies the caller of a run-time call: the key (hash, revocation), its agent and account. */
const KEY_COLUMNS = [
  'k.key_hash',
  'k.revoked_at',
  'a.id as agent_id',
  'a.name as agent_name',
  'acc.id as account_id',
  'acc.name as account_name',
  'acc.vault_enabled',
] as const;

/** An agent key with its agent and account joined, the start of every run-time query. */
const fromAgentKey = (db: Db) =>
  db.selectFrom('agent_keys as k').innerJoin('agents as a', 'a.id', 'k.agent_id').innerJoin('accounts as acc', 'acc.id', 'a.account_id');

/**
 * Everything a run-time read needs, in one round trip: the key (to check its hash and revocation), its
 * agent and account, the secret by exact name, whether this agent is on its access list, and the
 * current version's ciphertext (only when granted). Nothing here is cached between calls (SPEC S7):
 * only the query's text is prepared once.
 */
export function runtimeReadQuery(db: Db) {
  const query = precompile(
    (keyId: string, secretName: string) =>
      fromAgentKey(db)
        .leftJoin('secrets as s', (join) => join.onRef('s.account_id', '=', 'a.account_id').on('s.name', '=', secretName))
        .leftJoin('grants as g', (join) => join.onRef('g.secret_id', '=', 's.id').onRef('g.agent_id', '=', 'a.id'))
        .leftJoin('secret_versions as v', (join) => join.onRef('v.secret_id', '=', 'g.secret_id').onRef('v.version', '=', 's.current_version'))
        .select([
          ...KEY_COLUMNS,
          's.id as secret_id',
          's.name as secret_name',
          's.kind',
          's.current_version',
          'g.agent_id as granted_to',
          'v.ciphertext',
          'v.data_key_id',
        ])
        .where('k.id', '=', keyId),
    2,
  );
  return async (keyId: string, secretName: string) => (await db.executeQuery(query(keyId, secretName))).rows[0];
}

/** The key's agent and account, for calls that need no secret (listing what the agent can read). */
export async function loadAgentKey(db: Db, keyId: string) {
  return fromAgentKey(db).select(KEY_COLUMNS).where('k.id', '=', keyId).executeTakeFirst();
}

/** Names and kinds of the secrets an agent is on the access list of, by name. */
export async function listReadableSecrets(db: Db, agentId: string) {
  return db
    .selectFrom('grants as g')
    .innerJoin('secrets as s', 's.id', 'g.secret_id')
    .select(['s.name', 's.kind', 's.key_names', 's.description', 'g.last_read_at'])
    .where('g.agent_id', '=', agentId)
    .orderBy('s.name_key')
    .execute();
}

export async function loadDataKey(db: Db, dataKeyId: string) {
  return db.selectFrom('data_keys').selectAll().where('id', '=', dataKeyId).executeTakeFirstOrThrow();
}
