/**
 * A stored value whose ciphertext does not open (bytes altered in the database, or a row copied from
 * another secret) is never answered: the read, reveal or restore is refused with 500
 * secret_unreadable and no value, and the failed attempt is in the audit trail.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { DATABASES } from '../support/stores.js';

const CANARY = 'CANARY-unreadable-8b2f';

describe.each(DATABASES)('a ciphertext that does not open, on %s', (kind) => {
  let h: Harness;
  let admin: string;
  let agent: { id: string; key: string };

  beforeAll(async () => {
    h = await startHarness(kind);
    admin = h.admin.token;
    agent = await h.agentWithKey(admin, 'reader');
    for (const name of ['flipped', 'moved', 'source']) {
      const created = await h.call('POST', '/api/v1/secrets', { token: admin, body: { name, value: `${CANARY}-${name}`, agents: ['reader'] } });
      expect(created.status).toBe(201);
    }
    // Version 2 of "flipped" is intact; version 1 is damaged below, for the restore.
    await h.call('PATCH', '/api/v1/secrets/flipped', { token: admin, body: { value: `${CANARY}-flipped-2` } });
  });
  afterAll(async () => {
    expect(h.logLines.join('\n')).not.toContain(CANARY);
    await h?.close();
  });

  const db = () => h.vault.store.db;
  const secretId = async (name: string) => (await db().selectFrom('secrets').select('id').where('name', '=', name).executeTakeFirstOrThrow()).id;
  const stored = async (name: string, version: number) =>
    db().selectFrom('secret_versions').select(['ciphertext', 'data_key_id']).where('secret_id', '=', await secretId(name)).where('version', '=', version).executeTakeFirstOrThrow();
  async function overwrite(name: string, version: number, ciphertext: Buffer, dataKeyId: string) {
    await db().updateTable('secret_versions').set({ ciphertext, data_key_id: dataKeyId }).where('secret_id', '=', await secretId(name)).where('version', '=', version).execute();
  }
  const lastEvent = async () => (await h.call('GET', '/api/v1/audit?limit=1', { token: admin })).body.events[0];

  function expectRefusedWithoutValue(answer: { status: number; body: any }, name: string, version: number) {
    expect(answer.status).toBe(500);
    expect(answer.body.error.code).toBe('secret_unreadable');
    expect(answer.body.error.message).toContain(`Version ${version} of secret "${name}"`);
    expect(JSON.stringify(answer.body)).not.toContain(CANARY);
  }

  it('refuses a run-time read of bytes flipped in the database with 500 secret_unreadable, and audits it as failed', async () => {
    for (const version of [1, 2]) {
      const row = await stored('flipped', version);
      const bytes = Buffer.from(row.ciphertext);
      bytes[20] = (bytes[20] ?? 0) ^ 0x01;
      await overwrite('flipped', version, bytes, row.data_key_id);
    }
    const answer = await h.call('GET', '/runtime/v1/secrets/flipped', { token: agent.key });
    expectRefusedWithoutValue(answer, 'flipped', 2);
    expect(await lastEvent()).toMatchObject({ action: 'secret.read', secret: 'flipped', version: 2, agent: 'reader', outcome: 'failed', detail: { reason: 'integrity_check_failed' } });
  });

  it('refuses a reveal of it with 500 secret_unreadable, and audits it as failed', async () => {
    const answer = await h.call('POST', '/api/v1/secrets/flipped/reveal', { token: admin });
    expectRefusedWithoutValue(answer, 'flipped', 2);
    expect(await lastEvent()).toMatchObject({ action: 'secret.reveal', secret: 'flipped', version: 2, outcome: 'failed', actor: { type: 'user', name: 'admin@example.com' } });
  });

  it('refuses to restore a damaged version with 500 secret_unreadable, makes no version, and audits it as failed', async () => {
    const answer = await h.call('POST', '/api/v1/secrets/flipped/versions/1/restore', { token: admin });
    expectRefusedWithoutValue(answer, 'flipped', 1);
    expect(await lastEvent()).toMatchObject({ action: 'secret.restore', secret: 'flipped', version: 1, outcome: 'failed' });
    expect((await h.call('GET', '/api/v1/secrets/flipped', { token: admin })).body.version).toBe(2);
  });

  it('refuses a ciphertext copied from another secret, on read and reveal, with 500 secret_unreadable', async () => {
    const source = await stored('source', 1);
    await overwrite('moved', 1, source.ciphertext, source.data_key_id);
    expectRefusedWithoutValue(await h.call('GET', '/runtime/v1/secrets/moved', { token: agent.key }), 'moved', 1);
    expect(await lastEvent()).toMatchObject({ action: 'secret.read', secret: 'moved', outcome: 'failed' });
    expectRefusedWithoutValue(await h.call('POST', '/api/v1/secrets/moved/reveal', { token: admin }), 'moved', 1);
    // The secret it came from still reads as it should.
    expect((await h.call('GET', '/runtime/v1/secrets/source', { token: agent.key })).body.value).toBe(`${CANARY}-source`);
  });

  it('lists the failed attempts by outcome, keeps the chain verifiable, and a new value makes the secret readable again', async () => {
    const failed = await h.call('GET', '/api/v1/audit?outcome=failed', { token: admin });
    expect(failed.status).toBe(200);
    expect(failed.body.events.map((event: { action: string; secret: string }) => `${event.action} ${event.secret}`)).toEqual([
      'secret.reveal moved',
      'secret.read moved',
      'secret.restore flipped',
      'secret.reveal flipped',
      'secret.read flipped',
    ]);
    const verify = await h.call('GET', '/api/v1/audit/verify', { token: admin });
    expect(verify.body).toMatchObject({ ok: true, firstBroken: null });
    expect((await h.call('PATCH', '/api/v1/secrets/flipped', { token: admin, body: { value: `${CANARY}-flipped-3` } })).status).toBe(200);
    expect((await h.call('GET', '/runtime/v1/secrets/flipped', { token: agent.key })).body.value).toBe(`${CANARY}-flipped-3`);
  });

  it('is documented in the OpenAPI document for the read, the reveal and the restore', async () => {
    const doc = (await h.call('GET', '/api/openapi.json')).body;
    for (const [path, method] of [['/runtime/v1/secrets/{name}', 'get'], ['/api/v1/secrets/{name}/reveal', 'post'], ['/api/v1/secrets/{name}/versions/{version}/restore', 'post']] as const) {
      expect(doc.paths[path][method].responses['500'].description, path).toMatch(/secret_unreadable/);
    }
  });
});
