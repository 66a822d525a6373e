import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { DATABASES } from '../support/stores.js';

const CANARY = 'CANARY-secrets-7f3a9c';

describe.each(DATABASES)('secrets, access lists and run-time reads on %s', (kind) => {
  let h: Harness;
  let admin: string;
  let booking: { id: string; key: string };
  let support: { id: string; key: string };

  beforeAll(async () => {
    h = await startHarness(kind);
    admin = h.admin.token;
    booking = await h.agentWithKey(admin, 'booking');
    support = await h.agentWithKey(admin, 'support');
  });
  afterAll(async () => {
    // No response body, log line or audit event of this suite may carry a value.
    expect(h.logLines.join('\n')).not.toContain(CANARY);
    await h?.close();
  });

  const read = (key: string, name: string) => h.call('GET', `/runtime/v1/secrets/${encodeURIComponent(name)}`, { token: key });
  const create = (body: unknown) => h.call('POST', '/api/v1/secrets', { token: admin, body });
  const secretCount = async () => (await h.call('GET', '/api/v1/secrets', { token: admin })).body.total as number;

  describe('S1 create', () => {
    it('creates a single-value secret granted to the chosen agents, readable at once', async () => {
      const created = await create({ name: 'stripe_api_key', description: 'Stripe live key', value: `${CANARY}-1`, agents: ['booking'] });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ name: 'stripe_api_key', kind: 'single', version: 1, agentsWithAccess: 1, description: 'Stripe live key' });
      expect(JSON.stringify(created.body)).not.toContain(CANARY);
      expect((await read(booking.key, 'stripe_api_key')).body).toEqual({ name: 'stripe_api_key', kind: 'single', version: 1, value: `${CANARY}-1`, environment: 'live', source: 'default' });
    });

    it('creates a key/value secret that reads back as an object', async () => {
      const created = await create({ name: 'oauth_client', value: { client_id: 'id-123', client_secret: `${CANARY}-kv` }, agents: [booking.id] });
      expect(created.body).toMatchObject({ kind: 'kv', keys: ['client_id', 'client_secret'] });
      expect((await read(booking.key, 'oauth_client')).body.value).toEqual({ client_id: 'id-123', client_secret: `${CANARY}-kv` });
    });

    it.each([
      ['name missing', { value: 'x' }, 'name'],
      ['name with a space', { name: 'has space', value: 'x' }, 'name'],
      ['name of 129 characters', { name: 'a'.repeat(129), value: 'x' }, 'name'],
      ['name not a string', { name: 42, value: 'x' }, 'name'],
      ['value missing', { name: 'v_missing' }, 'value'],
      ['empty value', { name: 'v_empty', value: '' }, 'value'],
      ['value over 64 KiB', { name: 'v_big', value: 'x'.repeat(65537) }, 'value'],
      ['value a number', { name: 'v_num', value: 12 }, 'value'],
      ['value a list', { name: 'v_list', value: ['a'] }, 'value'],
      ['key/value with no keys', { name: 'v_nokeys', value: {} }, 'value'],
      ['key/value with 101 keys', { name: 'v_many', value: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, 'v'])) }, 'value'],
      ['key/value with a bad key', { name: 'v_badkey', value: { 'bad key': 'v' } }, 'value.bad key'],
      ['key/value with a non-string value', { name: 'v_nested', value: { client_id: { nested: true } } }, 'value.client_id'],
      ['key/value with keys equal ignoring case', { name: 'v_case', value: { Token: 'a', token: 'b' } }, 'value.token'],
      ['key/value over 64 KiB in all', { name: 'v_kvbig', value: { a: 'x'.repeat(40000), b: 'y'.repeat(30000) } }, 'value'],
      ['description not a string', { name: 'v_desc', value: 'x', description: 5 }, 'description'],
      ['unknown field', { name: 'v_extra', value: 'x', colour: 'red' }, 'body'],
      ['agents not a list', { name: 'v_agents', value: 'x', agents: 'booking' }, 'agents'],
      ['unknown agent', { name: 'v_ghost', value: 'x', agents: ['booking', 'ghost'] }, 'agents[1]'],
    ])('refuses %s with 400 naming the field, storing nothing', async (_label, body, field) => {
      const before = await secretCount();
      const response = await create(body);
      expect(response.status).toBe(400);
      expect(response.body.error).toMatchObject({ code: 'invalid_input', field });
      expect(response.body.error.message.length).toBeGreaterThan(5);
      expect(await secretCount()).toBe(before);
    });

    it('accepts a value of exactly 64 KiB and a 128-character name', async () => {
      expect((await create({ name: 'n'.repeat(128), value: 'x'.repeat(65536) })).status).toBe(201);
    });

    it('refuses a body that is not JSON, or too large, with 4xx', async () => {
      const notJson = await h.call('POST', '/api/v1/secrets', { token: admin, rawBody: '{"name": ', headers: { 'content-type': 'application/json' } });
      expect(notJson.status).toBe(400);
      expect(notJson.body.error.code).toBe('invalid_input');
      const huge = await h.call('POST', '/api/v1/secrets', { token: admin, body: { name: 'huge', value: 'x'.repeat(2 * 1024 * 1024) } });
      expect(huge.status).toBe(413);
      expect(huge.body.error.code).toBe('payload_too_large');
    });

    it('refuses a duplicate name, ignoring case, with 409', async () => {
      const response = await create({ name: 'STRIPE_API_KEY', value: 'other' });
      expect(response.status).toBe(409);
      expect(response.body.error).toMatchObject({ code: 'name_taken', field: 'name' });
    });
  });

  describe('S2 list', () => {
    it('lists facts, key names and access counts, never values', async () => {
      const list = await h.call('GET', '/api/v1/secrets', { token: admin });
      expect(list.status).toBe(200);
      expect(JSON.stringify(list.body)).not.toContain(CANARY);
      const oauth = list.body.secrets.find((s: { name: string }) => s.name === 'oauth_client');
      expect(oauth).toMatchObject({ kind: 'kv', keys: ['client_id', 'client_secret'], agentsWithAccess: 1, createdBy: 'admin@example.com' });
    });

    it('searches by name and pages by name', async () => {
      for (let i = 0; i < 5; i++) await create({ name: `page_${i}`, value: 'v' });
      const first = await h.call('GET', '/api/v1/secrets?search=page_&limit=2', { token: admin });
      expect(first.body.secrets.map((s: { name: string }) => s.name)).toEqual(['page_0', 'page_1']);
      expect(first.body.total).toBe(5);
      const second = await h.call('GET', `/api/v1/secrets?search=page_&limit=2&after=${first.body.next}`, { token: admin });
      expect(second.body.secrets.map((s: { name: string }) => s.name)).toEqual(['page_2', 'page_3']);
      const last = await h.call('GET', `/api/v1/secrets?search=page_&limit=2&after=${second.body.next}`, { token: admin });
      expect(last.body.secrets.map((s: { name: string }) => s.name)).toEqual(['page_4']);
      expect(last.body.next).toBeNull();
    });

    it('treats % and _ in a search as plain characters', async () => {
      const response = await h.call('GET', `/api/v1/secrets?search=${encodeURIComponent('%')}`, { token: admin });
      expect(response.body.secrets).toEqual([]);
    });

    it('refuses a bad paging limit with 400 naming it', async () => {
      const response = await h.call('GET', '/api/v1/secrets?limit=0', { token: admin });
      expect(response.status).toBe(400);
      expect(response.body.error.field).toBe('limit');
    });
  });

  describe('S4 rotation and versions', () => {
    it('a new value is a new version, current for the very next read', async () => {
      await create({ name: 'rotating', value: `${CANARY}-v1`, agents: ['booking'] });
      expect((await read(booking.key, 'rotating')).body.value).toBe(`${CANARY}-v1`);
      const patched = await h.call('PATCH', '/api/v1/secrets/rotating', { token: admin, body: { value: `${CANARY}-v2` } });
      expect(patched.body.version).toBe(2);
      expect((await read(booking.key, 'rotating')).body).toMatchObject({ version: 2, value: `${CANARY}-v2` });
    });

    it('lists versions without values and restores an old one as a new version', async () => {
      const versions = await h.call('GET', '/api/v1/secrets/rotating/versions', { token: admin });
      expect(versions.body.versions.map((v: { version: number; current: boolean }) => [v.version, v.current])).toEqual([
        [2, true],
        [1, false],
      ]);
      expect(JSON.stringify(versions.body)).not.toContain(CANARY);
      const restored = await h.call('POST', '/api/v1/secrets/rotating/versions/1/restore', { token: admin });
      expect(restored.body.version).toBe(3);
      expect((await read(booking.key, 'rotating')).body).toMatchObject({ version: 3, value: `${CANARY}-v1` });
      const after = await h.call('GET', '/api/v1/secrets/rotating/versions', { token: admin });
      expect(after.body.versions[0]).toMatchObject({ version: 3, restoredFrom: 1, current: true });
    });

    it('a value can change kind, from single to key/value', async () => {
      await h.call('PATCH', '/api/v1/secrets/rotating', { token: admin, body: { value: { user: 'u', password: `${CANARY}-pw` } } });
      expect((await read(booking.key, 'rotating')).body).toMatchObject({ kind: 'kv', value: { user: 'u', password: `${CANARY}-pw` } });
    });

    it('edits the description alone without a new version', async () => {
      const patched = await h.call('PATCH', '/api/v1/secrets/rotating', { token: admin, body: { description: 'now documented' } });
      expect(patched.body).toMatchObject({ description: 'now documented', version: 4 });
    });

    it('refuses an empty change, an unknown version and a bad version number', async () => {
      expect((await h.call('PATCH', '/api/v1/secrets/rotating', { token: admin, body: {} })).body.error.code).toBe('invalid_input');
      expect((await h.call('POST', '/api/v1/secrets/rotating/versions/99/restore', { token: admin })).status).toBe(404);
      const bad = await h.call('POST', '/api/v1/secrets/rotating/versions/abc/restore', { token: admin });
      expect(bad.status).toBe(400);
      expect(bad.body.error.field).toBe('version');
    });

    it('reveals the current or an older value to an admin', async () => {
      const current = await h.call('POST', '/api/v1/secrets/rotating/reveal', { token: admin, body: {} });
      expect(current.body.value).toEqual({ user: 'u', password: `${CANARY}-pw` });
      expect(current.headers.get('cache-control')).toBe('no-store');
      const old = await h.call('POST', '/api/v1/secrets/rotating/reveal', { token: admin, body: { version: 2 } });
      expect(old.body).toMatchObject({ version: 2, value: `${CANARY}-v2` });
    });
  });

  describe('S5 delete', () => {
    it('every read fails with SecretNotFound from the moment of deletion; the audit trail stays', async () => {
      await create({ name: 'doomed', value: `${CANARY}-doomed`, agents: ['booking'] });
      expect((await read(booking.key, 'doomed')).status).toBe(200);
      expect((await h.call('DELETE', '/api/v1/secrets/doomed', { token: admin })).status).toBe(204);
      const after = await read(booking.key, 'doomed');
      expect(after.status).toBe(404);
      expect(after.body.error.code).toBe('SecretNotFound');
      const audit = await h.call('GET', '/api/v1/audit?secret=doomed', { token: admin });
      expect(audit.body.events.map((e: { action: string; outcome: string }) => `${e.action}:${e.outcome}`)).toEqual([
        'secret.read:not_found',
        'secret.delete:success',
        'secret.read:success',
        'secret.access_set:success',
        'secret.create:success',
      ]);
      // The name is free again.
      expect((await create({ name: 'doomed', value: 'reborn' })).status).toBe(201);
    });
  });

  describe('S6/S7 access lists', () => {
    it('shows every agent of the account, checked where it has access', async () => {
      const access = await h.call('GET', '/api/v1/secrets/stripe_api_key/access', { token: admin });
      expect(access.body.agents.map((a: { agentName: string; granted: boolean }) => [a.agentName, a.granted])).toEqual([
        ['booking', true],
        ['support', false],
      ]);
    });

    it('replaces the list in one step, holding from the very next read', async () => {
      const set = await h.call('PUT', '/api/v1/secrets/stripe_api_key/access', { token: admin, body: { agents: ['support'] } });
      expect(set.status).toBe(200);
      expect(set.body.agents.filter((a: { granted: boolean }) => a.granted).map((a: { agentName: string }) => a.agentName)).toEqual(['support']);
      const revoked = await read(booking.key, 'stripe_api_key');
      expect(revoked.status).toBe(403);
      expect(revoked.body.error.code).toBe('MissingAccess');
      expect(revoked.body.error.message).toContain('booking');
      expect(revoked.body.error.message).toContain('stripe_api_key');
      expect((await read(support.key, 'stripe_api_key')).status).toBe(200);
      await h.call('PUT', '/api/v1/secrets/stripe_api_key/access', { token: admin, body: { agents: ['booking', 'support'] } });
      expect((await read(booking.key, 'stripe_api_key')).status).toBe(200);
    });

    it('alternating revoke and grant is seen by every following read', async () => {
      for (let i = 0; i < 10; i++) {
        const agents = i % 2 === 0 ? [] : ['booking'];
        await h.call('PUT', '/api/v1/secrets/stripe_api_key/access', { token: admin, body: { agents } });
        expect((await read(booking.key, 'stripe_api_key')).status).toBe(i % 2 === 0 ? 403 : 200);
      }
    });

    it('records when each agent last read the secret', async () => {
      const access = await h.call('GET', '/api/v1/secrets/stripe_api_key/access', { token: admin });
      const bookingRow = access.body.agents.find((a: { agentName: string }) => a.agentName === 'booking');
      expect(bookingRow.lastReadAt).toMatch(/^\d{4}-\d\d-\d\dT/);
      const secret = await h.call('GET', '/api/v1/secrets/stripe_api_key', { token: admin });
      expect(secret.body.lastReadAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    });

    it('deleting an agent removes its grants; its key stops working at once', async () => {
      const temp = await h.agentWithKey(admin, 'temporary');
      await h.call('PUT', '/api/v1/secrets/stripe_api_key/access', { token: admin, body: { agents: ['booking', 'temporary'] } });
      expect((await read(temp.key, 'stripe_api_key')).status).toBe(200);
      expect((await h.call('DELETE', `/api/v1/agents/temporary`, { token: admin })).status).toBe(204);
      expect((await read(temp.key, 'stripe_api_key')).status).toBe(401);
    });
  });

  describe('S9/S10 run-time errors', () => {
    it('SecretNotFound names the secret and the agent and suggests a readable name that differs in case', async () => {
      const response = await read(booking.key, 'Stripe_API_Key');
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe('SecretNotFound');
      expect(response.body.error.message).toContain('"Stripe_API_Key"');
      expect(response.body.error.message).toContain('"booking"');
      expect(response.body.error.message).toContain('Did you mean "stripe_api_key"?');
    });

    it('suggests a name two edits away, and never a name the agent cannot read', async () => {
      expect((await read(booking.key, 'stripe_apikey')).body.error.message).toContain('Did you mean "stripe_api_key"?');
      await create({ name: 'hidden_token', value: 'x' });
      const response = await read(booking.key, 'hidden_tokn');
      expect(response.body.error.code).toBe('SecretNotFound');
      expect(response.body.error.message).not.toContain('Did you mean');
    });

    it('refuses an invalid name with 400 after the key is checked', async () => {
      const response = await read(booking.key, 'no spaces allowed');
      expect(response.status).toBe(400);
      expect(response.body.error.field).toBe('name');
    });

    it('lists the names and kinds an agent can read, never values', async () => {
      const response = await h.call('GET', '/runtime/v1/secrets', { token: booking.key });
      expect(response.body.agent).toBe('booking');
      expect(response.body.secrets.map((s: { name: string }) => s.name)).toEqual(expect.arrayContaining(['oauth_client', 'stripe_api_key']));
      expect(response.body.secrets.map((s: { name: string }) => s.name)).not.toContain('hidden_token');
      expect(JSON.stringify(response.body)).not.toContain(CANARY);
    });

    it('a revoked agent key gets 401 on the next call', async () => {
      const agent = await h.agentWithKey(admin, 'revokable');
      await h.call('PUT', '/api/v1/secrets/stripe_api_key/access', { token: admin, body: { agents: ['booking', 'revokable'] } });
      expect((await read(agent.key, 'stripe_api_key')).status).toBe(200);
      expect((await h.call('DELETE', `/api/v1/agents/revokable/keys/${agent.keyId}`, { token: admin })).status).toBe(204);
      const after = await read(agent.key, 'stripe_api_key');
      expect(after.status).toBe(401);
      expect(after.body.error.code).toBe('unauthenticated');
    });

    it('an agent of an account whose vault is disabled gets 403 vault_not_enabled', async () => {
      await h.vault.accounts.setVault('default', false);
      try {
        const response = await read(booking.key, 'oauth_client');
        expect(response.status).toBe(403);
        expect(response.body.error.code).toBe('vault_not_enabled');
      } finally {
        await h.vault.accounts.setVault('default', true);
      }
    });
  });
});
