import { createHash, randomBytes } from 'node:crypto';
import { EMAIL_PATTERN } from '../domain/names.js';
import type { Role } from '../domain/roles.js';
import { emailDomain, safeReturnPath, type SsoRefusal } from '../domain/sso.js';
import type { Store } from '../store/database.js';
import type { SsoConfigsTable, SsoFlowsTable } from '../store/schema.js';
import type { AuditTrail } from './audit.js';
import type { Actor } from './callers.js';
import { nowIso } from './ids.js';
import { OidcRefusal, type OidcClient, type OidcIdentity } from './oidcClient.js';
import { preparePassword } from './passwords.js';
import { insertUser, openSession, type OpenedSession } from './people.js';
import type { SealingService } from './sealing.js';
import { loadSsoConfig, loadSsoDomains } from './ssoSettings.js';

/** A sign-in started must come back within this long. */
export const SSO_FLOW_MINUTES = 10;

/** An SSO sign-in that did not happen: the refusal the sign-in page shows (domain/sso.ts). */
export class SsoSignInError extends Error {
  override name = 'SsoSignInError';
  constructor(readonly refusal: SsoRefusal) {
    super(refusal);
  }
}

const flowIdOf = (flowToken: string): string => `ssf_${createHash('sha256').update(flowToken).digest('hex').slice(0, 48)}`;

/** Who an SSO refusal or sign-in names as the actor: the person, as far as anyone knows who they are. */
const ssoActor = (email: string | undefined, userId: string | null = null): Actor => ({ type: 'user', id: userId, name: email ?? 'unknown (single sign-on)' });

/**
 * SPEC S29: signing in through an account's OpenID provider. `start` finds the account (from the
 * email's user or domain, or by name), keeps the flow's state, nonce and PKCE verifier server-side
 * under the hash of a random token that goes to the browser as a cookie, and answers the provider's
 * authorization URL. `finish` uses the flow up first (a second callback is a replay), lets
 * openid-client check everything the provider answered, matches the user by verified email within that
 * account only, makes them when the settings say so, and opens a console session. Every sign-in and
 * every refusal that can be tied to an account is audited there; none holds a token or a code.
 */
export function ssoSignInService(deps: { store: Store; audit: AuditTrail; sealing: SealingService; oidc: OidcClient }) {
  const { store, audit, sealing, oidc } = deps;

  async function accountFor(who: { email?: string | undefined; account?: string | undefined }): Promise<SsoConfigsTable | undefined> {
    if (who.account !== undefined) {
      const account = await store.db.selectFrom('accounts').select('id').where('name', '=', who.account).executeTakeFirst();
      return account && loadSsoConfig(store.db, account.id);
    }
    if (who.email === undefined) return undefined;
    // A person who has a user is sent to their own account's provider, whatever the domains say.
    const user = await store.db.selectFrom('users').select('account_id').where('email', '=', who.email.toLowerCase()).executeTakeFirst();
    if (user) return loadSsoConfig(store.db, user.account_id);
    const domain = emailDomain(who.email);
    if (domain === undefined) return undefined;
    const owner = await store.db.selectFrom('sso_domains').select('account_id').where('domain', '=', domain).executeTakeFirst();
    return owner && loadSsoConfig(store.db, owner.account_id);
  }

  async function start(input: { email?: string | undefined; account?: string | undefined; returnTo?: string | undefined; redirectUri: string }): Promise<{ flowToken: string; authorizationUrl: string }> {
    const config = await accountFor(input);
    if (!config) throw new SsoSignInError('not_configured');
    const clientSecret = await sealing.openSsoClientSecret(store.db, config);
    let request: Awaited<ReturnType<OidcClient['authorizationRequest']>>;
    try {
      request = await oidc.authorizationRequest({ issuer: config.issuer, clientId: config.client_id, clientSecret }, input.redirectUri, input.email);
    } catch (error) {
      if (error instanceof OidcRefusal) throw new SsoSignInError(error.kind);
      throw error;
    }
    const flowToken = randomBytes(32).toString('base64url');
    const now = new Date();
    // Housekeeping: flows nobody finished are no use to anyone once expired.
    await store.db.deleteFrom('sso_flows').where('expires_at', '<', now.toISOString()).execute();
    await store.db
      .insertInto('sso_flows')
      .values({
        id: flowIdOf(flowToken),
        account_id: config.account_id,
        revision: config.revision,
        state: request.state,
        nonce: request.nonce,
        code_verifier: request.codeVerifier,
        redirect_uri: input.redirectUri,
        return_to: safeReturnPath(input.returnTo),
        created_at: now.toISOString(),
        expires_at: new Date(now.getTime() + SSO_FLOW_MINUTES * 60_000).toISOString(),
        used_at: null,
      })
      .execute();
    return { flowToken, authorizationUrl: request.url };
  }

  async function refuse(accountId: string, refusal: SsoRefusal, reason: string, email?: string): Promise<never> {
    await audit.change(accountId, async (_tx, record) => {
      record({ actor: ssoActor(email), action: 'sso.sign_in', outcome: 'denied', detail: { refusal, reason, ...(email === undefined ? {} : { email }) } });
    });
    throw new SsoSignInError(refusal);
  }

  /** The flow of this browser, used up now: undefined when there is none, it was used, or it expired. */
  async function useFlow(flowToken: string | undefined): Promise<{ flow: SsoFlowsTable | undefined; fresh: boolean; spent: 'flow_expired' | 'flow_replayed' }> {
    if (flowToken === undefined || flowToken.length > 200) return { flow: undefined, fresh: false, spent: 'flow_replayed' };
    const id = flowIdOf(flowToken);
    const flow = await store.db.selectFrom('sso_flows').selectAll().where('id', '=', id).executeTakeFirst();
    if (!flow) return { flow: undefined, fresh: false, spent: 'flow_replayed' };
    const now = nowIso();
    const used = await store.db.updateTable('sso_flows').set({ used_at: now }).where('id', '=', id).where('used_at', 'is', null).where('expires_at', '>', now).executeTakeFirst();
    // Not taken while still unexpired: another callback used it, maybe after the row above was read
    // (two callbacks at once), so the row's used_at alone would call that replay an expiry.
    const spent = flow.used_at !== null || flow.expires_at > now ? 'flow_replayed' : 'flow_expired';
    return { flow, fresh: Number(used.numUpdatedRows) === 1, spent };
  }

  async function finish(flowToken: string | undefined, callbackQuery: string): Promise<OpenedSession & { returnTo: string }> {
    const { flow, fresh, spent } = await useFlow(flowToken);
    // No flow cookie, or one this service never issued: no account to tell, nothing to audit.
    if (!flow) throw new SsoSignInError('link_used');
    if (!fresh) return refuse(flow.account_id, 'link_used', spent);
    const config = await loadSsoConfig(store.db, flow.account_id);
    if (!config) return refuse(flow.account_id, 'not_configured', 'sso_removed_meanwhile');
    if (config.revision !== flow.revision) return refuse(flow.account_id, 'verification_failed', 'configuration_changed_meanwhile');

    const callbackUrl = new URL(flow.redirect_uri);
    callbackUrl.search = callbackQuery;
    let identity: OidcIdentity;
    try {
      const clientSecret = await sealing.openSsoClientSecret(store.db, config);
      identity = await oidc.exchange({ issuer: config.issuer, clientId: config.client_id, clientSecret }, callbackUrl, { state: flow.state, nonce: flow.nonce, codeVerifier: flow.code_verifier });
    } catch (error) {
      if (error instanceof OidcRefusal) return refuse(flow.account_id, error.kind, error.reason);
      throw error;
    }
    const email = identity.email?.toLowerCase();
    if (email === undefined) return refuse(flow.account_id, 'email_not_verified', 'no_email_claim');
    // Only a plain address is matched or made: " admin@…" or one with a control character would be a
    // second, lookalike user (and PostgreSQL text cannot hold a NUL). Not recorded: it is not an email.
    if (email.length > 320 || !EMAIL_PATTERN.test(email)) return refuse(flow.account_id, 'email_not_allowed', 'email_malformed');
    if (!identity.emailVerified) return refuse(flow.account_id, 'email_not_verified', 'email_not_verified', email);
    const domain = emailDomain(email);
    const domains = await loadSsoDomains(store.db, flow.account_id);
    if (domain === undefined || !domains.includes(domain)) return refuse(flow.account_id, 'email_not_allowed', 'domain_not_allowed', email);

    // A password hash nobody knows, made before the transaction: a user made here signs in by SSO only
    // (or after an admin's or operator's reset).
    const unusable = config.jit_role === null ? undefined : await preparePassword(randomBytes(32).toString('base64url'));
    type Outcome = { refusal: SsoRefusal; reason: string } | { session: OpenedSession };
    const outcome = await audit.change(flow.account_id, async (tx, record): Promise<Outcome> => {
      await store.lockAccount(tx, flow.account_id);
      const user = await tx.selectFrom('users').select(['id', 'account_id', 'role']).where('email', '=', email).executeTakeFirst();
      // Matched within this account only: another account's provider can never sign in this account's people.
      if (user && user.account_id !== flow.account_id) return { refusal: 'no_such_user', reason: 'email_in_another_account' };
      let userId = user?.id;
      let created: Role | undefined;
      if (!userId) {
        if (config.jit_role === null || unusable === undefined) return { refusal: 'no_such_user', reason: 'no_user_and_no_jit' };
        const row = await insertUser(tx, flow.account_id, email, config.jit_role as Role, unusable, ssoActor(email));
        userId = row.id;
        created = config.jit_role as Role;
        record({ actor: ssoActor(email, userId), action: 'user.create', outcome: 'success', detail: { userId, email, role: created, via: 'sso', issuer: config.issuer } });
      }
      const session = await openSession(tx, userId, { passwordChangeOnly: false, ssoRevision: config.revision });
      record({
        actor: ssoActor(email, userId),
        action: 'sso.sign_in',
        outcome: 'success',
        detail: { email, issuer: config.issuer, subject: identity.subject, ...(created ? { createdWithRole: created } : {}) },
      });
      return { session };
    });
    if ('refusal' in outcome) return refuse(flow.account_id, outcome.refusal, outcome.reason, email);
    return { ...outcome.session, returnTo: flow.return_to };
  }

  return { start, finish };
}

export type SsoSignInService = ReturnType<typeof ssoSignInService>;
