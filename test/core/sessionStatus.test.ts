/** GET /api/v1/auth/status: the console's first look, 200 whether or not someone is signed in. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';

describe('the session status the console asks first', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('sqlite');
  });
  afterAll(async () => h?.close());

  const cookieOf = (response: { headers: Headers }) => (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '';

  it('answers 200 with no session to a stranger, an ended session and a bad token, where /auth/session says 401', async () => {
    expect(await h.call('GET', '/api/v1/auth/status')).toMatchObject({ status: 200, body: { session: null } });
    expect((await h.call('GET', '/api/v1/auth/session')).status).toBe(401);
    const ended = await h.call('GET', '/api/v1/auth/status', { headers: { cookie: 'agent_secrets_session=not-a-session' } });
    expect(ended).toMatchObject({ status: 200, body: { session: null } });
    expect(await h.call('GET', '/api/v1/auth/status', { token: 'asp_not_a_token' })).toMatchObject({ status: 200, body: { session: null } });
  });

  it('answers the signed-in session with its CSRF token, as /auth/session does', async () => {
    const login = await h.call('POST', '/api/v1/auth/login', { body: { email: h.admin.email, password: h.admin.password } });
    const cookie = cookieOf(login);
    const status = await h.call('GET', '/api/v1/auth/status', { headers: { cookie } });
    const session = await h.call('GET', '/api/v1/auth/session', { headers: { cookie } });
    expect(status.status).toBe(200);
    expect(status.body.session).toEqual(session.body);
    expect(status.body.session).toMatchObject({ user: { email: h.admin.email }, csrfToken: login.body.csrfToken, passwordChangeRequired: false });
  });

  it('never answers a token or a password, and is not cached', async () => {
    const status = await h.call('GET', '/api/v1/auth/status', { token: h.admin.token });
    expect(status.body.session.user.email).toBe(h.admin.email);
    expect(JSON.stringify(status.body)).not.toContain(h.admin.token);
    expect(JSON.stringify(status.body)).not.toContain(h.admin.password);
    expect(status.headers.get('cache-control')).toBe('no-store');
  });
});
