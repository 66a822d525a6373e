/** SPEC S14: the audit trail is tamper-evident; verify names the first altered, removed or reordered event. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AuditEventsTable } from '../../src/store/schema.js';
import { startHarness, type Harness } from '../support/harness.js';
import { DATABASES } from '../support/stores.js';

describe.each(DATABASES)('audit chain verification on %s', (kind) => {
  let h: Harness;
  let accountId: string;
  let pristine: AuditEventsTable[];

  beforeAll(async () => {
    h = await startHarness(kind);
    const agent = await h.agentWithKey(h.admin.token, 'reader');
    await h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { name: 'k', value: 'v', agents: ['reader'] } });
    for (let i = 0; i < 5; i++) await h.call('GET', '/runtime/v1/secrets/k', { token: agent.key });
    await h.vault.audit.flush();
    accountId = (await h.vault.store.db.selectFrom('accounts').select('id').where('name', '=', 'default').executeTakeFirstOrThrow()).id;
    pristine = await rows();
    expect(pristine.length).toBeGreaterThan(8);
  });
  afterAll(async () => h?.close());

  // Each test starts from the untouched chain.
  beforeEach(async () => {
    await h.vault.store.db.deleteFrom('audit_events').where('account_id', '=', accountId).execute();
    await h.vault.store.db.insertInto('audit_events').values(pristine).execute();
  });

  const db = () => h.vault.store.db;
  const rows = () => db().selectFrom('audit_events').selectAll().where('account_id', '=', accountId).orderBy('seq').execute();
  const verify = async () => (await h.call('GET', '/api/v1/audit/verify', { token: h.admin.token })).body;

  it('an untouched chain verifies', async () => {
    const report = await verify();
    expect(report).toMatchObject({ ok: true, checked: pristine.length, firstBroken: null });
    expect(report.head.seq).toBe(pristine.length);
  });

  it('names an altered event', async () => {
    await db().updateTable('audit_events').set({ outcome: 'denied' }).where('account_id', '=', accountId).where('seq', '=', 6).execute();
    expect((await verify()).firstBroken).toMatchObject({ seq: 6, reason: 'altered' });
  });

  it('names a removed event', async () => {
    await db().deleteFrom('audit_events').where('account_id', '=', accountId).where('seq', '=', 4).execute();
    const report = await verify();
    expect(report.ok).toBe(false);
    expect(report.firstBroken).toMatchObject({ seq: 4, reason: 'missing' });
    expect(report.checked).toBe(3);
  });

  it('names reordered events', async () => {
    await db().updateTable('audit_events').set({ seq: -1 }).where('account_id', '=', accountId).where('seq', '=', 5).execute();
    await db().updateTable('audit_events').set({ seq: 5 }).where('account_id', '=', accountId).where('seq', '=', 6).execute();
    await db().updateTable('audit_events').set({ seq: 6 }).where('account_id', '=', accountId).where('seq', '=', -1).execute();
    expect((await verify()).firstBroken).toMatchObject({ seq: 5, reason: 'out_of_order' });
  });

  it('finds events removed from the end through the chain head', async () => {
    await db().deleteFrom('audit_events').where('account_id', '=', accountId).where('seq', '>', pristine.length - 2).execute();
    expect((await verify()).firstBroken).toMatchObject({ seq: pristine.length - 1, reason: 'truncated' });
  });

  it('finds a whole event rewritten with a recomputed hash, through its own signature or the link of the next one', async () => {
    const { chainHash } = await import('../../src/domain/audit.js');
    const target = pristine[2];
    if (!target) throw new Error('fixture');
    const forged = { ...target, actor_name: 'someone else' };
    const { prev_hash, hash: _old, ...record } = forged;
    await db().updateTable('audit_events').set({ actor_name: forged.actor_name, hash: chainHash(prev_hash, record) }).where('account_id', '=', accountId).where('seq', '=', target.seq).execute();
    // A signed head fails its own signature; any other event breaks the link of the one after it.
    expect((await verify()).firstBroken).toMatchObject(target.signature ? { seq: target.seq, reason: 'bad_signature' } : { seq: target.seq + 1, reason: 'out_of_order' });
  });

  it('exports the chain as JSON lines that recompute to the same hashes, after a header naming the account and its public key', async () => {
    const response = await fetch(`${h.url}/api/v1/audit/export`, { headers: { authorization: `Bearer ${h.admin.token}` } });
    expect(response.headers.get('content-type')).toContain('application/x-ndjson');
    const [header, ...lines] = (await response.text()).trim().split('\n').map((line) => JSON.parse(line) as AuditEventsTable & Record<string, unknown>);
    expect(header).toMatchObject({ export: 'agent-secrets audit export v1', account_id: accountId, public_key: expect.stringContaining('BEGIN PUBLIC KEY') });
    expect(lines.map((e) => e.seq)).toEqual(pristine.map((e) => e.seq));
    expect(lines[lines.length - 1]?.hash).toBe((await verify()).head.hash);
  });

  it('refuses verify, export, the public key and the signed head to members', async () => {
    await h.call('POST', '/api/v1/users', { token: h.admin.token, body: { email: `m${kind}@example.com`, role: 'member', password: 'member password 1' } }).catch(() => undefined);
    const member = await h.vault.people.login(`m${kind}@example.com`, 'member password 1');
    const token = (await h.vault.people.createToken(member.caller, 't')).token;
    expect((await h.call('GET', '/api/v1/audit/verify', { token })).status).toBe(403);
    expect((await h.call('GET', '/api/v1/audit/export', { token })).status).toBe(403);
    expect((await h.call('GET', '/api/v1/audit/public-key', { token })).status).toBe(403);
    expect((await h.call('GET', '/api/v1/audit/head', { token })).status).toBe(403);
  });
});
