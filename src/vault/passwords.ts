import { hash as argonHash, verify as argonVerify } from '@node-rs/argon2';
import { oneTimePassword } from '../crypto/tokens.js';
import { VaultError, invalidInput, notFound } from '../domain/errors.js';
import type { Store, Tx } from '../store/database.js';
import type { UsersTable } from '../store/schema.js';
import { findUserForOperator, lockPeopleForAdmin } from './accountAdmins.js';
import type { AuditTrail, RecordAudit } from './audit.js';
import { OPERATOR, actorOf, requireAdmin, type Actor, type UserCaller } from './callers.js';
import { looksLikeId } from './ids.js';

// OWASP's recommended Argon2id floor: 19 MiB, 2 passes, 1 lane.
const ARGON = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

/** SPEC S19: a one-time password never used stops signing in this long after it was made. */
export const ONE_TIME_PASSWORD_HOURS = 72;

export const hashPassword = (password: string): Promise<string> => argonHash(password, ARGON);

/** False for a wrong password and for a stored hash that cannot be read. */
export const passwordMatches = (storedHash: string, password: string): Promise<boolean> => argonVerify(storedHash, password).catch(() => false);

/** A password ready to store: its hash, and the one-time password to hand over when none was chosen. */
export interface PreparedPassword {
  hash: string;
  oneTimePassword: string | undefined;
}

/**
 * A password to store: the chosen one, or a one-time password to hand over. Hashed before any
 * transaction starts, so the slow hash never holds a database lock.
 */
export async function preparePassword(password: string | undefined): Promise<PreparedPassword> {
  const chosen = password ?? oneTimePassword();
  return { hash: await hashPassword(chosen), oneTimePassword: password === undefined ? chosen : undefined };
}

/** The user columns that hold a prepared password: a one-time one is marked so, with its expiry. */
export function passwordColumns(prepared: PreparedPassword): Pick<UsersTable, 'password_hash' | 'password_one_time' | 'password_expires_at'> {
  const oneTime = prepared.oneTimePassword !== undefined;
  return {
    password_hash: prepared.hash,
    password_one_time: oneTime ? 1 : 0,
    password_expires_at: oneTime ? new Date(Date.now() + ONE_TIME_PASSWORD_HOURS * 3600_000).toISOString() : null,
  };
}

/** SPEC S19: changing one's own password, an admin's reset, and the operator's reset on storage. */
export function passwordsService(deps: { store: Store; audit: AuditTrail }) {
  const { store, audit } = deps;

  /**
   * The caller's own password. The current one is checked (also in a one-time session: the session
   * proves the one-time password was used, not that the person at the keyboard now knows it); the new
   * one is at least PASSWORD_MIN characters (the schema) and not the current one. Ends the caller's other
   * sessions; the one this came through, if any, carries on with full rights.
   */
  async function changePassword(caller: UserCaller, currentPassword: string, newPassword: string): Promise<void> {
    const user = await store.db.selectFrom('users').select(['password_hash']).where('id', '=', caller.userId).executeTakeFirst();
    if (!user) throw new VaultError('unauthenticated', 'Your session has ended; sign in again.');
    if (!(await passwordMatches(user.password_hash, currentPassword))) throw invalidInput('currentPassword', 'currentPassword: is not your current password.');
    if (newPassword === currentPassword) throw invalidInput('newPassword', 'newPassword: must differ from your current password.');
    const prepared = await preparePassword(newPassword);
    const actor = actorOf(caller);
    await audit.change(caller.accountId, async (tx, record) => {
      await store.lockAccount(tx, caller.accountId);
      // Only over the password that was checked: a reset that landed meanwhile wins, and this is refused.
      const changed = await tx
        .updateTable('users')
        .set(passwordColumns(prepared))
        .where('id', '=', caller.userId)
        .where('password_hash', '=', user.password_hash)
        .executeTakeFirst();
      if (Number(changed.numUpdatedRows) !== 1) throw new VaultError('conflict', 'Your password was changed or reset meanwhile; sign in again.', 'currentPassword');
      let ended = tx.deleteFrom('sessions').where('user_id', '=', caller.userId);
      if (caller.session) ended = ended.where('id', '!=', caller.session.id);
      const endedSessions = Number((await ended.executeTakeFirst()).numDeletedRows);
      if (caller.session) await tx.updateTable('sessions').set({ password_change_only: 0 }).where('id', '=', caller.session.id).execute();
      record({ actor, action: 'user.password_change', outcome: 'success', detail: { userId: caller.userId, email: caller.email, endedSessions } });
    });
  }

  /** Gives the user a one-time password and ends their sessions, in the transaction `tx`. */
  async function storeOneTimePassword(tx: Tx, user: { id: string; email: string }, prepared: PreparedPassword, actor: Actor, record: RecordAudit): Promise<void> {
    const updated = await tx.updateTable('users').set(passwordColumns(prepared)).where('id', '=', user.id).executeTakeFirst();
    // Removed between being found and this transaction: nothing to reset, nothing to audit.
    if (Number(updated.numUpdatedRows) !== 1) throw notFound(`No user ${user.email}.`, 'user');
    const endedSessions = Number((await tx.deleteFrom('sessions').where('user_id', '=', user.id).executeTakeFirst()).numDeletedRows);
    record({ actor, action: 'user.password_reset', outcome: 'success', detail: { userId: user.id, email: user.email, endedSessions } });
  }

  /** An admin resets a user's password (themself included): a one-time password, shown once; their sessions end. */
  async function resetPassword(caller: UserCaller, ref: string): Promise<{ id: string; email: string; password: string }> {
    requireAdmin(caller);
    const prepared = await preparePassword(undefined);
    const actor = actorOf(caller);
    return audit.change(caller.accountId, async (tx, record) => {
      await lockPeopleForAdmin(store, tx, caller);
      const byId = looksLikeId('usr', ref);
      const user = await tx
        .selectFrom('users')
        .select(['id', 'email'])
        .where('account_id', '=', caller.accountId)
        .where(byId ? 'id' : 'email', '=', byId ? ref : ref.toLowerCase())
        .executeTakeFirst();
      if (!user) throw notFound(`No user "${ref}" in this account.`, 'user');
      await storeOneTimePassword(tx, user, prepared, actor, record);
      return { id: user.id, email: user.email, password: prepared.oneTimePassword ?? '' };
    });
  }

  /**
   * The operator's way back in (`agent-secrets users reset-password`), straight on storage: a one-time
   * password for the user with that email. Emails are unique across accounts; `accountName`, when
   * given, must be the user's account.
   */
  async function resetPasswordAsOperator(email: string, accountName?: string): Promise<{ email: string; account: string; password: string }> {
    const user = await findUserForOperator(store.db, email, accountName);
    const prepared = await preparePassword(undefined);
    return audit.change(user.accountId, async (tx, record) => {
      await store.lockAccount(tx, user.accountId);
      await storeOneTimePassword(tx, { id: user.id, email: user.email }, prepared, OPERATOR, record);
      return { email: user.email, account: user.accountName, password: prepared.oneTimePassword ?? '' };
    });
  }

  return { changePassword, resetPassword, resetPasswordAsOperator };
}

export type PasswordsService = ReturnType<typeof passwordsService>;
