import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { DATABASES } from '../support/stores.js';

describe.each(DATABASES)('people, sessions, tokens and keys on %s', (kind) => {
  let h: Harness;
  let admin: string;

  beforeAll(async () => {
    h = await startHarness(kind);
    admin = h.admin.token;
  });
  afterAll(async () => {
    const log = h.logLines.join('\n');
    expect(log).not.toContain(h.admin.password);
    expect(log).not.toContain(h.admin.token);
    await h?.close();
  });

  const login = (email: string, password: string) => h.call('POST', '/api/v1/auth/login', { body: { email, password } });
  const cookieOf = (response: { headers: Headers }) => (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '';

  describe('sign-in', () => {
    it('sets an HttpOnly, SameSite=Strict session cookie and returns a CSRF token', async () => {
      const response = await login(h.admin.email, h.admin.password);
      expect(response.status).toBe(200);
      const setCookie = response.headers.get('set-cookie') ?? '';
      expect(setCookie).toMatch(/^agent_secrets_session=ass_/);
      expect(setCookie).toContain('HttpOnly');
      expect(setCookie).toContain('SameSite=Strict');
      expect(response.body).toMatchObject({ user: { email: 'admin@example.com', role: 'admin' }, account: { name: 'default', vaultEnabled: true } });
      expect(response.body.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });

    it('refuses a wrong password and an unknown email with the same 401', async () => {
      const wrong = await login(h.admin.email, 'not the password at all');
      const unknown = await login('nobody@example.com', 'not the password at all');
      expect(wrong.status).toBe(401);
      expect(unknown.status).toBe(401);
      expect(wrong.body).toEqual(unknown.body);
    });

    it('a cookie session reads freely but writes only with the CSRF header', async () => {
      const session = await login(h.admin.email, h.admin.password);
      const cookie = cookieOf(session);
      const list = await h.call('GET', '/api/v1/secrets', { headers: { cookie } });
      expect(list.status).toBe(200);
      const forged = await h.call('POST', '/api/v1/agents', { headers: { cookie }, body: { name: 'forged' } });
      expect(forged.status).toBe(403);
      expect(forged.body.error.code).toBe('csrf_failed');
      const wrongToken = await h.call('POST', '/api/v1/agents', { headers: { cookie, 'x-csrf-token': 'x'.repeat(43) }, body: { name: 'forged' } });
      expect(wrongToken.status).toBe(403);
      const real = await h.call('POST', '/api/v1/agents', { headers: { cookie, 'x-csrf-token': session.body.csrfToken }, body: { name: 'from console' } });
      expect(real.status).toBe(201);
      const me = await h.call('GET', '/api/v1/auth/session', { headers: { cookie } });
      expect(me.body.csrfToken).toBe(session.body.csrfToken);
    });

    it('signing out ends the session at once', async () => {
      const session = await login(h.admin.email, h.admin.password);
      const cookie = cookieOf(session);
      expect((await h.call('POST', '/api/v1/auth/logout', { headers: { cookie, 'x-csrf-token': session.body.csrfToken } })).status).toBe(204);
      expect((await h.call('GET', '/api/v1/secrets', { headers: { cookie } })).status).toBe(401);
    });

    it('stores passwords only as Argon2id hashes', async () => {
      const row = await h.vault.store.db.selectFrom('users').select('password_hash').where('email', '=', h.admin.email).executeTakeFirstOrThrow();
      expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect(row.password_hash).not.toContain(h.admin.password);
    });
  });

  describe('personal access tokens', () => {
    it('are shown once, listed without the token, and revoked with effect on the next call', async () => {
      const created = await h.call('POST', '/api/v1/tokens', { token: admin, body: { name: 'laptop' } });
      expect(created.status).toBe(201);
      expect(created.body.token).toMatch(/^asp_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
      const list = await h.call('GET', '/api/v1/tokens', { token: admin });
      expect(JSON.stringify(list.body)).not.toContain(created.body.token);
      expect(list.body.tokens.map((t: { name: string }) => t.name)).toContain('laptop');
      expect((await h.call('GET', '/api/v1/secrets', { token: created.body.token })).status).toBe(200);
      expect((await h.call('DELETE', `/api/v1/tokens/${created.body.id}`, { token: admin })).status).toBe(204);
      expect((await h.call('GET', '/api/v1/secrets', { token: created.body.token })).status).toBe(401);
    });

    it('a token whose secret part is altered is refused', async () => {
      const created = await h.call('POST', '/api/v1/tokens', { token: admin, body: { name: 'tamper' } });
      const token: string = created.body.token;
      const altered = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
      expect((await h.call('GET', '/api/v1/secrets', { token: altered })).status).toBe(401);
    });

    it('refuses an empty token name with 400 naming the field', async () => {
      const response = await h.call('POST', '/api/v1/tokens', { token: admin, body: { name: '  ' } });
      expect(response.status).toBe(400);
      expect(response.body.error.field).toBe('name');
    });
  });

  describe('users', () => {
    it('adds a user with a one-time password when none is given, who can then sign in', async () => {
      const created = await h.call('POST', '/api/v1/users', { token: admin, body: { email: 'New.Person@Example.com', role: 'member' } });
      expect(created.status).toBe(201);
      expect(created.body.email).toBe('new.person@example.com');
      expect(created.body.password).toMatch(/^[A-Za-z0-9]{20}$/);
      expect((await login('new.person@example.com', created.body.password)).status).toBe(200);
      expect(h.logLines.join('')).not.toContain(created.body.password);
    });

    it('refuses a duplicate email with 409, a bad email, role or short password with 400', async () => {
      expect((await h.call('POST', '/api/v1/users', { token: admin, body: { email: 'new.person@example.com', role: 'member' } })).status).toBe(409);
      const badEmail = await h.call('POST', '/api/v1/users', { token: admin, body: { email: 'not-an-email', role: 'member' } });
      expect(badEmail.body.error).toMatchObject({ code: 'invalid_input', field: 'email' });
      const badRole = await h.call('POST', '/api/v1/users', { token: admin, body: { email: 'r@example.com', role: 'owner' } });
      expect(badRole.body.error).toMatchObject({ code: 'invalid_input', field: 'role' });
      const shortPassword = await h.call('POST', '/api/v1/users', { token: admin, body: { email: 'p@example.com', role: 'member', password: 'short' } });
      expect(shortPassword.body.error).toMatchObject({ code: 'invalid_input', field: 'password' });
    });

    it('changes roles, with effect on the next call', async () => {
      const created = await h.call('POST', '/api/v1/users', { token: admin, body: { email: 'promoted@example.com', role: 'member', password: 'promoted password' } });
      const session = await h.vault.people.login('promoted@example.com', 'promoted password');
      const token = (await h.vault.people.createToken(session.caller, 't')).token;
      expect((await h.call('GET', '/api/v1/secrets', { token })).status).toBe(403);
      await h.call('PATCH', `/api/v1/users/${created.body.id}`, { token: admin, body: { role: 'admin' } });
      expect((await h.call('GET', '/api/v1/secrets', { token })).status).toBe(200);
    });

    it('removing a user ends their tokens and sessions at once; nobody removes or demotes themselves', async () => {
      const created = await h.call('POST', '/api/v1/users', { token: admin, body: { email: 'leaver@example.com', role: 'admin', password: 'leaver password' } });
      const session = await h.vault.people.login('leaver@example.com', 'leaver password');
      const token = (await h.vault.people.createToken(session.caller, 't')).token;
      expect((await h.call('DELETE', `/api/v1/users/${created.body.id}`, { token: admin })).status).toBe(204);
      expect((await h.call('GET', '/api/v1/agents', { token })).status).toBe(401);
      const me = await h.vault.people.authenticateToken(admin);
      expect((await h.call('DELETE', `/api/v1/users/${me.userId}`, { token: admin })).status).toBe(403);
      expect((await h.call('PATCH', `/api/v1/users/${me.userId}`, { token: admin, body: { role: 'member' } })).status).toBe(403);
    });
  });

  describe('agents and keys', () => {
    it('agent names are unique ignoring case, follow the naming rule, and can be renamed', async () => {
      expect((await h.call('POST', '/api/v1/agents', { token: admin, body: { name: 'Booking agent' } })).status).toBe(201);
      expect((await h.call('POST', '/api/v1/agents', { token: admin, body: { name: 'booking AGENT' } })).status).toBe(409);
      const bad = await h.call('POST', '/api/v1/agents', { token: admin, body: { name: ' padded ' } });
      expect(bad.body.error).toMatchObject({ code: 'invalid_input', field: 'name' });
      const renamed = await h.call('PATCH', '/api/v1/agents/booking%20agent', { token: admin, body: { name: 'Reservations' } });
      expect(renamed.body.name).toBe('Reservations');
    });

    it('agent keys are shown once, stored as hashes, and listed without the key', async () => {
      const created = await h.call('POST', '/api/v1/agents/Reservations/keys', { token: admin, body: { name: 'prod' } });
      expect(created.body.key).toMatch(/^ask_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
      const list = await h.call('GET', '/api/v1/agents/Reservations/keys', { token: admin });
      expect(JSON.stringify(list.body)).not.toContain(created.body.key);
      const row = await h.vault.store.db.selectFrom('agent_keys').select('key_hash').where('id', '=', created.body.id).executeTakeFirstOrThrow();
      expect(Buffer.from(row.key_hash).length).toBe(32);
    });
  });
});

describe('request order', () => {
  it('authenticates before reading the body: a stranger with a malformed body gets 401, an admin 400', async () => {
    const { startHarness } = await import('../support/harness.js');
    const h = await startHarness('sqlite');
    try {
      const stranger = await h.call('POST', '/api/v1/secrets', { rawBody: '{"name": ', headers: { 'content-type': 'application/json', cookie: 'agent_secrets_session=ass_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } });
      expect(stranger.status).toBe(401);
      const admin = await h.call('POST', '/api/v1/secrets', { token: h.admin.token, rawBody: '{"name": ', headers: { 'content-type': 'application/json' } });
      expect(admin.status).toBe(400);
      await h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { name: 'r', value: 'v' } });
      const reveal = await fetch(`${h.url}/api/v1/secrets/r/reveal`, { method: 'POST', headers: { authorization: `Bearer ${h.admin.token}` } });
      expect(reveal.status).toBe(200);
    } finally {
      await h.close();
    }
  });
});
