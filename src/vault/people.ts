import { randomBytes } from 'node:crypto';
import { credentialId, credentialMatches, issueCredential, oneTimePassword } from '../crypto/tokens.js';
import { VaultError, notFound } from '../domain/errors.js';
import type { Role } from '../domain/roles.js';
import type { Db, Store, Tx } from '../store/database.js';
import { findUserForOperator, lockPeopleForAdmin, requireAnotherAdmin } from './accountAdmins.js';
import type { AuditTrail } from './audit.js';
import { OPERATOR, actorOf, requireAdmin, type Actor, type UserCaller } from './callers.js';
import { looksLikeId, newId, nowIso } from './ids.js';
import { hashPassword, passwordColumns, passwordMatches, preparePassword, type PreparedPassword } from './passwords.js';

export const SESSION_HOURS = 12;

const unauthenticated = (message = 'Sign in, or send a valid personal access token as "Authorization: Bearer <token>".'): VaultError =>
  new VaultError('unauthenticated', message);

/** An agent key sent where a person's token belongs: said as such, never echoed. */
const AGENT_KEY_FOR_MANAGEMENT =
  'This is an agent key (ask_…): agent keys read secrets at run time (/runtime/v1, agent-secrets run, exec, secrets available). ' +
  'Management (/api/v1) needs a personal access token (asp_…): the one the first start (npm start) or agent-secrets init printed, or one made with agent-secrets tokens create NAME.';

export interface UserInfo {
  id: string;
  email: string;
  role: Role;
  createdAt: string;
  createdBy: string;
}

export interface TokenInfo {
  id: string;
  name: string;
  createdAt: string;
  revokedAt: string | null;
}

/** The caller behind a user id, read fresh on every request: a removed user or changed role holds at once. */
async function loadCaller(db: Db, userId: string, via: UserCaller['via'], session: UserCaller['session'] = null): Promise<UserCaller | undefined> {
  const row = await db
    .selectFrom('users as u')
    .innerJoin('accounts as a', 'a.id', 'u.account_id')
    .select(['u.id', 'u.email', 'u.role', 'a.id as account_id', 'a.name as account_name', 'a.vault_enabled'])
    .where('u.id', '=', userId)
    .executeTakeFirst();
  if (!row) return undefined;
  return { userId: row.id, email: row.email, role: row.role as Role, accountId: row.account_id, accountName: row.account_name, vaultEnabled: row.vault_enabled === 1, via, session };
}

export async function insertUser(tx: Tx, accountId: string, email: string, role: Role, password: PreparedPassword, by: Actor) {
  const taken = await tx.selectFrom('users').select('id').where('email', '=', email.toLowerCase()).executeTakeFirst();
  if (taken) throw new VaultError('email_taken', `A user with email ${email.toLowerCase()} already exists.`, 'email');
  const row = { id: newId('usr'), account_id: accountId, email: email.toLowerCase(), role, ...passwordColumns(password), created_at: nowIso(), created_by: by.name };
  await tx.insertInto('users').values(row).execute();
  return row;
}

/** A personal access token for a user, returned once. */
export async function insertToken(tx: Tx, userId: string, name: string) {
  const credential = issueCredential('asp');
  const id = `tok_${credential.id}`;
  await tx.insertInto('personal_tokens').values({ id, user_id: userId, name, token_hash: credential.hash, created_at: nowIso(), last_used_at: null, revoked_at: null }).execute();
  return { id, token: credential.token };
}

export interface OpenedSession {
  sessionId: string;
  sessionToken: string;
  csrfToken: string;
}

/** A console session for the user, in `tx`: the cookie's token and the CSRF token writes must echo. */
export async function openSession(tx: Tx, userId: string, kind: { passwordChangeOnly: boolean; ssoRevision: string | null }): Promise<OpenedSession> {
  const credential = issueCredential('ass');
  const csrfToken = randomBytes(32).toString('base64url');
  const sessionId = `ses_${credential.id}`;
  const now = new Date();
  await tx
    .insertInto('sessions')
    .values({
      id: sessionId,
      user_id: userId,
      token_hash: credential.hash,
      csrf_token: csrfToken,
      created_at: now.toISOString(),
      expires_at: new Date(now.getTime() + SESSION_HOURS * 3600_000).toISOString(),
      password_change_only: kind.passwordChangeOnly ? 1 : 0,
      sso_revision: kind.ssoRevision,
    })
    .execute();
  return { sessionId, sessionToken: credential.token, csrfToken };
}

/** True when the account's SSO settings have turned password sign-in off (SPEC S29). */
export async function passwordSignInOff(db: Db | Tx, accountId: string): Promise<boolean> {
  const row = await db.selectFrom('sso_configs').select('password_sign_in').where('account_id', '=', accountId).executeTakeFirst();
  return row !== undefined && row.password_sign_in === 0;
}

export const passwordSignInDisabled = (): VaultError =>
  new VaultError(
    'password_sign_in_disabled',
    'Password sign-in is turned off for this account: use “Sign in with SSO”. If your identity provider fails, an operator can give you a one-time password (agent-secrets users reset-password EMAIL).',
    'password',
  );

/** What a used one-time password's expiry becomes (see login). */
const SPENT_AT = new Date(0).toISOString();

export function peopleService(deps: { store: Store; audit: AuditTrail }) {
  const { store, audit } = deps;
  // A hash to verify against when the email is unknown, so both cases take the same time.
  const decoyHash = hashPassword(oneTimePassword());

  /**
   * Email + password → a console session (cookie token and CSRF token). A one-time password (SPEC S19)
   * signs in once, before it expires, into a session that may only change the password; the sign-in
   * uses it up in the same transaction that opens the session, so two sign-ins with it cannot both win.
   * An account whose SSO settings turned password sign-in off refuses chosen passwords; a one-time
   * password (an operator's `users reset-password`, an admin's reset) still signs in once: the way back
   * in when the identity provider fails (SPEC S29).
   */
  async function login(email: string, password: string) {
    const user = await store.db
      .selectFrom('users')
      .select(['id', 'account_id', 'password_hash', 'password_one_time', 'password_expires_at'])
      .where('email', '=', email.toLowerCase())
      .executeTakeFirst();
    const ok = await passwordMatches(user?.password_hash ?? (await decoyHash), password);
    if (!user || !ok) throw unauthenticated('Wrong email or password.');
    const oneTime = user.password_one_time === 1;
    // Only someone who knows the one-time password learns that it is spent.
    const spent = new VaultError(
      'unauthenticated',
      'This one-time password has been used or has expired. Ask an admin to reset your password (an operator can run: agent-secrets users reset-password EMAIL).',
      'password',
    );
    const opened = await store.db.transaction().execute(async (tx) => {
      if (oneTime) {
        // Spent means "expired at the epoch", which no instance's clock reads as the future (a sign-in on
        // an instance whose clock runs ahead would otherwise leave a stamp that a slower one still takes
        // for unexpired). The update only takes the row exactly as it was read, so of two sign-ins at
        // once the second finds it changed, whichever of them read the clock first.
        const expiresAt = user.password_expires_at;
        if (expiresAt === null || expiresAt <= new Date().toISOString()) throw spent;
        const used = await tx
          .updateTable('users')
          .set({ password_expires_at: SPENT_AT })
          .where('id', '=', user.id)
          .where('password_one_time', '=', 1)
          .where('password_hash', '=', user.password_hash)
          .where('password_expires_at', '=', expiresAt)
          .executeTakeFirst();
        if (Number(used.numUpdatedRows) !== 1) throw spent;
      } else {
        // The password was checked before this transaction (the slow hash holds no lock): a reset, a
        // change or a removal that committed meanwhile ended the user's sessions, and must not miss this
        // one. The row is taken only as it was verified, by an update that changes nothing (so it also
        // waits for such a write in flight, which then finds and ends this session).
        const unchanged = await tx
          .updateTable('users')
          .set((eb) => ({ password_hash: eb.ref('password_hash') }))
          .where('id', '=', user.id)
          .where('password_one_time', '=', 0)
          .where('password_hash', '=', user.password_hash)
          .executeTakeFirst();
        if (Number(unchanged.numUpdatedRows) !== 1) throw unauthenticated('Wrong email or password.');
        // Checked only once the password matched: nobody else learns how this account signs in.
        if (await passwordSignInOff(tx, user.account_id)) throw passwordSignInDisabled();
      }
      return openSession(tx, user.id, { passwordChangeOnly: oneTime, ssoRevision: null });
    });
    const caller = await loadCaller(store.db, user.id, 'session', { id: opened.sessionId, passwordChangeOnly: oneTime, ssoRevision: null });
    if (!caller) throw unauthenticated();
    return { sessionToken: opened.sessionToken, csrfToken: opened.csrfToken, caller };
  }

  async function logout(sessionToken: string): Promise<void> {
    const id = credentialId(sessionToken, 'ass');
    if (id !== undefined) await store.db.deleteFrom('sessions').where('id', '=', `ses_${id}`).execute();
  }

  async function authenticateToken(token: string): Promise<UserCaller> {
    const id = credentialId(token, 'asp');
    if (id === undefined) throw unauthenticated(credentialId(token, 'ask') === undefined ? undefined : AGENT_KEY_FOR_MANAGEMENT);
    const row = await store.db.selectFrom('personal_tokens').select(['user_id', 'token_hash', 'revoked_at']).where('id', '=', `tok_${id}`).executeTakeFirst();
    if (!row || row.revoked_at !== null || !credentialMatches(token, row.token_hash)) throw unauthenticated('The token is unknown or revoked.');
    const caller = await loadCaller(store.db, row.user_id, 'token');
    if (!caller) throw unauthenticated('The token is unknown or revoked.');
    return caller;
  }

  async function authenticateSession(sessionToken: string): Promise<{ caller: UserCaller; csrfToken: string }> {
    const id = credentialId(sessionToken, 'ass');
    if (id === undefined) throw unauthenticated('Your session has ended; sign in again.');
    const row = await store.db
      .selectFrom('sessions')
      .select(['user_id', 'token_hash', 'csrf_token', 'expires_at', 'password_change_only', 'sso_revision'])
      .where('id', '=', `ses_${id}`)
      .executeTakeFirst();
    if (!row || row.expires_at <= nowIso() || !credentialMatches(sessionToken, row.token_hash)) throw unauthenticated('Your session has ended; sign in again.');
    const caller = await loadCaller(store.db, row.user_id, 'session', { id: `ses_${id}`, passwordChangeOnly: row.password_change_only === 1, ssoRevision: row.sso_revision });
    if (!caller) throw unauthenticated('Your session has ended; sign in again.');
    return { caller, csrfToken: row.csrf_token };
  }

  async function listTokens(caller: UserCaller): Promise<TokenInfo[]> {
    const rows = await store.db.selectFrom('personal_tokens').select(['id', 'name', 'created_at', 'revoked_at']).where('user_id', '=', caller.userId).orderBy('created_at').execute();
    return rows.map((row) => ({ id: row.id, name: row.name, createdAt: row.created_at, revokedAt: row.revoked_at }));
  }

  async function createToken(caller: UserCaller, name: string): Promise<{ id: string; token: string; name: string }> {
    const actor = actorOf(caller);
    return audit.change(caller.accountId, async (tx, record) => {
      const token = await insertToken(tx, caller.userId, name);
      record({ actor, action: 'token.create', outcome: 'success', detail: { tokenId: token.id, name } });
      return { ...token, name };
    });
  }

  async function revokeToken(caller: UserCaller, tokenId: string): Promise<void> {
    const actor = actorOf(caller);
    await audit.change(caller.accountId, async (tx, record) => {
      const row = await tx.selectFrom('personal_tokens').select(['id', 'revoked_at']).where('id', '=', tokenId).where('user_id', '=', caller.userId).executeTakeFirst();
      if (!row) throw notFound(`You have no token ${tokenId}.`, 'id');
      if (row.revoked_at !== null) return;
      await tx.updateTable('personal_tokens').set({ revoked_at: nowIso() }).where('id', '=', row.id).execute();
      record({ actor, action: 'token.revoke', outcome: 'success', detail: { tokenId } });
    });
  }

  async function listUsers(caller: UserCaller): Promise<UserInfo[]> {
    requireAdmin(caller);
    const rows = await store.db.selectFrom('users').select(['id', 'email', 'role', 'created_at', 'created_by']).where('account_id', '=', caller.accountId).orderBy('email').execute();
    return rows.map((row) => ({ id: row.id, email: row.email, role: row.role as Role, createdAt: row.created_at, createdBy: row.created_by }));
  }

  async function requireUser(db: Db | Tx, accountId: string, ref: string) {
    const byId = looksLikeId('usr', ref);
    const row = await db
      .selectFrom('users')
      .select(['id', 'email', 'role', 'created_at', 'created_by'])
      .where('account_id', '=', accountId)
      .where(byId ? 'id' : 'email', '=', byId ? ref : ref.toLowerCase())
      .executeTakeFirst();
    if (!row) throw notFound(`No user "${ref}" in this account.`, 'user');
    return row;
  }

  /** SPEC S16: invite a user; without a password the answer carries a one-time password. */
  async function createUser(caller: UserCaller, input: { email: string; role: Role; password?: string | undefined }) {
    requireAdmin(caller);
    const actor = actorOf(caller);
    const password = await preparePassword(input.password);
    return audit.change(caller.accountId, async (tx, record) => {
      await lockPeopleForAdmin(store, tx, caller);
      const row = await insertUser(tx, caller.accountId, input.email, input.role, password, actor);
      record({ actor, action: 'user.create', outcome: 'success', detail: { userId: row.id, email: row.email, role: row.role } });
      const user: UserInfo & { password?: string } = { id: row.id, email: row.email, role: input.role, createdAt: row.created_at, createdBy: row.created_by };
      if (password.oneTimePassword !== undefined) user.password = password.oneTimePassword;
      return user;
    });
  }

  async function setRole(caller: UserCaller, ref: string, role: Role): Promise<UserInfo> {
    requireAdmin(caller);
    const actor = actorOf(caller);
    return audit.change(caller.accountId, async (tx, record) => {
      await lockPeopleForAdmin(store, tx, caller);
      const user = await requireUser(tx, caller.accountId, ref);
      if (user.id === caller.userId && role !== 'admin') {
        throw new VaultError('forbidden', 'You cannot take away your own admin role; ask another admin.', 'role');
      }
      if (user.role === 'admin' && role !== 'admin') await requireAnotherAdmin(tx, caller.accountId, user.id, 'role');
      await tx.updateTable('users').set({ role }).where('id', '=', user.id).execute();
      record({ actor, action: 'user.role_set', outcome: 'success', detail: { userId: user.id, email: user.email, role } });
      return { id: user.id, email: user.email, role, createdAt: user.created_at, createdBy: user.created_by };
    });
  }

  /** Removing a user ends their sessions and tokens at once. */
  async function removeUser(caller: UserCaller, ref: string): Promise<void> {
    requireAdmin(caller);
    const actor = actorOf(caller);
    await audit.change(caller.accountId, async (tx, record) => {
      await lockPeopleForAdmin(store, tx, caller);
      const user = await requireUser(tx, caller.accountId, ref);
      if (user.id === caller.userId) throw new VaultError('forbidden', 'You cannot remove yourself; ask another admin.', 'user');
      if (user.role === 'admin') await requireAnotherAdmin(tx, caller.accountId, user.id, 'user');
      await tx.deleteFrom('sessions').where('user_id', '=', user.id).execute();
      await tx.deleteFrom('personal_tokens').where('user_id', '=', user.id).execute();
      await tx.deleteFrom('users').where('id', '=', user.id).execute();
      record({ actor, action: 'user.remove', outcome: 'success', detail: { userId: user.id, email: user.email } });
    });
  }

  /**
   * The operator's way back for an account left without a usable admin (`agent-secrets users set-role`),
   * straight on storage and audited as the operator. It too keeps the account's last admin.
   */
  async function setRoleAsOperator(email: string, role: Role, accountName?: string): Promise<UserInfo & { account: string }> {
    const user = await findUserForOperator(store.db, email, accountName);
    return audit.change(user.accountId, async (tx, record) => {
      await store.lockAccount(tx, user.accountId);
      const fresh = await requireUser(tx, user.accountId, user.id);
      if (fresh.role === 'admin' && role !== 'admin') await requireAnotherAdmin(tx, user.accountId, user.id, 'role');
      await tx.updateTable('users').set({ role }).where('id', '=', user.id).execute();
      record({ actor: OPERATOR, action: 'user.role_set', outcome: 'success', detail: { userId: user.id, email: user.email, role } });
      return { id: user.id, email: user.email, role, createdAt: user.createdAt, createdBy: user.createdBy, account: user.accountName };
    });
  }

  return { login, logout, authenticateToken, authenticateSession, listTokens, createToken, revokeToken, listUsers, createUser, setRole, removeUser, setRoleAsOperator };
}

export type PeopleService = ReturnType<typeof peopleService>;
