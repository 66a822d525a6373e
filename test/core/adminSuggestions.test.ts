/**
 * "Did you mean" on the admin side: a mistyped secret or agent in the management API names the near
 * one of the account (an admin may see every name of the account), as run-time reads do for agents.
 * Never a name of another account, never for a caller who may not see the names, and nothing stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { DATABASES } from '../support/stores.js';

describe.each(DATABASES)('admin-side suggestions over %s', (kind) => {
  let h: Harness;
  let other: { token: string };
  let member = '';

  beforeAll(async () => {
    h = await startHarness(kind);
    const token = h.admin.token;
    await h.agentWithKey(token, 'booking');
    await h.agentWithKey(token, 'support');
    expect((await h.call('POST', '/api/v1/secrets', { token, body: { name: 'stripe_api_key', value: 'CANARY-admin-suggest-1', agents: ['booking'] } })).status).toBe(201);
    expect((await h.call('POST', '/api/v1/secrets', { token, body: { name: 'Partner.OAuth', value: { client_id: 'CANARY-admin-suggest-2' } } })).status).toBe(201);
    // Another account's names are nearer still to the typos below: they must never be suggested.
    other = await h.newAccount('other');
    await h.agentWithKey(other.token, 'bookinh');
    expect((await h.call('POST', '/api/v1/secrets', { token: other.token, body: { name: 'strpe_api_kez', value: 'CANARY-admin-suggest-3' } })).status).toBe(201);
    const added = await h.call('POST', '/api/v1/users', { token, body: { email: 'member@example.com', role: 'member', password: 'member password 1234' } });
    expect(added.status).toBe(201);
    const login = await fetch(`${h.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'member@example.com', password: 'member password 1234' }) });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const { csrfToken } = (await login.json()) as { csrfToken: string };
    const made = await fetch(`${h.url}/api/v1/tokens`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrfToken, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'm' }) });
    member = ((await made.json()) as { token: string }).token;
  });
  afterAll(async () => h?.close());

  const as = (token: string) => (method: string, path: string, body?: unknown) => h.call(method, path, { token, ...(body === undefined ? {} : { body }) });

  it('a mistyped secret on every route that names one says "did you mean" with the account\'s name', async () => {
    const admin = as(h.admin.token);
    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/api/v1/secrets/strpe_api_key'],
      ['PATCH', '/api/v1/secrets/strpe_api_key', { description: 'x' }],
      ['POST', '/api/v1/secrets/strpe_api_key/reveal', {}],
      ['GET', '/api/v1/secrets/strpe_api_key/versions'],
      ['GET', '/api/v1/secrets/strpe_api_key/access'],
      ['PUT', '/api/v1/secrets/strpe_api_key/access', { agents: [] }],
      ['POST', '/api/v1/secrets/strpe_api_key/versions/1/restore'],
      ['DELETE', '/api/v1/secrets/strpe_api_key'],
    ];
    for (const [method, path, body] of routes) {
      const answer = await admin(method, path, body);
      expect(answer.status, `${method} ${path}`).toBe(404);
      expect(answer.body.error, `${method} ${path}`).toEqual({ code: 'not_found', message: 'No secret named "strpe_api_key" in this account. Did you mean "stripe_api_key"?', field: 'name' });
    }
    // Case and two edits, across the name's separators; the suggestion keeps the stored spelling.
    expect((await admin('GET', '/api/v1/secrets/partner.oauht')).body.error.message).toBe('No secret named "partner.oauht" in this account. Did you mean "Partner.OAuth"?');
    // Far from every name: no guess.
    expect((await admin('GET', '/api/v1/secrets/github_token')).body.error.message).toBe('No secret named "github_token" in this account.');
    // Nothing was changed by the refused writes.
    expect((await admin('GET', '/api/v1/secrets/stripe_api_key')).body).toMatchObject({ version: 1, agentsWithAccess: 1, description: '' });
  });

  it('a mistyped agent in a path, a create or an access list says "did you mean"; nothing is stored', async () => {
    const admin = as(h.admin.token);
    const key = await admin('POST', '/api/v1/agents/bookin/keys', { name: 'k' });
    expect(key.status).toBe(404);
    expect(key.body.error).toEqual({ code: 'not_found', message: 'No agent "bookin" in this account. Did you mean "booking"?', field: 'agent' });
    expect((await admin('GET', '/api/v1/agents/Suport/secrets')).body.error.message).toBe('No agent "Suport" in this account. Did you mean "support"?');
    expect((await admin('PATCH', '/api/v1/agents/bookign', { name: 'x' })).body.error.message).toBe('No agent "bookign" in this account. Did you mean "booking"?');

    const created = await admin('POST', '/api/v1/secrets', { name: 'new_secret', value: 'CANARY-admin-suggest-4', agents: ['support', 'bookin'] });
    expect(created.status).toBe(400);
    expect(created.body.error).toEqual({ code: 'invalid_input', message: 'no agent "bookin" in this account (give an agent\'s name or id). Did you mean "booking"?', field: 'agents[1]' });
    expect((await admin('GET', '/api/v1/secrets/new_secret')).status).toBe(404);

    const granted = await admin('PUT', '/api/v1/secrets/stripe_api_key/access', { agents: ['booking', 'suport'] });
    expect(granted.status).toBe(400);
    expect(granted.body.error.message).toContain('Did you mean "support"?');
    expect((await admin('GET', '/api/v1/secrets/stripe_api_key/access')).body.agents.filter((a: { granted: boolean }) => a.granted).map((a: { agentName: string }) => a.agentName)).toEqual(['booking']);
    // An id that matches nothing is no typo of a name.
    expect((await admin('POST', '/api/v1/agents/agt_0123456789abcdef/keys', { name: 'k' })).body.error.message).toBe('No agent "agt_0123456789abcdef" in this account.');
  });

  it('hostile names get a plain 404 or 400, never a crash or a guess built from them', async () => {
    const admin = as(h.admin.token);
    for (const name of ["strpe_api_key'; drop table secrets; --", 'stripe_api_k%', 'ｓtripe_api_key', 'x'.repeat(4000), '\u202estripe_api_key']) {
      const answer = await admin('GET', `/api/v1/secrets/${encodeURIComponent(name)}`);
      expect([400, 404, 414], name.slice(0, 40)).toContain(answer.status);
      expect(answer.body.error.code).toMatch(/^(not_found|invalid_input|uri_too_long)$/);
    }
    // A lookalike (a fullwidth letter) is one edit from the real name, which is what the admin needs to see.
    expect((await admin('GET', `/api/v1/secrets/${encodeURIComponent('ｓtripe_api_key')}`)).body.error.message).toBe('No secret named "ｓtripe_api_key" in this account. Did you mean "stripe_api_key"?');
    // And the table the first name aimed at is still there.
    expect((await admin('GET', '/api/v1/secrets/stripe_api_key')).status).toBe(200);
  });

  it('never suggests a name of another account, nor shows names to a member', async () => {
    // The other account's admin mistypes toward this account's names: nothing of ours comes back.
    const theirs = as(other.token);
    expect((await theirs('GET', '/api/v1/secrets/stripe_api_kez')).body.error.message).toBe('No secret named "stripe_api_kez" in this account. Did you mean "strpe_api_kez"?');
    expect((await theirs('GET', '/api/v1/secrets/stripe_api_key')).body.error.message).toBe('No secret named "stripe_api_key" in this account. Did you mean "strpe_api_kez"?');
    expect((await theirs('POST', '/api/v1/agents/booking/keys', { name: 'k' })).body.error.message).toBe('No agent "booking" in this account. Did you mean "bookinh"?');
    // A member may not see secrets at all: refused before any lookup of names.
    const asMember = await as(member)('GET', '/api/v1/secrets/strpe_api_key');
    expect(asMember.status).toBe(403);
    expect(JSON.stringify(asMember.body)).not.toContain('stripe_api_key');
  });
});
