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
}

/** How an audit event names who acted. */
export interface Actor {
  type: 'user' | 'agent' | 'operator';
  id: string | null;
  name: string;
}

export const actorOf = (caller: UserCaller): Actor => ({ type: 'user', id: caller.userId, name: caller.email });

export const OPERATOR: Actor = { type: 'operator', id: null, name: 'operator' };

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
