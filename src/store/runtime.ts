import { sql, type CompiledQuery } from 'kysely';
import type { Db, Store } from './database.js';
import { nearestNamesFirst } from './nameSuggestions.js';
import { precompile } from './precompiled.js';
import type { SecretOverridesTable } from './schema.js';

/** What identifies the caller of a run-time call: the key (hash, revocation), its agent and account. */
const KEY_COLUMNS = [
  'k.key_hash',
  'k.revoked_at',
  'k.environment',
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
 * The run-time read's one statement (see runtimeReader), compiled once per store: exported so that
 * bench/overrides-query.ts can time it alone, with and without overrides.
 */
export const runtimeReadQuery = (db: Db) =>
  precompile(
    (keyId: string, secretName: string) =>
      fromAgentKey(db)
        .leftJoin('secrets as s', (join) => join.onRef('s.account_id', '=', 'a.account_id').on('s.name', '=', secretName))
        .leftJoin('grants as g', (join) => join.onRef('g.secret_id', '=', 's.id').onRef('g.agent_id', '=', 'a.id'))
        .leftJoin('secret_overrides as o', (join) => join.onRef('o.secret_id', '=', 's.id').onRef('o.environment', '=', 'k.environment'))
        .leftJoin('secret_versions as v', (join) =>
          join.onRef('v.secret_id', '=', 'g.secret_id').on('v.version', '=', sql<number>`coalesce(o.version, s.current_version)`),
        )
        .select([
          ...KEY_COLUMNS,
          's.id as secret_id',
          's.name as secret_name',
          'o.version as override_version',
          's.delivery',
          's.allowed_hosts',
          'v.kind',
          'v.ciphertext',
          'v.data_key_id',
          'g.agent_id as granted_to',
        ])
        .select(sql<number | null>`coalesce(o.version, s.current_version)`.as('resolved_version'))
        .select((eb) => eb.selectFrom('read_revision').select('revision').where('id', '=', 1).as('revision'))
        .where('k.id', '=', keyId),
    2,
  );

/**
 * Answers remembered per (agent key, secret name) at most: enough for every pair a busy deployment
 * reads, bounded so that no caller can grow it without end.
 */
const REMEMBERED_ANSWERS = 10_000;

/**
 * Everything a run-time read needs, as of now: the key (to check its hash and revocation), its agent,
 * account and environment, the secret by exact name, whether this agent is on its access list, and the
 * ciphertext (only when granted) of the version the key's environment reads: its override's when the
 * secret has one for that environment, else the default's (SPEC S22, domain/environments.ts
 * resolveVersion, here in the same single statement).
 *
 * Each read first learns the store's read revision as of a moment after the read arrived: one row,
 * replaced by triggers in every transaction that changes a key, agent, account, secret, version or
 * grant (migration 0003), whoever commits it — this instance, another, or the CLI. An answer loaded
 * under that same revision is exactly what the full query would return now, so it is used again; any
 * other answer is dropped and the query runs, reading the revision in the same statement, hence from
 * the same snapshot. A change that has committed is therefore seen by the very next read on every
 * instance (SPEC S7), and the six-table join runs once per change instead of once per read.
 *
 * The reads that arrive in one turn of the event loop share one revision lookup, made after that
 * turn's I/O, so still after each of them arrived: under load that is one statement for many reads.
 */
export function runtimeReader(store: Store) {
  const { db } = store;
  const currentRevision = precompile(() => db.selectFrom('read_revision').select('revision').where('id', '=', 1), 0);
  const loadAnswer = runtimeReadQuery(db);
  type Answer = ReturnType<typeof loadAnswer> extends CompiledQuery<infer Row> ? Row : never;

  let lookup: Promise<string | undefined> | undefined;
  const revisionNow = (): Promise<string | undefined> =>
    (lookup ??= new Promise((resolve, reject) => {
      setImmediate(() => {
        // Reads that arrive from here on need a lookup that starts after them.
        lookup = undefined;
        store.read(currentRevision()).then((rows) => resolve(rows[0]?.revision), reject);
      });
    }));

  let revision: string | undefined;
  // Key ids have a fixed form without "/", so "<key id>/<name>" names one pair only.
  const remembered = new Map<string, Answer>();

  return async (keyId: string, secretName: string): Promise<Answer | undefined> => {
    const now = await revisionNow();
    if (now !== revision) {
      // Everything remembered was loaded under an older revision and can never be used again.
      remembered.clear();
      revision = now;
    }
    const pair = `${keyId}/${secretName}`;
    const known = remembered.get(pair);
    if (known !== undefined && known.revision === revision) return known;

    const [answer] = await store.read(loadAnswer(keyId, secretName));
    // Only answers about a secret that exists are kept: unknown keys and names stay off the heap.
    if (answer !== undefined && answer.secret_id !== null && answer.revision === revision) {
      if (remembered.size >= REMEMBERED_ANSWERS) remembered.delete(remembered.keys().next().value as string);
      remembered.set(pair, answer);
    }
    return answer;
  };
}

/** The key's agent and account, for calls that need no secret (listing what the agent can read). */
export async function loadAgentKey(db: Db, keyId: string) {
  return fromAgentKey(db).select(KEY_COLUMNS).where('k.id', '=', keyId).executeTakeFirst();
}

/**
 * The secrets an agent is on the access list of, by name, each with the kind and key names of what a
 * key of `environment` reads (SPEC S11, S22): the version of that environment's override when the
 * secret has one, else the default (whose kind and key names the secret's row keeps). The default's
 * stay beside them (`default_kind`, `default_key_names`) for the admin's view of every environment.
 */
export async function listReadableSecrets(db: Db, agentId: string, environment: string) {
  return db
    .selectFrom('grants as g')
    .innerJoin('secrets as s', 's.id', 'g.secret_id')
    .leftJoin('secret_overrides as o', (join) => join.onRef('o.secret_id', '=', 's.id').on('o.environment', '=', environment))
    .leftJoin('secret_versions as v', (join) => join.onRef('v.secret_id', '=', 'o.secret_id').onRef('v.version', '=', 'o.version'))
    .select(['s.id', 's.name', 's.description', 's.current_version', 's.delivery', 's.allowed_hosts', 'g.last_read_at', 'o.version as override_version'])
    .select(['s.kind as default_kind', 's.key_names as default_key_names'])
    .select([sql<string>`coalesce(v.kind, s.kind)`.as('kind'), sql<string>`coalesce(v.key_names, s.key_names)`.as('key_names')])
    .where('g.agent_id', '=', agentId)
    .orderBy('s.name_key')
    .execute();
}

/** Per secret, each override with the kind and key names of the version it points at (what its environment reads). */
export async function overrideShapesOf(db: Db, secretIds: readonly string[]) {
  const bySecret = new Map<string, Array<SecretOverridesTable & { kind: string; key_names: string }>>();
  // Chunks that stay under both databases' limits on statement parameters.
  for (let i = 0; i < secretIds.length; i += 1000) {
    const rows = await db
      .selectFrom('secret_overrides as o')
      .innerJoin('secret_versions as v', (join) => join.onRef('v.secret_id', '=', 'o.secret_id').onRef('v.version', '=', 'o.version'))
      .selectAll('o')
      .select(['v.kind', 'v.key_names'])
      .where('o.secret_id', 'in', secretIds.slice(i, i + 1000))
      .orderBy('o.environment')
      .execute();
    for (const row of rows) bySecret.set(row.secret_id, [...(bySecret.get(row.secret_id) ?? []), row]);
  }
  return bySecret;
}

/**
 * The names a mistyped run-time name may have meant (SPEC S10), at most `limit` of them, so that the
 * "did you mean" costs the same whatever the account holds: only names the agent may read, within
 * `distance` characters of its length, the one equal ignoring case first, then those that begin like it.
 */
export async function suggestionCandidates(db: Db, agentId: string, wanted: string, distance: number, limit: number): Promise<string[]> {
  const granted = db.selectFrom('grants as g').innerJoin('secrets as s', 's.id', 'g.secret_id').select('s.name').where('g.agent_id', '=', agentId);
  const rows = await nearestNamesFirst(granted, 's.name_key', wanted, distance, limit).execute();
  return rows.map((row) => row.name);
}

export async function loadDataKey(db: Db, dataKeyId: string) {
  return db.selectFrom('data_keys').selectAll().where('id', '=', dataKeyId).executeTakeFirstOrThrow();
}
