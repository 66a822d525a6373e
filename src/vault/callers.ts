import { VaultError } from '../domain/errors.js';
import type { Role } from '../domain/roles.js';

/** A signed-in person, through a personal access token or a console session. */
export interface UserCaller {
  userId: string;
  email: string;
  role: Role;
  accountId: string;
  accountName: string;
  vaultEnabled: boolean;
  via: 'token' | 'session';
  /**
   * The console session behind the call, if it came through one. A session opened with a one-time
   * password may only change the password (SPEC S19); a personal access token is a credential of its
   * own and is never limited that way. `ssoRevision` is set for a session opened by single sign-on:
   * the revision of the account's SSO configuration it went through (SPEC S29's lock-out guard).
   */
  session: { id: string; passwordChangeOnly: boolean; ssoRevision: string | null } | null;
}

/** How an audit event names who acted. */
export interface Actor {
  type: 'user' | 'agent' | 'operator';
  id: string | null;
  name: string;
}

export const actorOf = (caller: UserCaller): Actor => ({ type: 'user', id: caller.userId, name: caller.email });

export const OPERATOR: Actor = { type: 'operator', id: null, name: 'operator' };

/** The refusal a one-time sign-in gets everywhere but where it changes the password. */
export const passwordChangeRequired = (): VaultError =>
  new VaultError('password_change_required', 'You signed in with a one-time password: choose a new password first (POST /api/v1/auth/password).');

export function requireAdmin(caller: UserCaller): void {
  if (caller.role !== 'admin') {
    throw new VaultError('admin_required', 'This needs an admin of the account; ask one of your admins.');
  }
}

/** SPEC S8: secret management is for admins of an account whose vault is enabled. */
export function requireSecretAdmin(caller: UserCaller): void {
  requireAdmin(caller);
  if (!caller.vaultEnabled) {
    throw new VaultError(
      'vault_not_enabled',
      `The secrets vault is not enabled for account "${caller.accountName}"; an operator can enable it.`,
    );
  }
}
