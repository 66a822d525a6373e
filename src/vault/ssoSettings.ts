import { randomBytes } from 'node:crypto';
import { VaultError, invalidInput, notFound } from '../domain/errors.js';
import type { Role } from '../domain/roles.js';
import type { SsoSettingsInput } from '../domain/ssoSettings.js';
import { isUniqueViolation, type Db, type Store, type Tx } from '../store/database.js';
import type { SsoConfigsTable } from '../store/schema.js';
import type { AuditTrail } from './audit.js';
import { OPERATOR, actorOf, requireAdmin, type UserCaller } from './callers.js';
import { nowIso } from './ids.js';
import type { OidcClient } from './oidcClient.js';
import type { SealingService } from './sealing.js';

/** An account's SSO settings as admins see them: the client secret only as "set". */
export interface SsoSettingsView {
  configured: boolean;
  issuer: string | null;
  clientId: string | null;
  clientSecretSet: boolean;
  allowedDomains: string[];
  jitRole: Role | null;
  passwordSignIn: boolean;
  updatedAt: string | null;
  updatedBy: string | null;
  /** Whether the caller's session was opened through this configuration: what turning passwords off needs. */
  signedInWithSso: boolean;
}

const NOT_CONFIGURED: SsoSettingsView = {
  configured: false,
  issuer: null,
  clientId: null,
  clientSecretSet: false,
  allowedDomains: [],
  jitRole: null,
  passwordSignIn: true,
  updatedAt: null,
  updatedBy: null,
  signedInWithSso: false,
};

export async function loadSsoConfig(db: Db | Tx, accountId: string): Promise<SsoConfigsTable | undefined> {
  return db.selectFrom('sso_configs').selectAll().where('account_id', '=', accountId).executeTakeFirst();
}

export async function loadSsoDomains(db: Db | Tx, accountId: string): Promise<string[]> {
  const rows = await db.selectFrom('sso_domains').select('domain').where('account_id', '=', accountId).orderBy('domain').execute();
  return rows.map((row) => row.domain);
}

const viewOf = (row: SsoConfigsTable, domains: string[], caller: UserCaller): SsoSettingsView => ({
  configured: true,
  issuer: row.issuer,
  clientId: row.client_id,
  clientSecretSet: true,
  allowedDomains: domains,
  jitRole: row.jit_role as Role | null,
  passwordSignIn: row.password_sign_in === 1,
  updatedAt: row.updated_at,
  updatedBy: row.updated_by,
  signedInWithSso: caller.session?.ssoRevision === row.revision,
});

/**
 * SPEC S29: an account's OpenID Connect settings, for its admins. The issuer is discovered at save
 * time; the client secret is sealed under the account's data key and never answered again.
 *
 * The lock-out guard: password sign-in can be off only with a configuration that the admin saving it
 * has just signed in through, in the very session the save comes from (the session records the
 * configuration's revision; a new issuer, client id or client secret is a new revision). So a save that
 * turns passwords off, or that changes the provider while they are off, needs that proof; a personal
 * access token never carries it. A save that keeps them off with the same provider needs none. Removing SSO needs password sign-in on. The operator's way back in
 * stays: a one-time password (`users reset-password`) signs in whatever these settings say, and
 * `accounts allow-password-sign-in` turns password sign-in back on, straight on storage.
 */
export function ssoSettingsService(deps: { store: Store; audit: AuditTrail; sealing: SealingService; oidc: OidcClient }) {
  const { store, audit, sealing, oidc } = deps;

  async function getSettings(caller: UserCaller): Promise<SsoSettingsView> {
    requireAdmin(caller);
    const row = await loadSsoConfig(store.db, caller.accountId);
    return row ? viewOf(row, await loadSsoDomains(store.db, caller.accountId), caller) : NOT_CONFIGURED;
  }

  async function saveSettings(caller: UserCaller, input: SsoSettingsInput): Promise<SsoSettingsView> {
    requireAdmin(caller);
    oidc.issuerUrl(input.issuer);
    const before = await loadSsoConfig(store.db, caller.accountId);
    if (!before && input.clientSecret === undefined) throw invalidInput('clientSecret', 'clientSecret: is required when single sign-on is first set up.');
    // Discovery is a network call: made before the transaction, so it never holds a lock.
    const clientSecret = input.clientSecret ?? (await sealing.openSsoClientSecret(store.db, before as SsoConfigsTable));
    await oidc.checkDiscovery({ issuer: input.issuer, clientId: input.clientId, clientSecret });
    const actor = actorOf(caller);
    try {
      return await save(caller, input, clientSecret);
    } catch (error) {
      // A refused attempt to turn passwords off is worth knowing about: audited on its own, as denied.
      if (error instanceof VaultError && error.code === 'sso_sign_in_required') {
        await audit.change(caller.accountId, async (_tx, record) => {
          record({ actor, action: 'sso.configure', outcome: 'denied', detail: { passwordSignIn: false, reason: caller.session === null ? 'token_not_session' : 'session_not_signed_in_through_this_configuration' } });
        });
      }
      throw error;
    }
  }

  async function save(caller: UserCaller, input: SsoSettingsInput, clientSecret: string): Promise<SsoSettingsView> {
    const actor = actorOf(caller);
    return audit.change(caller.accountId, async (tx, record) => {
      await store.lockAccount(tx, caller.accountId);
      // Read again under the lock: another admin may have saved meanwhile.
      const current = await loadSsoConfig(tx, caller.accountId);
      if (!current && input.clientSecret === undefined) throw invalidInput('clientSecret', 'clientSecret: is required when single sign-on is first set up.');
      const providerChanged = !current || current.issuer !== input.issuer || current.client_id !== input.clientId || input.clientSecret !== undefined;
      const revision = providerChanged ? randomBytes(16).toString('hex') : current.revision;
      // Proof is needed to turn passwords off, and to change the provider while they are off; a save
      // that keeps them off with the same provider (domains, role) adds no risk and needs none.
      const turningOff = !current || current.password_sign_in === 1;
      if (!input.passwordSignIn && (turningOff || providerChanged)) requireSignedInThrough(caller, revision, providerChanged && current !== undefined);

      const taken = await tx.selectFrom('sso_domains').select('domain').where('domain', 'in', input.allowedDomains).where('account_id', '!=', caller.accountId).execute();
      if (taken.length > 0) throw domainTaken(taken.map((row) => row.domain).join(', '));
      const sealed = input.clientSecret === undefined && current ? { data_key_id: current.data_key_id, sealed_client_secret: current.sealed_client_secret } : await sealing.sealSsoClientSecret(tx, caller.accountId, clientSecret);
      const row: SsoConfigsTable = {
        account_id: caller.accountId,
        issuer: input.issuer,
        client_id: input.clientId,
        ...sealed,
        jit_role: input.jitRole,
        password_sign_in: input.passwordSignIn ? 1 : 0,
        revision,
        updated_at: nowIso(),
        updated_by: caller.email,
      };
      if (current) await tx.updateTable('sso_configs').set(row).where('account_id', '=', caller.accountId).execute();
      else await tx.insertInto('sso_configs').values(row).execute();
      await tx.deleteFrom('sso_domains').where('account_id', '=', caller.accountId).execute();
      try {
        await tx.insertInto('sso_domains').values(input.allowedDomains.map((domain) => ({ domain, account_id: caller.accountId }))).execute();
      } catch (error) {
        // Another account claimed one of them between the check above and this write.
        if (isUniqueViolation(error)) throw domainTaken(input.allowedDomains.join(', '), 'one of ');
        throw error;
      }

      // What a save takes away holds from now, not when the sessions it allowed expire (12 hours):
      // turning passwords off ends the sessions passwords opened; another provider (issuer or client id)
      // ends those the old one opened; a domain no longer allowed ends the SSO sessions of its people. A
      // new client secret alone ends none: a session came through this service's own callback (state,
      // nonce, PKCE), which the secret cannot forge. The caller's own session carries on, as a password
      // change keeps the session it came through.
      const turnedOff = !input.passwordSignIn && (current?.password_sign_in ?? 1) === 1;
      const moved = current !== undefined && (current.issuer !== input.issuer || current.client_id !== input.clientId);
      const allowed = new Set(input.allowedDomains);
      const endedSessions = await endSessions(tx, caller, (session) => (session.sso_revision === null ? turnedOff : moved || !allowed.has(domainOf(session.email))));
      record({
        actor,
        action: 'sso.configure',
        outcome: 'success',
        detail: {
          issuer: input.issuer,
          clientId: input.clientId,
          clientSecret: input.clientSecret === undefined ? 'kept' : current ? 'replaced' : 'set',
          allowedDomains: input.allowedDomains,
          jitRole: input.jitRole,
          passwordSignIn: input.passwordSignIn,
          ...(endedSessions > 0 ? { endedSessions } : {}),
        },
      });
      return viewOf(row, [...input.allowedDomains].sort(), caller);
    });
  }

  /** Removes the account's SSO; refused while password sign-in is off, which would leave nobody a way in. */
  async function removeSettings(caller: UserCaller): Promise<void> {
    requireAdmin(caller);
    const actor = actorOf(caller);
    await audit.change(caller.accountId, async (tx, record) => {
      await store.lockAccount(tx, caller.accountId);
      const current = await loadSsoConfig(tx, caller.accountId);
      if (!current) throw notFound('Single sign-on is not set up for this account.', 'sso');
      if (current.password_sign_in === 0) {
        throw new VaultError('conflict', 'Password sign-in is off: turn it back on (passwordSignIn: true) before removing single sign-on, or nobody could sign in.', 'passwordSignIn');
      }
      await tx.deleteFrom('sso_domains').where('account_id', '=', caller.accountId).execute();
      await tx.deleteFrom('sso_flows').where('account_id', '=', caller.accountId).execute();
      await tx.deleteFrom('sso_configs').where('account_id', '=', caller.accountId).execute();
      // Without single sign-on, nothing it opened stays open (the caller's own session aside).
      const endedSessions = await endSessions(tx, caller, (session) => session.sso_revision !== null);
      record({ actor, action: 'sso.remove', outcome: 'success', detail: { issuer: current.issuer, clientId: current.client_id, ...(endedSessions > 0 ? { endedSessions } : {}) } });
    });
  }

  /**
   * The operator's way back on storage (`agent-secrets accounts allow-password-sign-in NAME`): password
   * sign-in on again for an account whose identity provider fails. Only on: turning it off needs an
   * admin's SSO sign-in. False when it was already on (or the account has no SSO).
   */
  async function allowPasswordSignInAsOperator(accountName: string): Promise<boolean> {
    const account = await store.db.selectFrom('accounts').select('id').where('name', '=', accountName).executeTakeFirst();
    if (!account) throw notFound(`No account named "${accountName}".`, 'account');
    return audit.change(account.id, async (tx, record) => {
      await store.lockAccount(tx, account.id);
      const current = await loadSsoConfig(tx, account.id);
      if (!current || current.password_sign_in === 1) return false;
      await tx.updateTable('sso_configs').set({ password_sign_in: 1, updated_at: nowIso(), updated_by: OPERATOR.name }).where('account_id', '=', account.id).execute();
      record({ actor: OPERATOR, action: 'sso.configure', outcome: 'success', detail: { passwordSignIn: true, issuer: current.issuer, clientId: current.client_id } });
      return true;
    });
  }

  return { getSettings, saveSettings, removeSettings, allowPasswordSignInAsOperator };
}

export type SsoSettingsService = ReturnType<typeof ssoSettingsService>;

const domainTaken = (domains: string, which = ''): VaultError =>
  new VaultError('conflict', `allowedDomains: ${which}${domains} already signs in to another account; a domain can belong to one account only.`, 'allowedDomains');

const domainOf = (email: string): string => email.slice(email.lastIndexOf('@') + 1);

/** Ends the sessions of the caller's account that `ends` picks, never the caller's own; how many. */
async function endSessions(tx: Tx, caller: UserCaller, ends: (session: { sso_revision: string | null; email: string }) => boolean): Promise<number> {
  const sessions = await tx
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select(['sessions.id', 'sessions.sso_revision', 'users.email'])
    .where('users.account_id', '=', caller.accountId)
    .execute();
  const ending = sessions.filter((session) => session.id !== caller.session?.id && ends(session)).map((session) => session.id);
  for (let at = 0; at < ending.length; at += 500) await tx.deleteFrom('sessions').where('id', 'in', ending.slice(at, at + 500)).execute();
  return ending.length;
}

function requireSignedInThrough(caller: UserCaller, revision: string, providerChanging: boolean): void {
  if (caller.session?.ssoRevision === revision) return;
  const how =
    caller.session === null
      ? 'A personal access token cannot turn password sign-in off: sign in to the console with “Sign in with SSO” and save from there.'
      : providerChanging
        ? 'This save changes the identity provider (issuer, client id or client secret) while password sign-in is off: save it with passwordSignIn true, sign in with SSO through it, then turn passwords off.'
        : 'First sign in with “Sign in with SSO” through this configuration, then turn password sign-in off from that session.';
  throw new VaultError('sso_sign_in_required', `passwordSignIn: ${how} This keeps an admin from locking everyone out.`, 'passwordSignIn');
}
