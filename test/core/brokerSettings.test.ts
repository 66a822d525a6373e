import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { DATABASES } from '../support/stores.js';

const CANARY = 'CANARY-settings-5b1e77';

describe.each(DATABASES)('allowed hosts, delivery and reveal (S25, S27) on %s', (kind) => {
  let h: Harness;
  let admin: string;
  let booking: { id: string; key: string };

  beforeAll(async () => {
    h = await startHarness(kind);
    admin = h.admin.token;
    booking = await h.agentWithKey(admin, 'booking');
  });
  afterAll(async () => {
    expect(h.logLines.join('\n')).not.toContain(CANARY);
    await h?.close();
  });

  const create = (body: Record<string, unknown>) => h.call('POST', '/api/v1/secrets', { token: admin, body: { agents: ['booking'], ...body } });
  const patch = (name: string, body: unknown) => h.call('PATCH', `/api/v1/secrets/${name}`, { token: admin, body });
  const read = (name: string) => h.call('GET', `/runtime/v1/secrets/${name}`, { token: booking.key });
  const events = async (name: string) =>
    (await h.call('GET', `/api/v1/audit?secret=${name}`, { token: admin })).body.events as Array<{ action: string; outcome: string; detail: any }>;

  it('a secret made before this feature cannot be brokered, is read by value and can be revealed', async () => {
    const made = await create({ name: 'plain_key', value: `${CANARY}-plain` });
    expect(made.body).toMatchObject({ allowedHosts: [], delivery: 'value', reveal: 'allowed' });
    expect((await read('plain_key')).body.value).toBe(`${CANARY}-plain`);
  });

  it('stores allowed hosts in the URL parser\'s form: lower case, punycode, no trailing dot, each once', async () => {
    const made = await create({
      name: 'hosts_norm',
      value: `${CANARY}-n`,
      allowedHosts: ['API.Stripe.com', 'bücher.example', '*.Example.org', 'api.stripe.com.', 'internal.example:8443', 'api.stripe.com', '[2001:DB8::1]:443', '10.0.0.1'],
    });
    expect(made.status).toBe(201);
    expect(made.body.allowedHosts).toEqual(['api.stripe.com', 'xn--bcher-kva.example', '*.example.org', 'internal.example:8443', '[2001:db8::1]:443', '10.0.0.1']);
    expect((await h.call('GET', '/api/v1/secrets/hosts_norm', { token: admin })).body.allowedHosts).toEqual(made.body.allowedHosts);
  });

  it.each([
    ['a scheme', ['https://api.stripe.com'], 'allowedHosts.0'],
    ['a path', ['api.stripe.com/v1'], 'allowedHosts.0'],
    ['user info', ['me@api.stripe.com'], 'allowedHosts.0'],
    ['a wildcard inside', ['api.*.com'], 'allowedHosts.0'],
    ['a wildcard on a top-level domain', ['*.com'], 'allowedHosts.0'],
    ['a bare wildcard', ['*'], 'allowedHosts.0'],
    ['a wildcard IP', ['*.10.0.0.1'], 'allowedHosts.0'],
    ['a space', ['api stripe.com'], 'allowedHosts.0'],
    ['empty', [''], 'allowedHosts.0'],
    ['a port out of range', ['api.stripe.com:70000'], 'allowedHosts.0'],
    ['a bad second entry', ['api.stripe.com', 'a..b'], 'allowedHosts.1'],
    ['not a string', [42], 'allowedHosts.0'],
    ['a query', ['api.stripe.com?x'], 'allowedHosts.0'],
    ['a percent escape', ['api%2estripe.com'], 'allowedHosts.0'],
  ])('refuses an allowed host with %s: 400 naming the field, nothing stored', async (_what, allowedHosts, field) => {
    const name = `bad_${Math.random().toString(36).slice(2, 10)}`;
    const refused = await create({ name, value: `${CANARY}-x`, allowedHosts });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'invalid_input', field });
    expect((await h.call('GET', `/api/v1/secrets/${name}`, { token: admin })).status).toBe(404);
  });

  it('refuses a list that is not a list, and unknown delivery or reveal values', async () => {
    expect((await create({ name: 'bad_list', value: 'x-long', allowedHosts: 'api.stripe.com' })).body.error.field).toBe('allowedHosts');
    expect((await create({ name: 'bad_delivery', value: 'x-long', delivery: 'secret' })).body.error.field).toBe('delivery');
    expect((await create({ name: 'bad_reveal', value: 'x-long', reveal: 'sometimes' })).body.error.field).toBe('reveal');
    const existing = await patch('plain_key', { allowedHosts: ['ok.example', 'http://x'] });
    expect(existing.status).toBe(400);
    expect(existing.body.error.field).toBe('allowedHosts.1');
    expect((await h.call('GET', '/api/v1/secrets/plain_key', { token: admin })).body.allowedHosts).toEqual([]);
  });

  it('PATCH changes allowed hosts and delivery, each change audited with what changed', async () => {
    await create({ name: 'patched', value: `${CANARY}-p`, allowedHosts: ['a.example'] });
    const changed = await patch('patched', { allowedHosts: ['b.example', 'a.example'], delivery: 'broker-only' });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ allowedHosts: ['b.example', 'a.example'], delivery: 'broker-only', reveal: 'allowed' });
    const trail = await events('patched');
    expect(trail.find((e) => e.action === 'secret.allowed_hosts_set')?.detail).toEqual({ allowedHosts: ['b.example', 'a.example'], added: ['b.example'], removed: [] });
    expect(trail.find((e) => e.action === 'secret.delivery_set')?.detail).toEqual({ from: 'value', to: 'broker-only' });
    // The same settings again change nothing and write nothing.
    await patch('patched', { allowedHosts: ['b.example', 'a.example'], delivery: 'broker-only' });
    expect((await events('patched')).length).toBe(trail.length);
  });

  it('a broker-only secret answers 403 BrokerOnly to get_secret, naming conv.http.fetch, audited; from the very next read', async () => {
    await create({ name: 'charge_key', value: `${CANARY}-charge`, allowedHosts: ['api.stripe.com'] });
    expect((await read('charge_key')).status).toBe(200);
    await patch('charge_key', { delivery: 'broker-only' });
    const refused = await read('charge_key');
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('BrokerOnly');
    expect(refused.body.error.message).toContain('conv.http.fetch');
    expect(JSON.stringify(refused.body)).not.toContain(CANARY);
    expect((await events('charge_key'))[0]).toMatchObject({ action: 'secret.read', outcome: 'denied', detail: { reason: 'broker_only' } });
    // Back to value: readable from the next call (S7).
    await patch('charge_key', { delivery: 'value' });
    expect((await read('charge_key')).body.value).toBe(`${CANARY}-charge`);
  });

  it('a change of delivery written straight to the database (another instance, a hand edit) holds from the next read (S7)', async () => {
    await create({ name: 'edited_by_hand', value: `${CANARY}-hand` });
    expect((await read('edited_by_hand')).status).toBe(200);
    expect((await read('edited_by_hand')).status).toBe(200);
    // Only the new column changes: the read revision's trigger (migration 0007) must see it.
    await h.vault.store.db.updateTable('secrets').set({ delivery: 'broker-only' }).where('name', '=', 'edited_by_hand').execute();
    expect((await read('edited_by_hand')).body.error.code).toBe('BrokerOnly');
  });

  it('an agent without access still gets MissingAccess, not BrokerOnly, for a broker-only secret', async () => {
    const other = await h.agentWithKey(admin, 'other');
    await create({ name: 'only_booking', value: `${CANARY}-ob`, delivery: 'broker-only', agents: ['booking'] });
    const refused = await h.call('GET', '/runtime/v1/secrets/only_booking', { token: other.key });
    expect(refused.body.error.code).toBe('MissingAccess');
  });

  it('both settings show in the lists and in the agent\'s "what can I read" list', async () => {
    const listed = (await h.call('GET', '/api/v1/secrets?search=charge', { token: admin })).body.secrets[0];
    expect(listed).toMatchObject({ name: 'charge_key', allowedHosts: ['api.stripe.com'], delivery: 'value', reveal: 'allowed' });
    await patch('charge_key', { delivery: 'broker-only' });
    const readable = (await h.call('GET', '/runtime/v1/secrets', { token: booking.key })).body.secrets.find((s: { name: string }) => s.name === 'charge_key');
    expect(readable).toMatchObject({ delivery: 'broker-only', allowedHosts: ['api.stripe.com'] });
    const ofAgent = (await h.call('GET', '/api/v1/agents/booking/secrets', { token: admin })).body.secrets.find((s: { name: string }) => s.name === 'charge_key');
    expect(ofAgent).toMatchObject({ delivery: 'broker-only', allowedHosts: ['api.stripe.com'] });
  });

  it('a never-revealed secret refuses reveal (403 reveal_not_allowed, audited), of any version, and stays never', async () => {
    await create({ name: 'hidden', value: `${CANARY}-h1`, reveal: 'never' });
    const refused = await h.call('POST', '/api/v1/secrets/hidden/reveal', { token: admin });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('reveal_not_allowed');
    expect(JSON.stringify(refused.body)).not.toContain(CANARY);
    // It can still be replaced, and no version of it can be revealed.
    expect((await patch('hidden', { value: `${CANARY}-h2` })).status).toBe(200);
    expect((await h.call('POST', '/api/v1/secrets/hidden/reveal', { token: admin, body: { version: 1 } })).body.error.code).toBe('reveal_not_allowed');
    const back = await patch('hidden', { reveal: 'allowed' });
    expect(back.status).toBe(403);
    expect(back.body.error).toMatchObject({ code: 'reveal_not_allowed', field: 'reveal' });
    expect((await h.call('GET', '/api/v1/secrets/hidden', { token: admin })).body.reveal).toBe('never');
    // Functions still read it by value: "never" is about people.
    expect((await read('hidden')).body.value).toBe(`${CANARY}-h2`);
    const trail = await events('hidden');
    expect(trail.filter((e) => e.action === 'secret.reveal').map((e) => e.outcome)).toEqual(['denied', 'denied']);
  });

  it('a never-revealed broker-only secret stays broker-only: PATCH to delivery "value" is 409 naming delivery, nothing changed, the value still not readable', async () => {
    await create({ name: 'sealed_key', value: `${CANARY}-sealed`, reveal: 'never', delivery: 'broker-only', allowedHosts: ['api.stripe.com'] });
    const refused = await patch('sealed_key', { delivery: 'value', description: 'changed too?' });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'conflict', field: 'delivery', message: expect.stringContaining('make a new secret') });
    expect(JSON.stringify(refused.body)).not.toContain(CANARY);
    const after = (await h.call('GET', '/api/v1/secrets/sealed_key', { token: admin })).body;
    expect(after).toMatchObject({ delivery: 'broker-only', reveal: 'never' });
    expect(after.description ?? '').not.toBe('changed too?');
    const runtime = await read('sealed_key');
    expect(runtime.status).toBe(403);
    expect(runtime.body.error.code).toBe('BrokerOnly');
    expect(JSON.stringify(runtime.body)).not.toContain(CANARY);
    expect((await events('sealed_key')).some((e) => e.action === 'secret.delivery_set')).toBe(false);
    // A broker-only secret that may be revealed can still go back to value.
    expect((await patch('patched', { delivery: 'value' })).status).toBe(200);
  });

  it('an allowed secret can be set to never by PATCH, audited', async () => {
    await patch('plain_key', { reveal: 'never' });
    expect((await h.call('POST', '/api/v1/secrets/plain_key/reveal', { token: admin })).status).toBe(403);
    expect((await events('plain_key')).find((e) => e.action === 'secret.reveal_set')?.detail).toEqual({ from: 'allowed', to: 'never' });
  });

  it('refuses an empty PATCH, naming what it takes', async () => {
    const refused = await patch('plain_key', {});
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toContain('allowedHosts');
  });
});
