import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { Keyring } from '../../src/crypto/keyring.js';
import { buildServer } from '../../src/http/server.js';
import { openStore } from '../../src/store/database.js';
import { SESSION_COOKIE } from '../../src/http/auth.js';
import { SSO_FLOW_COOKIE } from '../../src/http/routes/sso.js';
import { silentLog } from '../../src/vault/log.js';
import { createMaintenance } from '../../src/vault/maintenance.js';
import { safeReturnPath } from '../../src/domain/sso.js';
import { oidcClient } from '../../src/vault/oidcClient.js';
import { sealingService } from '../../src/vault/sealing.js';
import { createVault } from '../../src/vault/index.js';
import type { UserCaller } from '../../src/vault/callers.js';
import { startHarness, type Harness } from '../support/harness.js';
import { signInAtIdp, startTestIdp, type TestIdp } from '../support/oidcProvider.js';
import { openVault } from '../../src/cli/storage.js';
import { firstAdminToken, runCli, startServe } from '../support/processes.js';
import { DATABASES, freshStore, testMasterKey } from '../support/stores.js';

const SECRET_A = `canary-sso-secret-a-${randomBytes(9).toString('base64url')}`;
const SECRET_B = `canary-sso-secret-b-${randomBytes(9).toString('base64url')}`;
const PARTNER = 'partner@example.org';

const IDP_USERS = {
  admin: { email: 'admin@example.com', emailVerified: true },
  newcomer: { email: 'New.Person@example.com', emailVerified: true },
  stranger: { email: 'someone@elsewhere.test', emailVerified: true },
  unverified: { email: 'unverified@example.com', emailVerified: false },
  partner: { email: PARTNER, emailVerified: true },
  member: { email: 'member@example.com', emailVerified: true },
  // Lookalikes of the allowed domain: a Cyrillic "а", a longer host, a quoted local part.
  cyrillic: { email: 'admin@ex\u0430mple.com', emailVerified: true },
  suffixed: { email: 'admin@example.com.evil.test', emailVerified: true },
  quoted: { email: '"admin@example.com"@evil.test', emailVerified: true },
  // Not emails at all: a space in front (a second "admin"), a NUL (which PostgreSQL text cannot hold), a new line.
  spaced: { email: ' admin@example.com', emailVerified: true },
  nul: { email: 'admin@example.com\u0000', emailVerified: true },
  newline: { email: 'admin\n@example.com', emailVerified: true },
};

const cookieOf = (response: Response, name: string): string | undefined => {
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(';');
    if (pair?.startsWith(`${name}=`) && pair.length > name.length + 1) return pair.slice(name.length + 1);
  }
  return undefined;
};

describe('the OIDC client refuses a plain-http issuer unless the operator allows it', () => {
  it('https is required by default; http only with allowInsecureIssuer; credentials and queries never', () => {
    expect(() => oidcClient({}).issuerUrl('http://127.0.0.1:1')).toThrow(/must be an https:\/\/ URL.*--sso-allow-insecure-issuer/);
    expect(oidcClient({ allowInsecureIssuer: true }).issuerUrl('http://127.0.0.1:1').href).toBe('http://127.0.0.1:1/');
    expect(() => oidcClient({}).issuerUrl('https://user:pw@login.example.com')).toThrow(/user name or password/);
    expect(() => oidcClient({}).issuerUrl('https://login.example.com/?a=1')).toThrow(/query or fragment/);
    expect(() => oidcClient({}).issuerUrl('javascript:alert(1)')).toThrow(/https/);
  });

  it('a sign-in returns to a path of this service only', () => {
    for (const crafted of ['//evil.example', '/\\evil.example', 'https://evil.example/', '/ok\nSet-Cookie: x=1', 'secrets', undefined]) expect(safeReturnPath(crafted)).toBe('/');
    expect(safeReturnPath('/secrets/stripe_api_key')).toBe('/secrets/stripe_api_key');
  });
});

describe('serve --public-url and --sso-allow-insecure-issuer', () => {
  it('a bad public URL stops serve with one line; the redirect URI is built from a good one; a plain-http provider is accepted only with the flag, said in the log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sso-serve-'));
    const idp = await startTestIdp([{ clientId: 'served', clientSecret: SECRET_A, redirectUri: 'https://vault.example.com/api/v1/auth/sso/callback' }], { admin: IDP_USERS.admin });
    try {
      const bad = await runCli(['serve', '--port', '0', '--data', dir, '--public-url', 'ftp://vault.example.com']);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr.trim().split('\n')).toHaveLength(2);
      expect(bad.stderr).toContain('must be the URL people open the console at');

      const alone = await runCli(['serve', '--port', '0', '--data', dir, '--sso-allow-insecure-issuer']);
      expect(alone.code).not.toBe(0);
      expect(alone.stderr).toContain('--sso-allow-insecure-issuer needs --sso-allow-private-issuer');

      const server = await startServe(['--data', dir, '--public-url', 'https://vault.example.com/', '--sso-allow-insecure-issuer', '--sso-allow-private-issuer']);
      try {
        expect(server.output()).toContain('--sso-allow-insecure-issuer: OpenID providers over plain http are accepted');
        const token = await firstAdminToken(server.url, ['--data', dir]);
        const put = await fetch(`${server.url}/api/v1/settings/sso`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ issuer: idp.issuer, clientId: 'served', clientSecret: SECRET_A, allowedDomains: ['example.com'], jitRole: null, passwordSignIn: true }),
        });
        expect(put.status).toBe(200);
        expect(((await put.json()) as { redirectUri: string }).redirectUri).toBe('https://vault.example.com/api/v1/auth/sso/callback');
        const start = await fetch(`${server.url}/api/v1/auth/sso/start?email=admin%40example.com`, { redirect: 'manual' });
        expect(new URL(start.headers.get('location') ?? '').searchParams.get('redirect_uri')).toBe('https://vault.example.com/api/v1/auth/sso/callback');
        expect(server.output()).not.toContain(SECRET_A);
      } finally {
        expect(await server.stop()).toBe(0);
      }
    } finally {
      await idp.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('accounts allow-password-sign-in: the operator turns password sign-in back on, on storage', () => {
  it('refused before, on after, audited as the operator; a second run changes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sso-operator-'));
    const idp = await startTestIdp([{ clientId: 'served', clientSecret: SECRET_A, redirectUri: 'https://vault.example.com/api/v1/auth/sso/callback' }], { admin: IDP_USERS.admin });
    try {
      const first = await openVault({ data: dir }, { createIfMissing: true, log: silentLog, sso: { allowInsecureIssuer: true, allowPrivateIssuer: true } });
      await first.vault.accounts.createAccount('default', 'admin@example.com', 'operator-test-password-1');
      const { caller } = await first.vault.people.login('admin@example.com', 'operator-test-password-1');
      await first.vault.ssoSettings.saveSettings(caller, { issuer: idp.issuer, clientId: 'served', clientSecret: SECRET_A, allowedDomains: ['example.com'], jitRole: null, passwordSignIn: true });
      // As if an admin had turned passwords off through SSO, and the provider then went away.
      await first.store.db.updateTable('sso_configs').set({ password_sign_in: 0 }).execute();
      await expect(first.vault.people.login('admin@example.com', 'operator-test-password-1')).rejects.toThrow(/Password sign-in is turned off/);
      await first.vault.close();

      const on = await runCli(['accounts', 'allow-password-sign-in', 'default', '--data', dir]);
      expect(on).toMatchObject({ code: 0, stdout: 'Password sign-in is on again for account "default".\n' });
      const again = await runCli(['accounts', 'allow-password-sign-in', 'default', '--data', dir]);
      expect(again.stdout).toContain('already allowed');
      const missing = await runCli(['accounts', 'allow-password-sign-in', 'nope', '--data', dir]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('No account named "nope"');

      const after = await openVault({ data: dir }, { createIfMissing: false, log: silentLog });
      try {
        expect((await after.vault.people.login('admin@example.com', 'operator-test-password-1')).caller.email).toBe('admin@example.com');
        const events = await after.store.db.selectFrom('audit_events').select(['actor_type', 'detail']).where('action', '=', 'sso.configure').orderBy('seq').execute();
        expect(events.map((event) => [event.actor_type, JSON.parse(event.detail ?? '{}').passwordSignIn])).toEqual([
          ['user', true],
          ['operator', true],
        ]);
      } finally {
        await after.vault.close();
      }
    } finally {
      await idp.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.each(DATABASES)('single sign-on on %s', (kind) => {
  let h: Harness;
  let idp: TestIdp;
  let beta: { email: string; token: string };
  const settingsA = () => ({ issuer: idp.issuer, clientId: 'vault-a', clientSecret: SECRET_A, allowedDomains: ['example.com'], jitRole: null, passwordSignIn: true });

  beforeAll(async () => {
    // Many sign-ins from one address in a minute: more than the service lets a stranger start.
    h = await startHarness(kind, { sso: { allowInsecureIssuer: true, allowPrivateIssuer: true, timeoutSeconds: 5 }, limits: { signInsPerAddressPerMinute: 10_000 } });
    const redirectUri = `${h.url}/api/v1/auth/sso/callback`;
    idp = await startTestIdp(
      [
        { clientId: 'vault-a', clientSecret: SECRET_A, redirectUri },
        { clientId: 'vault-b', clientSecret: SECRET_B, redirectUri },
      ],
      IDP_USERS,
    );
    beta = await h.newAccount('beta');
    expect((await h.call('POST', '/api/v1/users', { token: h.admin.token, body: { email: 'member@example.com', role: 'member', password: 'member-password-1234' } })).status).toBe(201);
    expect((await h.call('POST', '/api/v1/users', { token: h.admin.token, body: { email: PARTNER, role: 'admin', password: 'partner-password-1234' } })).status).toBe(201);
  });
  afterAll(async () => {
    await idp?.close();
    await h?.close();
  });

  /** The browser's part: start, the provider's sign-in page, and the callback with the flow cookie. */
  async function ssoSignIn(query: string, login: string, options: { decline?: boolean } = {}) {
    const start = await fetch(`${h.url}/api/v1/auth/sso/start?${query}`, { redirect: 'manual' });
    expect(start.status).toBe(302);
    const location = start.headers.get('location') ?? '';
    if (location.startsWith('/')) return { location, session: undefined, flowCookie: undefined, callback: undefined };
    const flowCookie = cookieOf(start, SSO_FLOW_COOKIE);
    expect(flowCookie).toBeDefined();
    const callback = await signInAtIdp(location, login, options);
    const back = await callbackWith(callback, flowCookie);
    return { location: back.headers.get('location') ?? '', session: cookieOf(back, SESSION_COOKIE), flowCookie, callback };
  }
  const callbackWith = async (callback: URL, flowCookie: string | undefined) => {
    const response = await fetch(`${h.url}${callback.pathname}${callback.search}`, { redirect: 'manual', headers: flowCookie === undefined ? {} : { cookie: `${SSO_FLOW_COOKIE}=${flowCookie}` } });
    expect(response.status).toBe(302);
    return response;
  };
  /** A console session's own calls: the cookie, and the CSRF token it was given for writes. */
  async function asSession(session: string) {
    const who = await h.call('GET', '/api/v1/auth/session', { headers: { cookie: `${SESSION_COOKIE}=${session}` } });
    const headers = { cookie: `${SESSION_COOKIE}=${session}`, 'x-csrf-token': String(who.body?.csrfToken) };
    return { who, put: (body: unknown) => h.call('PUT', '/api/v1/settings/sso', { headers, body }) };
  }
  const ssoEvents = async (accountId: string) =>
    (await h.vault.store.db.selectFrom('audit_events').select(['action', 'outcome', 'actor_name', 'detail']).where('account_id', '=', accountId).where('action', 'like', 'sso.%').orderBy('seq').execute()).map((event) => ({
      ...event,
      detail: JSON.parse(event.detail ?? '{}') as Record<string, unknown>,
    }));
  const accountId = async (name: string) => (await h.vault.store.db.selectFrom('accounts').select('id').where('name', '=', name).executeTakeFirstOrThrow()).id;

  it('only admins see the settings; before set-up they say so and name the redirect URI to register', async () => {
    const member = await h.call('POST', '/api/v1/auth/login', { body: { email: 'member@example.com', password: 'member-password-1234' } });
    const memberCookie = member.headers.getSetCookie().find((line) => line.startsWith(`${SESSION_COOKIE}=`))?.split(';')[0] ?? '';
    const refused = await h.call('GET', '/api/v1/settings/sso', { headers: { cookie: memberCookie } });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('admin_required');
    expect((await h.call('GET', '/api/v1/settings/sso')).status).toBe(401);

    const none = await h.call('GET', '/api/v1/settings/sso', { token: h.admin.token });
    expect(none.status).toBe(200);
    expect(none.body).toMatchObject({ configured: false, clientSecretSet: false, passwordSignIn: true, redirectUri: `${h.url}/api/v1/auth/sso/callback` });
    const start = await fetch(`${h.url}/api/v1/auth/sso/start?email=admin%40example.com`, { redirect: 'manual' });
    expect(start.headers.get('location')).toBe('/?sso_error=not_configured');

    const openapi = (await h.call('GET', '/api/openapi.json')).body;
    expect(Object.keys(openapi.paths['/api/v1/settings/sso']).sort()).toEqual(['delete', 'get', 'put']);
    expect(openapi.paths['/api/v1/auth/sso/start'].get.parameters.map((parameter: { name: string }) => parameter.name).sort()).toEqual(['account', 'email', 'returnTo']);
    expect(openapi.paths['/api/v1/auth/sso/callback'].get).toBeDefined();
    const body = openapi.paths['/api/v1/settings/sso'].put.requestBody.content['application/json'].schema;
    expect(body.required.sort()).toEqual(['allowedDomains', 'clientId', 'issuer', 'jitRole', 'passwordSignIn']);
    expect(body.properties.clientSecret.description).toContain('Write-only');
    expect(Object.keys(openapi.paths['/api/v1/settings/sso'].get.responses['200'].content['application/json'].schema.properties)).not.toContain('clientSecret');
  });

  it('settings are validated field by field, and the issuer is discovered at save time', async () => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ issuer: 'not a url' }, 'issuer', /issuer URL/],
      [{ issuer: 'ftp://login.example.com' }, 'issuer', /https:\/\/ or http:\/\//],
      [{ clientId: '' }, 'clientId', /must not be empty/],
      [{ clientId: 'has space' }, 'clientId', /printable ASCII/],
      [{ allowedDomains: [] }, 'allowedDomains', /at least one/],
      [{ allowedDomains: ['Example.com'] }, 'allowedDomains.0', /lower-case domain/],
      [{ allowedDomains: ['*.example.com'] }, 'allowedDomains.0', /lower-case domain/],
      [{ allowedDomains: ['example..com'] }, 'allowedDomains.0', /lower-case domain/],
      [{ allowedDomains: ['example.com', 'example.com'] }, 'allowedDomains', /twice/],
      [{ jitRole: 'owner' }, 'jitRole', /"admin", "member" or null/],
      [{ passwordSignIn: 'no' }, 'passwordSignIn', /true or false/],
      [{ extra: 1 }, 'body', /unknown field\(s\): extra/],
    ];
    for (const [change, field, message] of cases) {
      const answer = await h.call('PUT', '/api/v1/settings/sso', { token: h.admin.token, body: { ...settingsA(), ...change } });
      expect(answer.status, JSON.stringify(change)).toBe(400);
      expect(answer.body.error.field).toBe(field);
      expect(answer.body.error.message).toMatch(message);
    }
    const nowhere = await h.call('PUT', '/api/v1/settings/sso', { token: h.admin.token, body: { ...settingsA(), issuer: `${idp.issuer}/no-such-issuer` } });
    expect(nowhere.status).toBe(400);
    expect(nowhere.body.error).toMatchObject({ code: 'invalid_input', field: 'issuer' });
    expect(nowhere.body.error.message).toContain('/no-such-issuer/.well-known/openid-configuration failed');
    const { clientSecret: _left, ...withoutSecret } = settingsA();
    const first = await h.call('PUT', '/api/v1/settings/sso', { token: h.admin.token, body: withoutSecret });
    expect(first.status).toBe(400);
    expect(first.body.error.field).toBe('clientSecret');
    expect((await h.call('GET', '/api/v1/settings/sso', { token: h.admin.token })).body.configured).toBe(false);
  });

  it('saving seals the client secret: never answered, never stored or audited in the clear, kept when left out', async () => {
    const saved = await h.call('PUT', '/api/v1/settings/sso', { token: h.admin.token, body: settingsA() });
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({ configured: true, issuer: idp.issuer, clientId: 'vault-a', clientSecretSet: true, allowedDomains: ['example.com'], jitRole: null, passwordSignIn: true, updatedBy: 'admin@example.com' });
    expect(JSON.stringify(saved.body)).not.toContain(SECRET_A);
    const row = await h.vault.store.db.selectFrom('sso_configs').selectAll().executeTakeFirstOrThrow();
    expect(Buffer.from(row.sealed_client_secret).includes(Buffer.from(SECRET_A))).toBe(false);
    const { clientSecret: _kept, ...withoutSecret } = settingsA();
    const again = await h.call('PUT', '/api/v1/settings/sso', { token: h.admin.token, body: { ...withoutSecret, jitRole: 'member' } });
    expect(again.status).toBe(200);
    const kept = await h.vault.store.db.selectFrom('sso_configs').selectAll().executeTakeFirstOrThrow();
    expect(kept.revision).toBe(row.revision);
    expect(Buffer.from(kept.sealed_client_secret).equals(Buffer.from(row.sealed_client_secret))).toBe(true);
    const events = await ssoEvents(await accountId('default'));
    expect(events.map((event) => [event.action, event.detail.clientSecret, event.detail.jitRole])).toEqual([
      ['sso.configure', 'set', null],
      ['sso.configure', 'kept', 'member'],
    ]);
  });

  it('an existing user signs in end to end into a working session; a crafted return path stays on this service', async () => {
    const signedIn = await ssoSignIn(`email=admin%40example.com&returnTo=${encodeURIComponent('//evil.example/x')}`, 'admin');
    expect(signedIn.location).toBe('/');
    expect(signedIn.session).toBeDefined();
    const { who } = await asSession(signedIn.session ?? '');
    expect(who.status).toBe(200);
    expect(who.body).toMatchObject({ user: { email: 'admin@example.com', role: 'admin' }, passwordChangeRequired: false });
    const toSecrets = await ssoSignIn('account=default&returnTo=%2Fsecrets', 'admin');
    expect(toSecrets.location).toBe('/secrets');
    const events = await ssoEvents(await accountId('default'));
    expect(events.filter((event) => event.action === 'sso.sign_in').map((event) => [event.outcome, event.detail.email, event.detail.subject])).toEqual([
      ['success', 'admin@example.com', 'admin'],
      ['success', 'admin@example.com', 'admin'],
    ]);
  });

  it('a first sign-in makes the user with the configured role; with no role only existing users get in', async () => {
    const created = await ssoSignIn('email=new.person%40example.com', 'newcomer');
    expect(created.location).toBe('/');
    const { who } = await asSession(created.session ?? '');
    expect(who.body.user).toMatchObject({ email: 'new.person@example.com', role: 'member' });
    const made = await h.vault.store.db.selectFrom('audit_events').select(['actor_name', 'detail']).where('action', '=', 'user.create').where('actor_name', '=', 'new.person@example.com').execute();
    expect(made).toHaveLength(1);
    expect(JSON.parse(made[0]?.detail ?? '{}')).toMatchObject({ email: 'new.person@example.com', role: 'member', via: 'sso' });

    const { clientSecret: _kept, ...withoutSecret } = settingsA();
    expect((await h.call('PUT', '/api/v1/settings/sso', { token: h.admin.token, body: { ...withoutSecret, jitRole: null } })).status).toBe(200);
    idp.users.set('late', { email: 'late.comer@example.com', emailVerified: true });
    const refused = await ssoSignIn('account=default', 'late');
    expect(refused.location).toBe('/?sso_error=no_such_user');
    expect(refused.session).toBeUndefined();
    expect(await h.vault.store.db.selectFrom('users').select('id').where('email', '=', 'late.comer@example.com').executeTakeFirst()).toBeUndefined();
  });

  it('refuses a disallowed domain, an unverified email and a provider that said no, in plain words, audited', async () => {
    expect((await ssoSignIn('account=default', 'stranger')).location).toBe('/?sso_error=email_not_allowed');
    expect((await ssoSignIn('account=default', 'unverified')).location).toBe('/?sso_error=email_not_verified');
    expect((await ssoSignIn('account=default', 'admin', { decline: true })).location).toBe('/?sso_error=provider_refused');
    const denied = (await ssoEvents(await accountId('default'))).filter((event) => event.outcome === 'denied').slice(-3);
    expect(denied.map((event) => [event.detail.refusal, event.detail.reason])).toEqual([
      ['email_not_allowed', 'domain_not_allowed'],
      ['email_not_verified', 'email_not_verified'],
      ['provider_refused', 'provider_error:access_denied'],
    ]);
    expect(denied[0]?.actor_name).toBe('someone@elsewhere.test');
    // With first sign-ins making users, a lookalike let in would be a second "admin".
    const { clientSecret: _kept, ...withoutSecret } = settingsA();
    expect((await h.call('PUT', '/api/v1/settings/sso', { token: h.admin.token, body: { ...withoutSecret, jitRole: 'member' } })).status).toBe(200);
    for (const lookalike of ['cyrillic', 'suffixed', 'quoted', 'spaced', 'nul', 'newline']) expect((await ssoSignIn('account=default', lookalike)).location, lookalike).toBe('/?sso_error=email_not_allowed');
    expect((await h.call('PUT', '/api/v1/settings/sso', { token: h.admin.token, body: { ...withoutSecret, jitRole: null } })).status).toBe(200);
    expect(await h.vault.store.db.selectFrom('users').select('email').where('email', 'like', '%evil%').execute()).toEqual([]);
    expect((await h.vault.store.db.selectFrom('users').select('email').execute()).filter((user) => /[\s\u0000-\u001f]/.test(user.email))).toEqual([]);
  });

  it('refuses a forged state, a replayed callback and a callback without its browser cookie', async () => {
    const start = await fetch(`${h.url}/api/v1/auth/sso/start?account=default`, { redirect: 'manual' });
    const flowCookie = cookieOf(start, SSO_FLOW_COOKIE);
    const callback = await signInAtIdp(start.headers.get('location') ?? '', 'admin');
    const forged = new URL(callback);
    forged.searchParams.set('state', 'forged-state-value');
    const answer = await callbackWith(forged, flowCookie);
    expect(answer.headers.get('location')).toBe('/?sso_error=verification_failed');
    expect(cookieOf(answer, SESSION_COOKIE)).toBeUndefined();
    // The forged attempt used the flow up: the real answer that follows is refused too.
    expect((await callbackWith(callback, flowCookie)).headers.get('location')).toBe('/?sso_error=link_used');

    const good = await ssoSignIn('account=default', 'admin');
    expect(good.session).toBeDefined();
    // Two callbacks with one answer at the same moment: one session at most.
    const startRace = await fetch(`${h.url}/api/v1/auth/sso/start?account=default`, { redirect: 'manual' });
    const raceCookie = cookieOf(startRace, SSO_FLOW_COOKIE);
    const raceAnswer = await signInAtIdp(startRace.headers.get('location') ?? '', 'admin');
    const raced = await Promise.all([callbackWith(raceAnswer, raceCookie), callbackWith(raceAnswer, raceCookie)]);
    expect(raced.map((answer) => cookieOf(answer, SESSION_COOKIE) !== undefined).filter(Boolean)).toHaveLength(1);
    const replay = await callbackWith(good.callback as URL, good.flowCookie);
    expect(replay.headers.get('location')).toBe('/?sso_error=link_used');
    expect(cookieOf(replay, SESSION_COOKIE)).toBeUndefined();

    const another = await fetch(`${h.url}/api/v1/auth/sso/start?account=default`, { redirect: 'manual' });
    const elsewhere = await callbackWith(await signInAtIdp(another.headers.get('location') ?? '', 'admin'), undefined);
    expect(elsewhere.headers.get('location')).toBe('/?sso_error=link_used');

    // A flow left too long, and one whose provider settings were replaced meanwhile (a new client secret).
    const late = await fetch(`${h.url}/api/v1/auth/sso/start?account=default`, { redirect: 'manual' });
    const lateAnswer = await signInAtIdp(late.headers.get('location') ?? '', 'admin');
    await h.vault.store.db.updateTable('sso_flows').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).where('used_at', 'is', null).execute();
    expect((await callbackWith(lateAnswer, cookieOf(late, SSO_FLOW_COOKIE))).headers.get('location')).toBe('/?sso_error=link_used');
    const during = await fetch(`${h.url}/api/v1/auth/sso/start?account=default`, { redirect: 'manual' });
    const duringAnswer = await signInAtIdp(during.headers.get('location') ?? '', 'admin');
    expect((await h.call('PUT', '/api/v1/settings/sso', { token: h.admin.token, body: { ...settingsA(), jitRole: null } })).status).toBe(200);
    expect((await callbackWith(duringAnswer, cookieOf(during, SSO_FLOW_COOKIE))).headers.get('location')).toBe('/?sso_error=verification_failed');

    const reasons = (await ssoEvents(await accountId('default'))).filter((event) => event.outcome === 'denied').map((event) => event.detail.reason);
    expect(reasons.slice(-2)).toEqual(['flow_expired', 'configuration_changed_meanwhile']);
    expect(reasons).toContain('oauth_invalid_response:state');
    expect(reasons.filter((reason) => reason === 'flow_replayed')).toHaveLength(3);
  });

  it('openid-client refuses a correctly signed ID token for another audience, an expired one, another flow’s nonce, another issuer, and one signed by a key it never published', async () => {
    const cases: Array<[string, (claims: Record<string, unknown>) => Record<string, unknown>, string]> = [
      ['audience', (claims) => ({ ...claims, aud: 'some-other-client' }), 'oauth_jwt_claim_comparison_failed:aud'],
      ['expired', (claims) => ({ ...claims, iat: Math.floor(Date.now() / 1000) - 3600, exp: Math.floor(Date.now() / 1000) - 600 }), 'oauth_jwt_timestamp_check_failed:exp'],
      ['nonce', (claims) => ({ ...claims, nonce: 'another-flows-nonce' }), 'oauth_jwt_claim_comparison_failed:nonce'],
      ['issuer', (claims) => ({ ...claims, iss: 'https://login.attacker.example' }), 'oauth_jwt_claim_comparison_failed:iss'],
      ['signature', (claims) => claims, 'oauth_invalid_response:signature'],
    ];
    try {
      for (const [what, tamper, reason] of cases) {
        idp.tamperIdToken = tamper;
        idp.signWithForeignKey = what === 'signature';
        const refused = await ssoSignIn('account=default', 'admin');
        expect(refused.location, reason).toBe('/?sso_error=verification_failed');
        expect(refused.session).toBeUndefined();
        const last = (await ssoEvents(await accountId('default'))).at(-1);
        expect(last?.detail).toMatchObject({ refusal: 'verification_failed', reason });
      }
    } finally {
      idp.tamperIdToken = undefined;
      idp.signWithForeignKey = false;
    }
  });

  it('the lock-out guard: passwords go off only from a session that signed in through this very configuration', async () => {
    const off = { ...settingsA(), clientSecret: undefined, passwordSignIn: false };
    const byToken = await h.call('PUT', '/api/v1/settings/sso', { token: h.admin.token, body: off });
    expect(byToken.status).toBe(403);
    expect(byToken.body.error).toMatchObject({ code: 'sso_sign_in_required', field: 'passwordSignIn' });
    expect(byToken.body.error.message).toContain('personal access token');
    const deniedSave = (await ssoEvents(await accountId('default'))).at(-1);
    expect(deniedSave).toMatchObject({ action: 'sso.configure', outcome: 'denied', actor_name: 'admin@example.com', detail: { passwordSignIn: false, reason: 'token_not_session' } });
    expect((await h.call('GET', '/api/v1/settings/sso', { token: h.admin.token })).body.passwordSignIn).toBe(true);

    const login = await h.call('POST', '/api/v1/auth/login', { body: { email: PARTNER, password: 'partner-password-1234' } });
    const passwordSession = cookieOf(new Response(null, { headers: login.headers }), SESSION_COOKIE) ?? '';
    expect((await (await asSession(passwordSession)).put(off)).body.error?.code).toBe('sso_sign_in_required');

    // A session opened through the configuration before another admin replaced the client secret
    // proves nothing about the one now in force.
    const earlier = await asSession((await ssoSignIn('account=default', 'admin')).session ?? '');
    expect((await h.call('PUT', '/api/v1/settings/sso', { token: h.admin.token, body: { ...settingsA(), clientSecret: SECRET_A } })).status).toBe(200);
    const stale = await earlier.put(off);
    expect(stale.status).toBe(403);
    expect(stale.body.error.code).toBe('sso_sign_in_required');

    const admin = await asSession((await ssoSignIn('account=default', 'admin')).session ?? '');
    const turnedOff = await admin.put(off);
    expect(turnedOff.status).toBe(200);
    expect(turnedOff.body).toMatchObject({ passwordSignIn: false, signedInWithSso: true });
    // The password session opened before is ended: "SSO only" holds at once.
    expect((await asSession(passwordSession)).who.status).toBe(401);

    const refused = await h.call('POST', '/api/v1/auth/login', { body: { email: PARTNER, password: 'partner-password-1234' } });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('password_sign_in_disabled');
    expect(refused.body.error.message).toContain('Sign in with SSO');
    // A wrong password learns nothing about how the account signs in.
    expect((await h.call('POST', '/api/v1/auth/login', { body: { email: PARTNER, password: 'wrong-password-12345' } })).status).toBe(401);

    // Keeping passwords off with the same provider adds no risk: a token may change the role and domains.
    const kept = await h.call('PUT', '/api/v1/settings/sso', { token: h.admin.token, body: { ...off, allowedDomains: ['example.com', 'example.net'] } });
    expect(kept.status).toBe(200);
    expect(kept.body).toMatchObject({ passwordSignIn: false, allowedDomains: ['example.com', 'example.net'] });
    // A new provider while passwords are off would be unproven: refused, also from the proven session.
    const moved = await admin.put({ ...off, clientId: 'vault-b', clientSecret: SECRET_B });
    expect(moved.status).toBe(403);
    expect(moved.body.error.message).toContain('changes the identity provider');
    const removed = await h.call('DELETE', '/api/v1/settings/sso', { token: h.admin.token });
    expect(removed.status).toBe(409);
    expect(removed.body.error.field).toBe('passwordSignIn');

    // The operator's way back: a one-time password still signs in once, into a change-password session.
    const reset = await h.vault.passwords.resetPasswordAsOperator(PARTNER);
    const oneTime = await h.call('POST', '/api/v1/auth/login', { body: { email: PARTNER, password: reset.password } });
    expect(oneTime.status).toBe(200);
    expect(oneTime.body.passwordChangeRequired).toBe(true);

    // Turning passwords back on needs no proof.
    const on = await h.call('PUT', '/api/v1/settings/sso', { token: h.admin.token, body: { ...off, passwordSignIn: true } });
    expect(on.status).toBe(200);
    expect((await h.call('POST', '/api/v1/auth/login', { body: { email: 'member@example.com', password: 'member-password-1234' } })).status).toBe(200);
    const configured = (await ssoEvents(await accountId('default'))).filter((event) => event.action === 'sso.configure' && event.outcome === 'success').slice(-3);
    expect(configured.map((event) => [event.actor_name, event.detail.passwordSignIn])).toEqual([
      ['admin@example.com', false],
      ['admin@example.com', false],
      ['admin@example.com', true],
    ]);
    expect(configured[0]?.detail.endedSessions).toBeGreaterThanOrEqual(1);
  });

  it('what a save or a removal takes away ends the SSO sessions it allowed, from now; the saving admin carries on', async () => {
    const status = async (session: string | undefined) => (await asSession(session ?? '')).who.status;
    const byToken = (body: unknown) => h.call('PUT', '/api/v1/settings/sso', { token: h.admin.token, body });
    expect((await byToken({ ...settingsA(), allowedDomains: ['example.com', 'example.org'] })).status).toBe(200);
    const admin = await asSession((await ssoSignIn('account=default', 'admin')).session ?? '');
    const member = (await ssoSignIn('account=default', 'member')).session;
    const partner = (await ssoSignIn('account=default', 'partner')).session;
    expect([await status(member), await status(partner)]).toEqual([200, 200]);

    // A domain no longer allowed: its people's SSO sessions end; the others stay.
    expect((await admin.put({ ...settingsA(), clientSecret: undefined })).status).toBe(200);
    expect([await status(member), await status(partner)]).toEqual([200, 401]);
    // A new client secret alone ends nothing.
    expect((await byToken({ ...settingsA(), clientSecret: SECRET_A })).status).toBe(200);
    expect(await status(member)).toBe(200);
    // Another provider (client id): every session the old one opened ends, but the saving admin's own.
    expect((await admin.put({ ...settingsA(), clientId: 'vault-b', clientSecret: SECRET_B })).status).toBe(200);
    expect(await status(member)).toBe(401);
    expect(admin.who.status).toBe(200);
    expect((await asSession((await ssoSignIn('account=default', 'admin')).session ?? '')).who.status).toBe(200);

    // Removal: nothing single sign-on opened stays open; password sessions do.
    const again = (await ssoSignIn('account=default', 'member')).session;
    const login = await h.call('POST', '/api/v1/auth/login', { body: { email: 'member@example.com', password: 'member-password-1234' } });
    const byPassword = cookieOf(new Response(null, { headers: login.headers }), SESSION_COOKIE);
    expect((await h.call('DELETE', '/api/v1/settings/sso', { token: h.admin.token })).status).toBe(204);
    expect([await status(again), await status(byPassword)]).toEqual([401, 200]);

    // Audited with how many ended (earlier tests' sessions count too): none for the new secret alone.
    const ended = (await ssoEvents(await accountId('default'))).filter((event) => event.outcome === 'success' && event.action !== 'sso.sign_in').slice(-4).map((event) => [event.action, event.detail.endedSessions]);
    expect(ended).toEqual([
      ['sso.configure', expect.any(Number)],
      ['sso.configure', undefined],
      ['sso.configure', expect.any(Number)],
      ['sso.remove', expect.any(Number)],
    ]);
    expect((await byToken(settingsA())).status).toBe(200);
  });

  it('a domain belongs to one account, and another account’s provider never signs in this account’s people', async () => {
    const betaSettings = { issuer: idp.issuer, clientId: 'vault-b', clientSecret: SECRET_B, allowedDomains: ['beta.example.com', 'example.com'], jitRole: 'admin', passwordSignIn: true };
    const claimed = await h.call('PUT', '/api/v1/settings/sso', { token: beta.token, body: betaSettings });
    expect(claimed.status).toBe(409);
    expect(claimed.body.error).toMatchObject({ field: 'allowedDomains' });
    expect(claimed.body.error.message).toContain('example.com already signs in to another account');
    // beta claims example.org, where default has a user: beta's provider vouching for that email gets nobody in.
    expect((await h.call('PUT', '/api/v1/settings/sso', { token: beta.token, body: { ...betaSettings, allowedDomains: ['beta.example.com', 'example.org'] } })).status).toBe(200);
    const attempt = await ssoSignIn('account=beta', 'partner');
    expect(attempt.location).toBe('/?sso_error=no_such_user');
    expect(attempt.session).toBeUndefined();
    const betaEvents = await ssoEvents(await accountId('beta'));
    expect(betaEvents.at(-1)?.detail).toMatchObject({ refusal: 'no_such_user', reason: 'email_in_another_account', email: PARTNER });
    // Two accounts claiming one new domain at the same moment: one wins, the other hears 409, never a 500.
    const gamma = await h.newAccount('gamma');
    const both = await Promise.all(
      [beta.token, gamma.token].map((token, i) =>
        h.call('PUT', '/api/v1/settings/sso', { token, body: { ...betaSettings, clientId: i === 0 ? 'vault-b' : 'vault-a', clientSecret: i === 0 ? SECRET_B : SECRET_A, allowedDomains: [i === 0 ? 'beta.example.com' : 'gamma.example.com', 'contested.example'] } }),
      ),
    );
    expect(both.map((answer) => answer.status).sort()).toEqual([200, 409]);
    expect((await h.vault.store.db.selectFrom('sso_domains').select('account_id').where('domain', '=', 'contested.example').execute())).toHaveLength(1);
    // The person's own account is found from their email, whatever another account's domains say.
    const own = await fetch(`${h.url}/api/v1/auth/sso/start?email=${encodeURIComponent(PARTNER)}`, { redirect: 'manual' });
    expect(new URL(own.headers.get('location') ?? '').searchParams.get('client_id')).toBe('vault-a');
  });

  it('a sign-in started on one instance finishes on another over the same storage (behind a load balancer)', async () => {
    const store = openStore(h.storage.location);
    const vault = createVault({ store, masterKey: h.masterKey, log: silentLog, sso: { allowInsecureIssuer: true, allowPrivateIssuer: true } });
    const second = await buildServer({ vault, logger: pino({ level: 'silent' }), publicUrl: h.url, limits: { signInsPerAddressPerMinute: 10_000 } });
    await second.listen({ port: 0, host: '127.0.0.1' });
    try {
      const address = second.server.address();
      const secondUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
      const start = await fetch(`${secondUrl}/api/v1/auth/sso/start?account=default`, { redirect: 'manual' });
      const answer = await signInAtIdp(start.headers.get('location') ?? '', 'admin');
      const back = await callbackWith(answer, cookieOf(start, SSO_FLOW_COOKIE));
      expect(back.headers.get('location')).toBe('/');
      expect((await asSession(cookieOf(back, SESSION_COOKIE) ?? '')).who.body.user.email).toBe('admin@example.com');
    } finally {
      await second.close();
      await vault.close();
    }
  });

  it('no client secret, code or token reaches the audit trail, the logs or an answer', async () => {
    const events = await h.vault.store.db.selectFrom('audit_events').select(['detail', 'actor_name']).execute();
    const text = JSON.stringify(events) + h.logLines.join('\n');
    expect(text).not.toContain(SECRET_A);
    expect(text).not.toContain(SECRET_B);
    expect(text).not.toMatch(/eyJ[\w-]{10,}\.[\w-]{10,}/);
    expect(text).not.toMatch(/"code":"[\w-]{20,}"/);
  });

  it('master key rotation and backup/restore carry the sealed client secret', async () => {
    const { store, dispose } = await freshStore(kind);
    const restored = await freshStore(kind);
    const dir = mkdtempSync(join(tmpdir(), 'sso-backup-'));
    try {
      const oldKey = testMasterKey();
      const newKey = testMasterKey();
      const vault = createVault({ store, masterKey: oldKey, log: silentLog, sso: { allowInsecureIssuer: true, allowPrivateIssuer: true } });
      await vault.accounts.createAccount('default', 'admin@example.com', 'rotation-password-1234');
      const caller = (await vault.people.login('admin@example.com', 'rotation-password-1234')).caller as UserCaller;
      await vault.ssoSettings.saveSettings(caller, settingsA());
      await vault.audit.flush();

      const maintenance = createMaintenance({ store, masterKey: oldKey, log: silentLog });
      await maintenance.keys.rotateMasterKey(newKey);
      await createMaintenance({ store, masterKey: newKey, log: silentLog }).keys.completeRotation();
      const onNewKey = createVault({ store, masterKey: newKey, log: silentLog, sso: { allowInsecureIssuer: true, allowPrivateIssuer: true } });
      const started = await onNewKey.ssoSignIn.start({ account: 'default', redirectUri: `${h.url}/api/v1/auth/sso/callback` });
      const callback = await signInAtIdp(started.authorizationUrl, 'admin');
      const finished = await onNewKey.ssoSignIn.finish(started.flowToken, callback.search.slice(1));
      expect(finished.sessionToken).toMatch(/^ass_/);

      const file = join(dir, 'vault.backup');
      await createMaintenance({ store, masterKey: newKey, log: silentLog }).backups.backup(file);
      await createMaintenance({ store: restored.store, masterKey: newKey, log: silentLog }).backups.restore(file);
      const row = await restored.store.db.selectFrom('sso_configs').selectAll().executeTakeFirstOrThrow();
      expect(await sealingService(new Keyring(newKey)).openSsoClientSecret(restored.store.db, row)).toBe(SECRET_A);
      expect((await restored.store.db.selectFrom('sso_domains').select('domain').execute()).map((r) => r.domain)).toEqual(['example.com']);
      await expect(sealingService(new Keyring(oldKey)).openSsoClientSecret(restored.store.db, row)).rejects.toThrow(/integrity/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await restored.dispose();
      await dispose();
    }
  });
});
