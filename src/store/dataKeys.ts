import type { Db, Tx } from './database.js';
import type { DataKeysTable } from './schema.js';

/** Queries over wrapped data keys, for master key rotation (src/vault/rekey.ts). */

export async function countDataKeys(db: Db, wrappedBy: string): Promise<{ total: number; wrappedBy: number }> {
  const row = await db
    .selectFrom('data_keys')
    .select((eb) => [eb.fn.countAll<number>().as('total'), eb.fn.count<number>(eb.case().when('master_key_id', '=', wrappedBy).then(1).end()).as('wrapped_by')])
    .executeTakeFirstOrThrow();
  return { total: Number(row.total), wrappedBy: Number(row.wrapped_by) };
}

/** Accounts (id and name) that have a data key not wrapped by this master key. */
export async function accountsWithDataKeysNotWrappedBy(db: Db, masterKeyId: string): Promise<Array<{ id: string; name: string }>> {
  return db
    .selectFrom('accounts as a')
    .select(['a.id', 'a.name'])
    .where(({ exists, selectFrom }) =>
      exists(selectFrom('data_keys as d').select('d.id').whereRef('d.account_id', '=', 'a.id').where('d.master_key_id', '<>', masterKeyId)),
    )
    .orderBy('a.id')
    .execute();
}

export async function dataKeysNotWrappedBy(tx: Tx, accountId: string, masterKeyId: string): Promise<DataKeysTable[]> {
  return tx.selectFrom('data_keys').selectAll().where('account_id', '=', accountId).where('master_key_id', '<>', masterKeyId).orderBy('id').execute();
}

/** The new wrapping becomes the one in use; the one it replaces is kept beside it until the rotation completes. */
export async function replaceWrapping(tx: Tx, row: DataKeysTable, wrapped: Buffer, masterKeyId: string): Promise<void> {
  await tx
    .updateTable('data_keys')
    .set({ wrapped_key: wrapped, master_key_id: masterKeyId, previous_wrapped_key: row.wrapped_key, previous_master_key_id: row.master_key_id })
    .where('id', '=', row.id)
    .execute();
}

/** Accounts (id and name) with data keys that still carry a wrapping by a retired master key. */
export async function accountsWithPreviousWrappings(db: Db): Promise<Array<{ id: string; name: string }>> {
  return db
    .selectFrom('accounts as a')
    .select(['a.id', 'a.name'])
    .where(({ exists, selectFrom }) =>
      exists(selectFrom('data_keys as d').select('d.id').whereRef('d.account_id', '=', 'a.id').where('d.previous_master_key_id', 'is not', null)),
    )
    .orderBy('a.id')
    .execute();
}

export async function dataKeysWithPreviousWrapping(tx: Tx, accountId: string): Promise<DataKeysTable[]> {
  return tx.selectFrom('data_keys').selectAll().where('account_id', '=', accountId).where('previous_master_key_id', 'is not', null).orderBy('id').execute();
}

export async function dropPreviousWrapping(tx: Tx, dataKeyId: string): Promise<void> {
  await tx.updateTable('data_keys').set({ previous_wrapped_key: null, previous_master_key_id: null }).where('id', '=', dataKeyId).execute();
}
