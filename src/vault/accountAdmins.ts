import { VaultError, notFound } from '../domain/errors.js';
import type { Db, Store, Tx } from '../store/database.js';
import type { UserCaller } from './callers.js';

/**
 * "An account keeps at least one admin", under concurrency. Every change to an account's people runs
 * in a transaction that first takes the account's lock (Store.lockAccount), then checks, on rows read
 * under that lock, that the caller is still an admin: a caller is authenticated before the transaction,
 * and another admin may have demoted or removed them meanwhile. Two admins demoting each other at once
 * are then one after the other: the second finds it is no longer an admin and is refused.
 */
export async function lockPeopleForAdmin(store: Store, tx: Tx, caller: UserCaller): Promise<void> {
  await store.lockAccount(tx, caller.accountId);
  const fresh = await tx.selectFrom('users').select('role').where('id', '=', caller.userId).where('account_id', '=', caller.accountId).executeTakeFirst();
  if (fresh?.role !== 'admin') {
    throw new VaultError('admin_required', 'This needs an admin of the account, and you no longer are one (another admin changed it meanwhile).');
  }
}

/**
 * Refuses a change that would leave the account without an admin: `userId` is about to stop being one
 * (demoted or removed). Call it under the account's lock, so that no other change slips in between.
 */
export async function requireAnotherAdmin(tx: Tx, accountId: string, userId: string, field: string): Promise<void> {
  const other = await tx.selectFrom('users').select('id').where('account_id', '=', accountId).where('role', '=', 'admin').where('id', '!=', userId).limit(1).executeTakeFirst();
  if (!other) {
    throw new VaultError('conflict', 'This is the last admin of the account, and an account keeps at least one admin: make someone else an admin first.', field);
  }
}

/**
 * The user an operator command names, straight on storage. Emails are unique across accounts;
 * `accountName`, when given, must be the user's account.
 */
export async function findUserForOperator(db: Db, email: string, accountName: string | undefined) {
  const row = await db
    .selectFrom('users as u')
    .innerJoin('accounts as a', 'a.id', 'u.account_id')
    .select(['u.id', 'u.email', 'u.role', 'u.created_at', 'u.created_by', 'a.id as account_id', 'a.name as account_name'])
    .where('u.email', '=', email.toLowerCase())
    .executeTakeFirst();
  if (!row || (accountName !== undefined && row.account_name !== accountName)) {
    throw notFound(`No user ${email.toLowerCase()}${accountName === undefined ? '' : ` in account "${accountName}"`}.`, 'email');
  }
  return { id: row.id, email: row.email, role: row.role, createdAt: row.created_at, createdBy: row.created_by, accountId: row.account_id, accountName: row.account_name };
}
