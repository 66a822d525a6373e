/**
 * SPEC S19 (one-time passwords, changing and resetting passwords) and "an account keeps at least one
 * admin" under concurrency (issue 12, items 4 and 6), over the real HTTP API on both databases.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHarness, type ApiResponse, type Harness } from '../support/harness.js';
import { DATABASES } from '../support/stores.js';

const ONE_TIME_SHAPE = /^[A-Za-z0-9]{20}$/;

describe.each(DATABASES)('passwords and admins on %s', (kind) => {
  let h: Harness;
  let admin: string;
  const shown: string[] = [];

  beforeAll(async () => {
    // Many sign-ins from one address: the sign-in limits are tested in rateLimits.test.ts.
    h = await startHarness(kind, { limits: { signInsPerAddressPerMinute: 100_000, signInsPerAccountPerMinute: 100_000 } });
    admin = h.admin.token;
  });
  afterAll(async () => {
    // No password handed out in these tests, nor the admin's, ever reached a log line.
    const log = h.logLines.join('\n');
    for (const secret of [...shown, h.admin.password, h.admin.token]) expect(log).not.toContain(secret);
    await h?.close();
  });

  interface Session {
    status: number;
    body: ApiResponse['body'];
    cookie: string;
    csrf: string;
  }
  const login = async (email: string, password: string): Promise<Session> => {
    const response = await h.call('POST', '/api/v1/auth/login', { body: { email, password } });
    return { status: response.status, body: response.body, cookie: (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '', csrf: response.body?.csrfToken ?? '' };
  };
  const asSession = (session: Session, method: string, path: string, body?: unknown) =>
    h.call(method, path, { headers: { cookie: session.cookie, 'x-csrf-token': session.csrf }, ...(body === undefined ? {} : { body }) });
  let counter = 0;
  /** A user added by the admin without a password: the answer's one-time password. */
  const newUser = async (role: 'admin' | 'member' = 'member', token = admin) => {
    const email = `p${++counter}.${kind}@example.com`;
    const created = await h.call('POST', '/api/v1/users', { token, body: { email, role } });
    expect(created.status).toBe(201);
    shown.push(created.body.password);
    return { id: created.body.id as string, email, password: created.body.password as string };
  };
  /** A user with a chosen password, signed in, with a token of their own. */
  const signedInUser = async (role: 'admin' | 'member', token = admin) => {
    const email = `s${++counter}.${kind}@example.com`;
    const password = `chosen-password-${counter}-${kind}`;
    const created = await h.call('POST', '/api/v1/users', { token, body: { email, role, password } });
    expect(created.status).toBe(201);
    const session = await login(email, password);
    const personal = await asSession(session, 'POST', '/api/v1/tokens', { name: 'own' });
    expect(personal.status).toBe(201);
    return { id: created.body.id as string, email, password, session, token: personal.body.token as string };
  };

  describe('one-time passwords', () => {
    it('sign in once, into a session that may only change the password: every other route answers 403 password_change_required', async () => {
      const user = await newUser('admin');
      expect(user.password).toMatch(ONE_TIME_SHAPE);
      const session = await login(user.email, user.password);
      expect(session.status).toBe(200);
      expect(session.body.passwordChangeRequired).toBe(true);

      for (const [method, path, body] of [
        ['GET', '/api/v1/agents', undefined],
        ['GET', '/api/v1/secrets', undefined],
        ['GET', '/api/v1/users', undefined],
        ['GET', '/api/v1/tokens', undefined],
        ['POST', '/api/v1/tokens', { name: 'sneaky' }],
        ['POST', '/api/v1/agents', { name: 'sneaky' }],
        ['GET', '/api/v1/audit', undefined],
        ['POST', `/api/v1/users/${user.id}/password-reset`, {}],
      ] as const) {
        const refused = await asSession(session, method, path, body);
        expect(refused.status, `${method} ${path}`).toBe(403);
        expect(refused.body.error.code).toBe('password_change_required');
      }
      const me = await asSession(session, 'GET', '/api/v1/auth/session');
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ user: { email: user.email }, passwordChangeRequired: true });
      // Nothing was made by the refused writes.
      const agents = await h.call('GET', '/api/v1/agents', { token: admin });
      expect(agents.body.agents.map((a: { name: string }) => a.name)).not.toContain('sneaky');
    });

    it('no longer sign in once used, while a chosen password signs in every time', async () => {
      const user = await newUser();
      expect((await login(user.email, user.password)).status).toBe(200);
      const again = await login(user.email, user.password);
      expect(again.status).toBe(401);
      expect(again.body.error.code).toBe('unauthenticated');
      expect(again.body.error).toMatchObject({ code: 'unauthenticated', field: 'password' });
      expect(again.body.error.message).toContain('one-time password has been used or has expired');
      // The hint is given only to someone who knows the password: a wrong one gets the usual answer.
      const wrong = await login(user.email, 'not the one-time password');
      expect(wrong.body.error.message).toBe('Wrong email or password.');
    });

    it('two sign-ins with the same one-time password at once: exactly one gets a session', async () => {
      for (let round = 0; round < 5; round++) {
        const user = await newUser();
        const results = await Promise.all([login(user.email, user.password), login(user.email, user.password), login(user.email, user.password)]);
        expect(results.map((r) => r.status).sort()).toEqual([200, 401, 401]);
      }
    });

    it('once used on an instance whose clock runs ahead, no longer sign in on one whose clock is right', async () => {
      // Instances sharing one database do not share a clock: a use must not look unexpired to another.
      const user = await newUser();
      vi.useFakeTimers({ toFake: ['Date'] });
      try {
        vi.setSystemTime(Date.now() + 10 * 60_000);
        expect((await login(user.email, user.password)).status).toBe(200);
      } finally {
        vi.useRealTimers();
      }
      const again = await login(user.email, user.password);
      expect(again.status).toBe(401);
      expect(again.body.error.message).toContain('one-time password has been used or has expired');
    });

    it('expire unused 72 hours after they were made', async () => {
      const before = Date.now();
      const user = await newUser();
      const row = await h.vault.store.db.selectFrom('users').select(['password_one_time', 'password_expires_at']).where('id', '=', user.id).executeTakeFirstOrThrow();
      expect(row.password_one_time).toBe(1);
      const expiresIn = Date.parse(row.password_expires_at ?? '') - before;
      expect(expiresIn).toBeGreaterThan(72 * 3600_000 - 60_000);
      expect(expiresIn).toBeLessThanOrEqual(72 * 3600_000 + 60_000);
      // 72 hours later, as the clock of the database sees it.
      await h.vault.store.db.updateTable('users').set({ password_expires_at: new Date(Date.now() - 1000).toISOString() }).where('id', '=', user.id).execute();
      const late = await login(user.email, user.password);
      expect(late.status).toBe(401);
      expect(late.body.error.message).toContain('has expired');
    });

    it('do not limit a personal access token: a token is a credential of its own and keeps working', async () => {
      // An operator's new account: its admin holds a one-time password and a token (as `init` prints).
      const made = await h.vault.accounts.createAccount(`otp-${kind}`, `first.${kind}@otp.example.com`);
      shown.push(made.password, made.token);
      expect(made.password).toMatch(ONE_TIME_SHAPE);
      expect((await h.call('GET', '/api/v1/agents', { token: made.token })).status).toBe(200);
      expect((await h.call('POST', '/api/v1/agents', { token: made.token, body: { name: 'made with a token' } })).status).toBe(201);
      const session = await login(made.email, made.password);
      expect(session.body.passwordChangeRequired).toBe(true);
      expect((await h.call('GET', '/api/v1/agents', { token: made.token })).status).toBe(200);
    });
  });

  describe('changing your own password', () => {
    it('from a one-time session: the session gets full rights, other sessions end, the new password signs in, the one-time one never again', async () => {
      const user = await newUser('admin');
      const session = await login(user.email, user.password);
      const newPassword = `my own password ${kind}`;
      const changed = await asSession(session, 'POST', '/api/v1/auth/password', { currentPassword: user.password, newPassword });
      expect(changed.status).toBe(200);
      expect(changed.body).toMatchObject({ user: { email: user.email }, passwordChangeRequired: false });
      expect((await asSession(session, 'GET', '/api/v1/agents')).status).toBe(200);
      expect((await asSession(session, 'GET', '/api/v1/auth/session')).body.passwordChangeRequired).toBe(false);
      expect((await login(user.email, user.password)).status).toBe(401);
      const next = await login(user.email, newPassword);
      expect(next.status).toBe(200);
      expect(next.body.passwordChangeRequired).toBe(false);
      expect((await login(user.email, newPassword)).status).toBe(200);
      const row = await h.vault.store.db.selectFrom('users').select(['password_one_time', 'password_expires_at', 'password_hash']).where('id', '=', user.id).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ password_one_time: 0, password_expires_at: null });
      expect(row.password_hash).not.toContain(newPassword);
    });

    it('ends the caller\'s other sessions, keeps this one, and is audited without the password', async () => {
      const user = await signedInUser('member');
      const other = await login(user.email, user.password);
      expect((await asSession(other, 'GET', '/api/v1/agents')).status).toBe(200);
      const newPassword = `a better password ${kind}`;
      const changed = await asSession(user.session, 'POST', '/api/v1/auth/password', { currentPassword: user.password, newPassword });
      expect(changed.status).toBe(200);
      expect((await asSession(other, 'GET', '/api/v1/agents')).status).toBe(401);
      expect((await asSession(user.session, 'GET', '/api/v1/agents')).status).toBe(200);
      // The token is not a session: it keeps working.
      expect((await h.call('GET', '/api/v1/agents', { token: user.token })).status).toBe(200);
      const events = (await h.call('GET', `/api/v1/audit?action=user.password_change&actor=${encodeURIComponent(user.email)}`, { token: admin })).body.events;
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ actor: { type: 'user', name: user.email }, outcome: 'success', detail: { userId: user.id, endedSessions: 1 } });
      const trail = JSON.stringify((await h.call('GET', '/api/v1/audit?limit=1000', { token: admin })).body);
      expect(trail).not.toContain(newPassword);
      expect(trail).not.toContain(user.password);
    });

    it('with a token, ends every session of the caller', async () => {
      const user = await signedInUser('member');
      const changed = await h.call('POST', '/api/v1/auth/password', { token: user.token, body: { currentPassword: user.password, newPassword: `token-changed ${kind}!` } });
      expect(changed.status).toBe(200);
      expect((await asSession(user.session, 'GET', '/api/v1/agents')).status).toBe(401);
    });

    it('refuses a new password under 12 characters or equal to the current one with 400 naming newPassword, a wrong current one naming currentPassword', async () => {
      const user = await signedInUser('member');
      const change = (body: unknown) => asSession(user.session, 'POST', '/api/v1/auth/password', body);
      const short = await change({ currentPassword: user.password, newPassword: 'elevenchars' });
      expect(short.status).toBe(400);
      expect(short.body.error).toMatchObject({ code: 'invalid_input', field: 'newPassword' });
      expect(short.body.error.message).toContain('at least 12 characters');
      const same = await change({ currentPassword: user.password, newPassword: user.password });
      expect(same.status).toBe(400);
      expect(same.body.error).toMatchObject({ code: 'invalid_input', field: 'newPassword' });
      const wrong = await change({ currentPassword: 'not my password', newPassword: 'a long enough password' });
      expect(wrong.status).toBe(400);
      expect(wrong.body.error).toMatchObject({ code: 'invalid_input', field: 'currentPassword' });
      const missing = await change({ newPassword: 'a long enough password' });
      expect(missing.body.error).toMatchObject({ code: 'invalid_input', field: 'currentPassword' });
      const extra = await change({ currentPassword: user.password, newPassword: 'a long enough password', role: 'admin' });
      expect(extra.status).toBe(400);
      // Nothing changed: the old password still signs in.
      expect((await login(user.email, user.password)).status).toBe(200);
      for (const response of [short, same, wrong]) expect(JSON.stringify(response.body)).not.toContain(user.password);
    });

    it('needs a signed-in caller: 401 without one', async () => {
      const response = await h.call('POST', '/api/v1/auth/password', { body: { currentPassword: 'x', newPassword: 'a long enough password' } });
      expect(response.status).toBe(401);
    });
  });

  describe('an admin resets a password', () => {
    it('gives a one-time password shown once, ends that user\'s sessions (not their tokens), and is audited', async () => {
      const user = await signedInUser('member');
      const reset = await h.call('POST', `/api/v1/users/${user.id}/password-reset`, { token: admin });
      expect(reset.status).toBe(200);
      expect(reset.body).toMatchObject({ id: user.id, email: user.email });
      expect(reset.body.password).toMatch(ONE_TIME_SHAPE);
      shown.push(reset.body.password);
      expect((await asSession(user.session, 'GET', '/api/v1/agents')).status).toBe(401);
      expect((await h.call('GET', '/api/v1/agents', { token: user.token })).status).toBe(200);
      expect((await login(user.email, user.password)).status).toBe(401);
      const session = await login(user.email, reset.body.password);
      expect(session.body.passwordChangeRequired).toBe(true);
      expect((await login(user.email, reset.body.password)).status).toBe(401);
      const events = (await h.call('GET', '/api/v1/audit?action=user.password_reset', { token: admin })).body.events;
      expect(events[0]).toMatchObject({ actor: { type: 'user', name: h.admin.email }, detail: { userId: user.id, email: user.email, endedSessions: 1 } });
      expect(JSON.stringify(events)).not.toContain(reset.body.password);
    });

    it('sign-ins with the old password still being checked when the reset lands: none of their sessions outlives it', async () => {
      // The password hash is checked before the sign-in's transaction; a reset committed meanwhile must
      // still end (or refuse) the session it opens.
      const opened: Session[] = [];
      for (let round = 0; round < 8; round++) {
        const user = await signedInUser('member');
        const logins = Array.from({ length: 4 }, () => login(user.email, user.password));
        await new Promise((resolve) => setTimeout(resolve, 5 + round * 3));
        const reset = await h.call('POST', `/api/v1/users/${user.id}/password-reset`, { token: admin });
        expect(reset.status).toBe(200);
        shown.push(reset.body.password);
        for (const session of await Promise.all(logins)) {
          expect([200, 401]).toContain(session.status);
          if (session.status === 200) opened.push(session);
        }
      }
      const alive = (await Promise.all(opened.map((session) => asSession(session, 'GET', '/api/v1/agents')))).filter((answer) => answer.status !== 401);
      expect(alive).toEqual([]);
    });

    it('is for admins only, within their account: a member gets 403, another account\'s user 404', async () => {
      const member = await signedInUser('member');
      const target = await newUser();
      const refused = await h.call('POST', `/api/v1/users/${target.id}/password-reset`, { token: member.token });
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('admin_required');
      const other = await h.newAccount(`reset-${kind}`);
      shown.push(other.token);
      const otherUsers = (await h.call('GET', '/api/v1/users', { token: other.token })).body.users as Array<{ id: string }>;
      const foreign = await h.call('POST', `/api/v1/users/${otherUsers[0]?.id}/password-reset`, { token: admin });
      expect(foreign.status).toBe(404);
      expect((await h.call('POST', '/api/v1/users/usr_0000000000000000/password-reset', { token: admin })).status).toBe(404);
    });
  });

  describe('an account keeps at least one admin', () => {
    /** A fresh account whose only admins are A and B, each with a token. */
    const twoAdmins = async (name: string) => {
      const a = await h.vault.accounts.createAccount(name, `a.${name}@example.com`, `password of a ${name}`);
      shown.push(a.token);
      const b = await signedInUser('admin', a.token);
      const users = (await h.call('GET', '/api/v1/users', { token: a.token })).body.users as Array<{ id: string; email: string; role: string }>;
      const aId = users.find((u) => u.email === a.email)?.id ?? '';
      return { a: { id: aId, token: a.token }, b: { id: b.id, token: b.token } };
    };
    const adminsOf = async (accountName: string) =>
      h.vault.store.db
        .selectFrom('users')
        .innerJoin('accounts', 'accounts.id', 'users.account_id')
        .select('users.email')
        .where('accounts.name', '=', accountName)
        .where('users.role', '=', 'admin')
        .execute();

    it('two admins demoting each other at once: exactly one succeeds, the other gets 403 admin_required, and an admin remains', { timeout: 60_000 }, async () => {
      for (let round = 0; round < 8; round++) {
        const name = `demote-${kind}-${round}`;
        const { a, b } = await twoAdmins(name);
        const [byA, byB] = await Promise.all([
          h.call('PATCH', `/api/v1/users/${b.id}`, { token: a.token, body: { role: 'member' } }),
          h.call('PATCH', `/api/v1/users/${a.id}`, { token: b.token, body: { role: 'member' } }),
        ]);
        expect([byA.status, byB.status].sort(), `round ${round}`).toEqual([200, 403]);
        expect([byA, byB].find((r) => r.status === 403)?.body.error.code).toBe('admin_required');
        expect(await adminsOf(name)).toHaveLength(1);
      }
    });

    it('two admins removing each other at once: exactly one succeeds, the other is refused, and an admin remains', { timeout: 60_000 }, async () => {
      for (let round = 0; round < 8; round++) {
        const name = `remove-${kind}-${round}`;
        const { a, b } = await twoAdmins(name);
        const [byA, byB] = await Promise.all([
          h.call('DELETE', `/api/v1/users/${b.id}`, { token: a.token }),
          h.call('DELETE', `/api/v1/users/${a.id}`, { token: b.token }),
        ]);
        // The one removed second is refused: 403 admin_required when its request was past sign-in when
        // it lost, 401 when its token was already gone with it.
        const statuses = [byA.status, byB.status].sort();
        expect(statuses[0], `round ${round}`).toBe(204);
        expect([401, 403], `round ${round}`).toContain(statuses[1]);
        expect(await adminsOf(name)).toHaveLength(1);
      }
    });

    it('an admin authenticated before another admin demoted them can no longer act as admin (checked again under the account lock)', async () => {
      for (const change of ['demote', 'remove'] as const) {
        const name = `stale-${change}-${kind}`;
        const { a, b } = await twoAdmins(name);
        // Both callers are resolved first, as two requests that were both past sign-in would be.
        const [callerA, callerB] = await Promise.all([h.vault.people.authenticateToken(a.token), h.vault.people.authenticateToken(b.token)]);
        const act = (caller: typeof callerA, target: string) => (change === 'demote' ? h.vault.people.setRole(caller, target, 'member') : h.vault.people.removeUser(caller, target));
        const results = await Promise.allSettled([act(callerA, b.id), act(callerB, a.id)]);
        expect(results.map((r) => r.status).sort(), change).toEqual(['fulfilled', 'rejected']);
        const refusal = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
        expect(refusal.reason).toMatchObject({ code: 'admin_required' });
        expect(await adminsOf(name)).toHaveLength(1);
      }
    });

    it('a demotion and a removal crossing each other: exactly one succeeds, and an admin remains', { timeout: 60_000 }, async () => {
      for (let round = 0; round < 6; round++) {
        const name = `cross-${kind}-${round}`;
        const { a, b } = await twoAdmins(name);
        const [byA, byB] = await Promise.all([
          h.call('PATCH', `/api/v1/users/${b.id}`, { token: a.token, body: { role: 'member' } }),
          h.call('DELETE', `/api/v1/users/${a.id}`, { token: b.token }),
        ]);
        expect([byA.status, byB.status].filter((s) => s < 300), `round ${round}`).toHaveLength(1);
        expect(await adminsOf(name)).toHaveLength(1);
      }
    });

    it('the operator cannot demote the last admin on storage either (409 conflict), and can make a member an admin again, audited', async () => {
      const name = `operator-${kind}`;
      const { a, b } = await twoAdmins(name);
      expect((await h.call('PATCH', `/api/v1/users/${b.id}`, { token: a.token, body: { role: 'member' } })).status).toBe(200);
      const users = (await h.call('GET', '/api/v1/users', { token: a.token })).body.users as Array<{ id: string; email: string }>;
      const aEmail = users.find((u) => u.id === a.id)?.email ?? '';
      const bEmail = users.find((u) => u.id === b.id)?.email ?? '';
      await expect(h.vault.people.setRoleAsOperator(aEmail, 'member')).rejects.toMatchObject({ code: 'conflict', field: 'role' });
      await expect(h.vault.people.setRoleAsOperator(bEmail, 'admin', 'no-such-account')).rejects.toMatchObject({ code: 'not_found' });
      const back = await h.vault.people.setRoleAsOperator(bEmail, 'admin', name);
      expect(back).toMatchObject({ email: bEmail, role: 'admin', account: name });
      expect((await h.call('GET', '/api/v1/users', { token: b.token })).status).toBe(200);
      const events = (await h.call('GET', '/api/v1/audit?action=user.role_set', { token: a.token })).body.events;
      expect(events[0]).toMatchObject({ actor: { type: 'operator', name: 'operator' }, detail: { email: bEmail, role: 'admin' } });
    });

    it('the operator resets a password on storage: one-time, the user\'s sessions end, audited as the operator', async () => {
      const user = await signedInUser('admin');
      const reset = await h.vault.passwords.resetPasswordAsOperator(user.email.toUpperCase());
      shown.push(reset.password);
      expect(reset).toMatchObject({ email: user.email, account: 'default' });
      expect(reset.password).toMatch(ONE_TIME_SHAPE);
      expect((await asSession(user.session, 'GET', '/api/v1/agents')).status).toBe(401);
      expect((await login(user.email, reset.password)).body.passwordChangeRequired).toBe(true);
      await expect(h.vault.passwords.resetPasswordAsOperator(user.email, 'another')).rejects.toMatchObject({ code: 'not_found' });
      await expect(h.vault.passwords.resetPasswordAsOperator('nobody@example.com')).rejects.toMatchObject({ code: 'not_found' });
      const events = (await h.call('GET', '/api/v1/audit?action=user.password_reset', { token: admin })).body.events;
      expect(events[0]).toMatchObject({ actor: { type: 'operator' }, detail: { email: user.email } });
    });
  });
});
