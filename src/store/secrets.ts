import { sql } from 'kysely';
import type { Db, Tx } from './database.js';
import type { GrantsTable, SecretOverridesTable, SecretsTable } from './schema.js';

/** Secret rows by name, ignoring case (names are unique per account ignoring case). */
export async function findSecretByName(db: Db | Tx, accountId: string, name: string): Promise<SecretsTable | undefined> {
  return db
    .selectFrom('secrets')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('name_key', '=', name.toLowerCase())
    .executeTakeFirst();
}

export interface SecretListQuery {
  accountId: string;
  search?: string | undefined;
  /** Keyset paging: the name_key of the last secret of the previous page. */
  after?: string | undefined;
  limit: number;
}

const likePattern = (text: string): string => `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export async function listSecretRows(db: Db, q: SecretListQuery) {
  let query = db
    .selectFrom('secrets as s')
    .selectAll('s')
    .select((eb) =>
      eb.selectFrom('grants as g').whereRef('g.secret_id', '=', 's.id').select(eb.fn.countAll<number>().as('n')).as('agents_with_access'),
    )
    .where('s.account_id', '=', q.accountId);
  if (q.search) query = query.where(sql<boolean>`s.name_key like ${likePattern(q.search)} escape '\\'`);
  if (q.after !== undefined) query = query.where('s.name_key', '>', q.after);
  return query.orderBy('s.name_key').limit(q.limit).execute();
}

export async function countSecrets(db: Db, accountId: string, search?: string): Promise<number> {
  let query = db.selectFrom('secrets').select((eb) => eb.fn.countAll<number>().as('n')).where('account_id', '=', accountId);
  if (search) query = query.where(sql<boolean>`name_key like ${likePattern(search)} escape '\\'`);
  const row = await query.executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Every agent of the account, with whether (and when last) it read the secret. */
export async function accessListRows(db: Db | Tx, accountId: string, secretId: string) {
  return db
    .selectFrom('agents as a')
    .leftJoin('grants as g', (join) => join.onRef('g.agent_id', '=', 'a.id').on('g.secret_id', '=', secretId))
    .select(['a.id', 'a.name', 'g.agent_id as granted_to', 'g.created_at as granted_at', 'g.created_by as granted_by', 'g.last_read_at'])
    .where('a.account_id', '=', accountId)
    .orderBy('a.name_key')
    .execute();
}

/**
 * Takes the next version number (one numbering per secret, across its default and every override,
 * SPEC S22) and locks the secret's row until the transaction ends: the UPDATE takes the lock before
 * the highest number is read, so two writers never take the same one.
 */
export async function nextVersion(tx: Tx, secretId: string, by: string, at: string): Promise<number> {
  await tx.updateTable('secrets').set({ updated_at: at, updated_by: by }).where('id', '=', secretId).execute();
  const row = await tx
    .selectFrom('secret_versions')
    .select((eb) => eb.fn.max<number | null>('version').as('highest'))
    .where('secret_id', '=', secretId)
    .executeTakeFirst();
  return Number(row?.highest ?? 0) + 1;
}

/** The version each environment with an override reads, per secret of the list. */
export async function overridesOf(db: Db | Tx, secretIds: readonly string[]): Promise<Map<string, SecretOverridesTable[]>> {
  const bySecret = new Map<string, SecretOverridesTable[]>();
  if (secretIds.length === 0) return bySecret;
  for (let i = 0; i < secretIds.length; i += 1000) {
    const rows = await db.selectFrom('secret_overrides').selectAll().where('secret_id', 'in', secretIds.slice(i, i + 1000)).orderBy('environment').execute();
    for (const row of rows) {
      const list = bySecret.get(row.secret_id);
      if (list) list.push(row);
      else bySecret.set(row.secret_id, [row]);
    }
  }
  return bySecret;
}

/** Makes `version` the one `environment` reads (a new override, or the override moved). */
export async function setOverride(tx: Tx, row: SecretOverridesTable): Promise<void> {
  await tx
    .insertInto('secret_overrides')
    .values(row)
    .onConflict((oc) => oc.columns(['secret_id', 'environment']).doUpdateSet({ version: row.version, updated_at: row.updated_at, updated_by: row.updated_by }))
    .execute();
}

/** Removes an environment's override; whether there was one. */
export async function removeOverride(tx: Tx, secretId: string, environment: string): Promise<boolean> {
  const result = await tx.deleteFrom('secret_overrides').where('secret_id', '=', secretId).where('environment', '=', environment).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** The last reads of a secret per agent and environment (SPEC S24), newest first. */
export async function readStampsOf(db: Db | Tx, secretId: string) {
  return db.selectFrom('read_stamps').selectAll().where('secret_id', '=', secretId).orderBy('last_read_at', 'desc').execute();
}

/** Inserts grants in chunks that stay under both databases' limits on statement parameters. */
export async function insertGrants(tx: Tx, grants: readonly GrantsTable[]): Promise<void> {
  for (let i = 0; i < grants.length; i += 1000) await tx.insertInto('grants').values(grants.slice(i, i + 1000)).execute();
}
