import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENESIS_HASH, chainHash } from '../../src/domain/audit.js';
import { startHarness, type Harness } from '../support/harness.js';
import { DATABASES } from '../support/stores.js';

const CANARY = 'CANARY-audit-2b7e15';

describe.each(DATABASES)('audit trail on %s', (kind) => {
  let h: Harness;
  let admin: string;
  let agent: { id: string; key: string };

  beforeAll(async () => {
    h = await startHarness(kind);
    admin = h.admin.token;
    agent = await h.agentWithKey(admin, 'reader');
    await h.agentWithKey(admin, 'bystander');
  });
  afterAll(async () => h?.close());

  const events = async (query = '') => (await h.call('GET', `/api/v1/audit?limit=1000${query}`, { token: admin })).body.events as Array<Record<string, any>>;

  it('records every change and every granted and refused read, with actor, version, agent, outcome and UTC time', async () => {
    await h.call('POST', '/api/v1/secrets', { token: admin, body: { name: 'api_key', value: `${CANARY}-1`, agents: ['reader'] } });
    await h.call('GET', '/runtime/v1/secrets/api_key', { token: agent.key });
    await h.call('PATCH', '/api/v1/secrets/api_key', { token: admin, body: { value: `${CANARY}-2`, description: 'd' } });
    await h.call('POST', '/api/v1/secrets/api_key/reveal', { token: admin, body: {} });
    await h.call('PUT', '/api/v1/secrets/api_key/access', { token: admin, body: { agents: ['bystander'] } });
    await h.call('GET', '/runtime/v1/secrets/api_key', { token: agent.key });
    await h.call('GET', '/runtime/v1/secrets/missing_one', { token: agent.key });
    await h.call('POST', '/api/v1/secrets/api_key/versions/1/restore', { token: admin });
    await h.call('DELETE', '/api/v1/secrets/api_key', { token: admin });

    const trail = (await events('&secret=api_key')).reverse();
    expect(trail.map((e) => [e.action, e.outcome, e.version, e.agent, e.actor.name])).toEqual([
      ['secret.create', 'success', 1, null, 'admin@example.com'],
      ['secret.access_set', 'success', null, null, 'admin@example.com'],
      ['secret.read', 'success', 1, 'reader', 'reader'],
      ['secret.value_set', 'success', 2, null, 'admin@example.com'],
      ['secret.description_set', 'success', null, null, 'admin@example.com'],
      ['secret.reveal', 'success', 2, null, 'admin@example.com'],
      ['secret.access_set', 'success', null, null, 'admin@example.com'],
      ['secret.read', 'denied', 2, 'reader', 'reader'],
      ['secret.restore', 'success', 3, null, 'admin@example.com'],
      ['secret.delete', 'success', 3, null, 'admin@example.com'],
    ]);
    for (const event of trail) expect(event.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const accessChange = trail[6];
    expect(accessChange?.detail).toEqual({ agents: ['bystander'], granted: ['bystander'], revoked: ['reader'] });
    expect((await events('&secret=missing_one'))[0]).toMatchObject({ action: 'secret.read', outcome: 'not_found', agent: 'reader' });
  });

  it('never holds a value', async () => {
    const rows = await h.vault.store.db.selectFrom('audit_events').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(CANARY);
  });

  it('filters by secret, agent, actor, action, outcome and time', async () => {
    expect((await events('&agent=reader')).every((e) => e.agent === 'reader')).toBe(true);
    expect((await events('&actor=reader')).every((e) => e.actor.name === 'reader')).toBe(true);
    expect((await events('&action=secret.reveal')).map((e) => e.action)).toEqual(['secret.reveal']);
    expect((await events('&outcome=denied')).map((e) => e.outcome)).toEqual(['denied']);
    const all = await events();
    const oldest = all[all.length - 1]?.at as string;
    expect(await events(`&until=${encodeURIComponent(oldest)}`)).toEqual([]);
    expect((await events(`&since=${encodeURIComponent('2000-01-01T00:00:00Z')}`)).length).toBe(all.length);
    const bad = await h.call('GET', '/api/v1/audit?since=yesterday', { token: admin });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('since');
  });

  it('pages backwards from the newest event', async () => {
    const first = await h.call('GET', '/api/v1/audit?limit=3', { token: admin });
    const second = await h.call('GET', `/api/v1/audit?limit=3&before=${first.body.next}`, { token: admin });
    const seqs = [...first.body.events, ...second.body.events].map((e: { seq: number }) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    expect(new Set(seqs).size).toBe(6);
  });

  it('group-commits concurrent reads into one valid hash chain, one event per read', async () => {
    await h.call('POST', '/api/v1/secrets', { token: admin, body: { name: 'busy', value: 'v', agents: ['reader'] } });
    const before = (await events('&secret=busy&action=secret.read')).length;
    const answers = await Promise.all(Array.from({ length: 60 }, () => h.call('GET', '/runtime/v1/secrets/busy', { token: agent.key })));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect((await events('&secret=busy&action=secret.read')).length - before).toBe(60);

    const account = await h.vault.store.db.selectFrom('accounts').select('id').where('name', '=', 'default').executeTakeFirstOrThrow();
    const chain = await h.vault.store.db.selectFrom('audit_events').selectAll().where('account_id', '=', account.id).orderBy('seq').execute();
    let prev = GENESIS_HASH;
    chain.forEach((event, index) => {
      expect(event.seq).toBe(index + 1);
      expect(event.prev_hash).toBe(prev);
      const { prev_hash: _p, hash, ...record } = event;
      expect(chainHash(prev, record)).toBe(hash);
      prev = hash;
    });
    const head = await h.vault.store.db.selectFrom('audit_heads').selectAll().where('account_id', '=', account.id).executeTakeFirstOrThrow();
    expect(head).toMatchObject({ seq: chain.length, hash: prev });
  });

  it('fails closed: when the audit trail cannot be written, reads answer 503 with no value, and recover by themselves', async () => {
    await h.call('POST', '/api/v1/secrets', { token: admin, body: { name: 'guarded', value: `${CANARY}-guarded`, agents: ['reader'] } });
    await sql`ALTER TABLE audit_events RENAME TO audit_events_away`.execute(h.vault.store.db);
    try {
      const refused = await h.call('GET', '/runtime/v1/secrets/guarded', { token: agent.key });
      expect(refused.status).toBe(503);
      expect(refused.body.error.code).toBe('audit_unavailable');
      expect(JSON.stringify(refused.body)).not.toContain(CANARY);
    } finally {
      await sql`ALTER TABLE audit_events_away RENAME TO audit_events`.execute(h.vault.store.db);
    }
    const recovered = await h.call('GET', '/runtime/v1/secrets/guarded', { token: agent.key });
    expect(recovered.status).toBe(200);
    expect(recovered.body.value).toBe(`${CANARY}-guarded`);
    expect(h.logLines.join('')).toContain('audit batch could not be written');
    expect(h.logLines.join('')).not.toContain(CANARY);
  });

  it('a change whose audit event cannot be written is not made either', async () => {
    await sql`ALTER TABLE audit_events RENAME TO audit_events_away`.execute(h.vault.store.db);
    try {
      const refused = await h.call('PATCH', '/api/v1/secrets/guarded', { token: admin, body: { value: 'never stored' } });
      expect(refused.status).toBe(500);
    } finally {
      await sql`ALTER TABLE audit_events_away RENAME TO audit_events`.execute(h.vault.store.db);
    }
    expect((await h.call('GET', '/api/v1/secrets/guarded', { token: admin })).body.version).toBe(1);
  });
});
