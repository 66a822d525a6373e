/**
 * Names that could not be managed, or that shadow something else, are refused when they are made; a
 * run-time name no secret can have is refused before anything is audited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { DATABASES } from '../support/stores.js';

describe.each(DATABASES)('names on %s', (kind) => {
  let h: Harness;
  let admin = '';
  let agent: { id: string; key: string };

  beforeAll(async () => {
    h = await startHarness(kind);
    admin = h.admin.token;
    agent = await h.agentWithKey(admin, 'booking');
  });
  afterAll(async () => h?.close());

  it.each(['.', '..'])('a secret named %j is refused with 400 naming the rule, and nothing is stored', async (name) => {
    const created = await h.call('POST', '/api/v1/secrets', { token: admin, body: { name, value: 'v' } });
    expect(created.status).toBe(400);
    expect(created.body.error).toMatchObject({ code: 'invalid_input', field: 'name' });
    expect(created.body.error.message).toContain('other than "." and ".."');
    const list = await h.call('GET', '/api/v1/secrets', { token: admin });
    expect(list.body.secrets.map((s: { name: string }) => s.name)).not.toContain(name);
  });

  it('names with dots and letters stay allowed', async () => {
    expect((await h.call('POST', '/api/v1/secrets', { token: admin, body: { name: '...x', value: 'v' } })).status).toBe(201);
    expect((await h.call('POST', '/api/v1/secrets', { token: admin, body: { name: 'a.b', value: 'v' } })).status).toBe(201);
  });

  it('an agent named like an agent id is refused on create and on rename, so it cannot shadow that agent', async () => {
    for (const name of [agent.id, 'agt_0123456789abcdef', 'AGT_0123456789ABCDEF']) {
      const created = await h.call('POST', '/api/v1/agents', { token: admin, body: { name } });
      expect(created.status, name).toBe(400);
      expect(created.body.error).toMatchObject({ code: 'invalid_input', field: 'name' });
      expect(created.body.error.message).toContain('agent id');
      const renamed = await h.call('PATCH', '/api/v1/agents/booking', { token: admin, body: { name } });
      expect(renamed.status, name).toBe(400);
    }
    expect((await h.call('GET', `/api/v1/agents/${agent.id}`, { token: admin })).body.name).toBe('booking');
    expect((await h.call('POST', '/api/v1/agents', { token: admin, body: { name: 'agt_helper' } })).status).toBe(201);
  });

  const auditCount = async () => (await h.call('GET', '/api/v1/audit?action=secret.read&limit=1000', { token: admin })).body.events.length as number;

  it('a run-time name that fails the name rule is refused before it is audited, also while the vault is off', async () => {
    const before = await auditCount();
    for (const name of ['bad%20name', '..%2F..', 'x'.repeat(129), '%E2%80%AE']) {
      const answer = await h.call('GET', `/runtime/v1/secrets/${name}`, { token: agent.key });
      expect(answer.status, name).toBe(400);
      expect(answer.body.error.field).toBe('name');
    }
    await h.vault.accounts.setVault('default', false);
    try {
      const answer = await h.call('GET', '/runtime/v1/secrets/bad%20name', { token: agent.key });
      expect(answer.status).toBe(400);
      expect(answer.body.error.field).toBe('name');
    } finally {
      await h.vault.accounts.setVault('default', true);
    }
    await h.vault.audit.flush();
    expect(await auditCount()).toBe(before);
  });
});
