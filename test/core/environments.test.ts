import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ENVIRONMENTS, type Environment } from '../../src/domain/environments.js';
import { startHarness, type Harness } from '../support/harness.js';
import { DATABASES } from '../support/stores.js';

const CANARY = 'CANARY-environments-4d1e8b';

/** An agent with one key per environment, each made in (and saying) its environment. */
async function agentWithKeyPerEnvironment(h: Harness, admin: string, agent: string): Promise<Record<Environment, string>> {
  await h.call('POST', '/api/v1/agents', { token: admin, body: { name: agent } });
  const keys = {} as Record<Environment, string>;
  for (const environment of ENVIRONMENTS) {
    const made = await h.call('POST', `/api/v1/agents/${agent}/keys`, { token: admin, body: { name: `${environment} key`, environment } });
    expect(made.status).toBe(201);
    expect(made.body.environment).toBe(environment);
    keys[environment] = made.body.key;
  }
  return keys;
}

describe.each(DATABASES)('environments: keys, overrides, promotion (SPEC S21-S24) on %s', (kind) => {
  let h: Harness;
  let admin: string;
  /** One key of the agent "booking" per environment. */
  const keys = {} as Record<Environment, string>;

  beforeAll(async () => {
    h = await startHarness(kind);
    admin = h.admin.token;
    Object.assign(keys, await agentWithKeyPerEnvironment(h, admin, 'booking'));
  });
  afterAll(async () => {
    expect(h.logLines.join('\n')).not.toContain(CANARY);
    await h?.close();
  });

  const read = (environment: Environment, name: string) => h.call('GET', `/runtime/v1/secrets/${name}`, { token: keys[environment] });
  const patch = (name: string, body: unknown) => h.call('PATCH', `/api/v1/secrets/${name}`, { token: admin, body });
  const create = (name: string, value: string) => h.call('POST', '/api/v1/secrets', { token: admin, body: { name, value, agents: ['booking'] } });

  it('S21: a key is live unless made for another environment, lists say which, and the run-time list tells the function', async () => {
    const plain = await h.call('POST', '/api/v1/agents/booking/keys', { token: admin, body: { name: 'no environment given' } });
    expect(plain.body.environment).toBe('live');
    const listed = await h.call('GET', '/api/v1/agents/booking/keys', { token: admin });
    expect(listed.body.keys.map((k: { name: string; environment: string }) => [k.name, k.environment])).toEqual([
      ['sandbox key', 'sandbox'],
      ['pre-release key', 'pre-release'],
      ['live key', 'live'],
      ['no environment given', 'live'],
    ]);
    for (const environment of ENVIRONMENTS) {
      expect((await h.call('GET', '/runtime/v1/secrets', { token: keys[environment] })).body.environment).toBe(environment);
    }
  });

  it.each([
    ['an unknown environment', { environment: 'production' }],
    ['a lookalike in capitals', { environment: 'Live' }],
    ['a number', { environment: 1 }],
    ['null', { environment: null }],
    ['a trailing space', { environment: 'live ' }],
    ['a lookalike letter (U+217C, small roman numeral fifty)', { environment: '\u217Cive' }],
  ])('S21: a key for %s is a 400 naming environment, and nothing is made', async (_what, body) => {
    const before = (await h.call('GET', '/api/v1/agents/booking/keys', { token: admin })).body.keys.length;
    const made = await h.call('POST', '/api/v1/agents/booking/keys', { token: admin, body });
    expect(made.status).toBe(400);
    expect(made.body.error.field).toBe('environment');
    expect((await h.call('GET', '/api/v1/agents/booking/keys', { token: admin })).body.keys.length).toBe(before);
  });

  // Every pair of (key environment, overrides present): the override of the key's environment, else the default.
  const OVERRIDE_SETS: Environment[][] = [[], ['sandbox'], ['pre-release'], ['live'], ['sandbox', 'live'], ['sandbox', 'pre-release', 'live']];
  it.each(OVERRIDE_SETS.map((set) => [set.join('+') || 'none', set] as const))('S22: with overrides for %s, each key reads its own environment\'s value or the default', async (label, overrides) => {
    const name = `resolve_${label.replace(/[^a-z+]/g, '').replace(/\+/g, '_')}`;
    expect((await create(name, `${CANARY}-default`)).status).toBe(201);
    const versionOf: Partial<Record<Environment, number>> = {};
    for (const environment of overrides) {
      const set = await patch(name, { value: `${CANARY}-${environment}`, environment });
      expect(set.status).toBe(200);
      versionOf[environment] = Math.max(set.body.version, ...set.body.overrides.map((o: { version: number }) => o.version));
    }
    for (const environment of ENVIRONMENTS) {
      const answer = await read(environment, name);
      expect(answer.status).toBe(200);
      const own = overrides.includes(environment);
      expect(answer.body).toEqual({
        name,
        kind: 'single',
        version: own ? versionOf[environment] : 1,
        value: own ? `${CANARY}-${environment}` : `${CANARY}-default`,
        environment,
        source: own ? 'override' : 'default',
      });
    }
    const got = await h.call('GET', `/api/v1/secrets/${name}`, { token: admin });
    expect(got.body.overrides.map((o: { environment: string }) => o.environment).sort()).toEqual([...overrides].sort());
    expect(got.body.environments.map((e: { environment: string; source: string }) => `${e.environment}:${e.source}`)).toEqual(
      ENVIRONMENTS.map((e) => `${e}:${overrides.includes(e) ? 'override' : 'default'}`),
    );
    expect(JSON.stringify(got.body)).not.toContain(CANARY);
  });

  it('S22: setting the default leaves overrides alone; removing an override falls back to the default from the next call', async () => {
    await create('stripe_key', `${CANARY}-live-v1`);
    await patch('stripe_key', { value: `${CANARY}-test`, environment: 'sandbox' });
    expect((await read('sandbox', 'stripe_key')).body).toMatchObject({ value: `${CANARY}-test`, version: 2, source: 'override' });
    await patch('stripe_key', { value: `${CANARY}-live-v3` });
    expect((await read('live', 'stripe_key')).body).toMatchObject({ value: `${CANARY}-live-v3`, version: 3, source: 'default' });
    expect((await read('sandbox', 'stripe_key')).body).toMatchObject({ value: `${CANARY}-test`, version: 2, source: 'override' });

    const removed = await h.call('DELETE', '/api/v1/secrets/stripe_key/environments/sandbox', { token: admin });
    expect(removed.status).toBe(200);
    expect(removed.body.overrides).toEqual([]);
    expect((await read('sandbox', 'stripe_key')).body).toMatchObject({ value: `${CANARY}-live-v3`, version: 3, source: 'default' });

    const again = await h.call('DELETE', '/api/v1/secrets/stripe_key/environments/sandbox', { token: admin });
    expect(again.status).toBe(404);
    expect(again.body.error).toMatchObject({ field: 'environment' });
    expect(again.body.error.message).toContain('no override for sandbox');
    const unknown = await h.call('DELETE', '/api/v1/secrets/stripe_key/environments/staging', { token: admin });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.field).toBe('environment');
  });

  it('S22: bad input on PATCH is a 400 naming the field, and nothing is written', async () => {
    await create('patch_rules', `${CANARY}-p1`);
    const cases: Array<[unknown, string]> = [
      [{ value: 'x', environment: 'staging' }, 'environment'],
      [{ value: 'x', environment: '' }, 'environment'],
      [{ value: 'x', environment: null }, 'environment'],
      [{ environment: 'sandbox' }, 'environment'],
      [{ description: 'd', environment: 'sandbox' }, 'environment'],
    ];
    for (const [body, field] of cases) {
      const answer = await patch('patch_rules', body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error.field, JSON.stringify(body)).toBe(field);
    }
    const versions = await h.call('GET', '/api/v1/secrets/patch_rules/versions', { token: admin });
    expect(versions.body.versions).toHaveLength(1);
    expect((await h.call('GET', '/api/v1/secrets/patch_rules', { token: admin })).body.description).toBe('');
  });

  it('S22: versions are one numbered history, each saying its environment; restore stays in its environment', async () => {
    await create('history', `${CANARY}-h1`);
    await patch('history', { value: `${CANARY}-h2-sandbox`, environment: 'sandbox' });
    await patch('history', { value: `${CANARY}-h3-live`, environment: 'live' });
    await patch('history', { value: `${CANARY}-h4` });
    await h.call('DELETE', '/api/v1/secrets/history/environments/sandbox', { token: admin });
    const versions = (await h.call('GET', '/api/v1/secrets/history/versions', { token: admin })).body.versions;
    expect(versions.map((v: { version: number; environment: string | null; current: boolean }) => [v.version, v.environment, v.current])).toEqual([
      [4, null, true],
      [3, 'live', true],
      [2, 'sandbox', false],
      [1, null, false],
    ]);
    // Restoring the removed sandbox value makes it sandbox's override again, as version 5.
    const restored = await h.call('POST', '/api/v1/secrets/history/versions/2/restore', { token: admin });
    expect(restored.status).toBe(200);
    expect(restored.body.overrides.map((o: { environment: string; version: number }) => [o.environment, o.version])).toEqual([
      ['live', 3],
      ['sandbox', 5],
    ]);
    expect((await read('sandbox', 'history')).body).toMatchObject({ value: `${CANARY}-h2-sandbox`, version: 5, source: 'override' });
    // Restoring a default version makes a new default version; the overrides stay.
    await h.call('POST', '/api/v1/secrets/history/versions/1/restore', { token: admin });
    expect((await read('pre-release', 'history')).body).toMatchObject({ value: `${CANARY}-h1`, version: 6, source: 'default' });
    expect((await read('live', 'history')).body).toMatchObject({ value: `${CANARY}-h3-live`, version: 3 });
    // Revealing what an environment reads says which version and environment it is.
    const revealed = await h.call('POST', '/api/v1/secrets/history/reveal', { token: admin, body: { environment: 'sandbox' } });
    expect(revealed.body).toMatchObject({ version: 5, environment: 'sandbox', value: `${CANARY}-h2-sandbox` });
    expect((await h.call('POST', '/api/v1/secrets/history/reveal', { token: admin, body: { environment: 'pre-release' } })).body).toMatchObject({ version: 6, environment: null });
  });

  it('S23: promote copies what "from" reads now into "to" as one new audited version', async () => {
    await create('rotating', `${CANARY}-old`);
    await patch('rotating', { value: `${CANARY}-new`, environment: 'sandbox' });
    const promoted = await h.call('POST', '/api/v1/secrets/rotating/promote', { token: admin, body: { from: 'sandbox', to: 'live' } });
    expect(promoted.status).toBe(200);
    expect(promoted.body.promotion).toEqual({ from: 'sandbox', to: 'live', source: 'override', fromVersion: 2, version: 3 });
    expect((await read('live', 'rotating')).body).toMatchObject({ value: `${CANARY}-new`, version: 3, source: 'override' });
    expect((await read('pre-release', 'rotating')).body).toMatchObject({ value: `${CANARY}-old`, version: 1, source: 'default' });

    const toDefault = await h.call('POST', '/api/v1/secrets/rotating/promote', { token: admin, body: { from: 'sandbox', to: 'default' } });
    expect(toDefault.body.promotion).toMatchObject({ source: 'override', fromVersion: 2, version: 4 });
    expect((await read('pre-release', 'rotating')).body).toMatchObject({ value: `${CANARY}-new`, version: 4, source: 'default' });

    // From an environment with no override: the default's value, and the answer says so.
    const fromDefault = await h.call('POST', '/api/v1/secrets/rotating/promote', { token: admin, body: { from: 'pre-release', to: 'sandbox' } });
    expect(fromDefault.body.promotion).toEqual({ from: 'pre-release', to: 'sandbox', source: 'default', fromVersion: 4, version: 5 });

    const events = (await h.call('GET', '/api/v1/audit?secret=rotating&action=secret.promote', { token: admin })).body.events;
    expect(events.map((e: { version: number; detail: Record<string, unknown> }) => [e.version, e.detail.from, e.detail.to, e.detail.source])).toEqual([
      [5, 'pre-release', 'sandbox', 'default'],
      [4, 'sandbox', 'default', 'override'],
      [3, 'sandbox', 'live', 'override'],
    ]);
    expect(JSON.stringify(events)).not.toContain(CANARY);
  });

  it.each([
    ['to the same environment', { from: 'live', to: 'live' }, 'to'],
    ['from "default"', { from: 'default', to: 'live' }, 'from'],
    ['to an unknown environment', { from: 'sandbox', to: 'prod' }, 'to'],
    ['without "to"', { from: 'sandbox' }, 'to'],
    ['with an extra field', { from: 'sandbox', to: 'live', force: true }, 'body'],
    ['from an environment without override to "default"', { from: 'pre-release', to: 'default' }, 'from'],
  ])('S23: promoting %s is a 400 naming %s, and no version is made', async (_what, body, field) => {
    await h.call('POST', '/api/v1/secrets', { token: admin, body: { name: 'promote_rules', value: `${CANARY}-r` } });
    const before = (await h.call('GET', '/api/v1/secrets/promote_rules/versions', { token: admin })).body.versions.length;
    const answer = await h.call('POST', '/api/v1/secrets/promote_rules/promote', { token: admin, body });
    expect(answer.status).toBe(400);
    if (field !== 'body') expect(answer.body.error.field).toBe(field);
    expect((await h.call('GET', '/api/v1/secrets/promote_rules/versions', { token: admin })).body.versions.length).toBe(before);
  });

  it('S24: read events carry the key\'s environment, `environment` filters them, and the last read is kept per environment with its version', async () => {
    await create('insight', `${CANARY}-i1`);
    await patch('insight', { value: `${CANARY}-i2`, environment: 'sandbox' });
    await read('sandbox', 'insight');
    await read('live', 'insight');
    await h.vault.audit.flush();
    const live = (await h.call('GET', '/api/v1/audit?secret=insight&environment=live', { token: admin })).body.events;
    expect(live.map((e: { action: string; environment: string }) => [e.action, e.environment])).toEqual([['secret.read', 'live']]);
    const sandbox = (await h.call('GET', '/api/v1/audit?secret=insight&environment=sandbox', { token: admin })).body.events;
    expect(sandbox.map((e: { action: string; version: number }) => [e.action, e.version])).toEqual([
      ['secret.read', 2],
      ['secret.value_set', 2],
    ]);
    const bad = await h.call('GET', '/api/v1/audit?environment=prod', { token: admin });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('environment');

    const access = (await h.call('GET', '/api/v1/secrets/insight/access', { token: admin })).body.agents[0];
    expect(access.lastReads.map((r: { environment: string; version: number }) => [r.environment, r.version]).sort()).toEqual([
      ['live', 1],
      ['sandbox', 2],
    ]);
    // The agent's page: what each environment reads of each secret.
    const ofAgent = (await h.call('GET', '/api/v1/agents/booking/secrets', { token: admin })).body.secrets.find((s: { name: string }) => s.name === 'insight');
    expect(ofAgent.environments).toEqual([
      { environment: 'sandbox', version: 2, source: 'override', kind: 'single', keys: [] },
      { environment: 'pre-release', version: 1, source: 'default', kind: 'single', keys: [] },
      { environment: 'live', version: 1, source: 'default', kind: 'single', keys: [] },
    ]);
    // Revoking the grant forgets its stamps: a new grant starts with no reads.
    await h.call('PUT', '/api/v1/secrets/insight/access', { token: admin, body: { agents: [] } });
    await h.call('PUT', '/api/v1/secrets/insight/access', { token: admin, body: { agents: ['booking'] } });
    expect((await h.call('GET', '/api/v1/secrets/insight/access', { token: admin })).body.agents[0].lastReads).toEqual([]);
  });

  it.each([
    ['in capitals', 'Sandbox', 'environment'],
    // The server refuses a NUL anywhere in a URL before any route sees it.
    ['with a trailing NUL', 'sandbox%00', 'url'],
    ['a lookalike (Cyrillic a)', 's%D0%B0ndbox', 'environment'],
    ['percent-encoded slash', 'sandbox%2Flive', 'environment'],
  ])('S22: removing the override of an environment %s is a 400 naming %s, and the override stays', async (_what, segment, field) => {
    await h.call('POST', '/api/v1/secrets', { token: admin, body: { name: 'lookalikes', value: `${CANARY}-l`, agents: ['booking'] } });
    await patch('lookalikes', { value: `${CANARY}-l-sandbox`, environment: 'sandbox' });
    const answer = await h.call('DELETE', `/api/v1/secrets/lookalikes/environments/${segment}`, { token: admin });
    expect(answer.status).toBe(400);
    expect(answer.body.error.field).toBe(field);
    expect((await read('sandbox', 'lookalikes')).body.source).toBe('override');
  });

  it('two admins racing: concurrent sets of different environments, the default and promotions each get their own version, none lost', async () => {
    await create('raced', `${CANARY}-r0`);
    const writes = [
      ...ENVIRONMENTS.flatMap((environment) => [1, 2].map((n) => patch('raced', { value: `${CANARY}-${environment}-${n}`, environment }))),
      patch('raced', { value: `${CANARY}-default-1` }),
      h.call('POST', '/api/v1/secrets/raced/promote', { token: admin, body: { from: 'sandbox', to: 'pre-release' } }),
      h.call('POST', '/api/v1/secrets/raced/promote', { token: admin, body: { from: 'live', to: 'default' } }),
    ];
    const answers = await Promise.all(writes);
    // A promotion from an environment that had no override yet, to "default", is refused (400); all else lands.
    const landed = answers.filter((a) => a.status === 200);
    expect(answers.every((a) => a.status === 200 || (a.status === 400 && a.body.error.field === 'from'))).toBe(true);
    const versions = (await h.call('GET', '/api/v1/secrets/raced/versions', { token: admin })).body.versions.map((v: { version: number }) => v.version);
    expect(versions).toEqual(Array.from({ length: landed.length + 1 }, (_, i) => landed.length + 1 - i));
    // Each environment reads a value that was written for it (or promoted into it), never a half-made one.
    for (const environment of ENVIRONMENTS) expect((await read(environment, 'raced')).status).toBe(200);
  });

  it('reveal with both a version and an environment is a 400 naming environment', async () => {
    const answer = await h.call('POST', '/api/v1/secrets/history/reveal', { token: admin, body: { version: 1, environment: 'sandbox' } });
    expect(answer.status).toBe(400);
    expect(answer.body.error.field).toBe('environment');
  });

  it('a key whose environment was hand-edited in storage to an unknown one is refused (401), never given a made-up conv.env', async () => {
    const made = await h.call('POST', '/api/v1/agents/booking/keys', { token: admin, body: { name: 'hand edited' } });
    await h.vault.store.db.updateTable('agent_keys').set({ environment: 'production' }).where('id', '=', made.body.id).execute();
    const answer = await h.call('GET', '/runtime/v1/secrets/history', { token: made.body.key });
    expect(answer.status).toBe(401);
    expect(answer.body.error.message).toContain("environment is not one of sandbox, pre-release, live");
    expect((await h.call('GET', '/runtime/v1/secrets', { token: made.body.key })).status).toBe(401);
  });

  it('S7: an override changed straight in storage (another writer, a hand edit) is read from the next call: no cached resolution', async () => {
    await create('outside_edit', `${CANARY}-o-default`);
    await patch('outside_edit', { value: `${CANARY}-o-live`, environment: 'live' });
    expect((await read('live', 'outside_edit')).body).toMatchObject({ source: 'override', version: 2 });
    const secret = await h.vault.store.db.selectFrom('secrets').select('id').where('name', '=', 'outside_edit').executeTakeFirstOrThrow();
    // Only the override row changes: the read revision's triggers on it are what make the next read see it.
    await h.vault.store.db.deleteFrom('secret_overrides').where('secret_id', '=', secret.id).execute();
    expect((await read('live', 'outside_edit')).body).toMatchObject({ source: 'default', version: 1, value: `${CANARY}-o-default` });
    await h.vault.store.db.insertInto('secret_overrides').values({ secret_id: secret.id, environment: 'live', version: 2, updated_at: new Date().toISOString(), updated_by: 'hand' }).execute();
    expect((await read('live', 'outside_edit')).body).toMatchObject({ source: 'override', version: 2, value: `${CANARY}-o-live` });
  });

  /**
   * Runs `race` once, right after the next management transaction commits and before its caller
   * builds its answer: the moment another admin's change could land. Deterministic, unlike timing
   * two requests against each other.
   */
  function raceAfterNextCommit(race: () => Promise<unknown>) {
    const audit = h.vault.audit;
    const change = audit.change.bind(audit);
    let raced = false;
    const spy = vi.spyOn(audit, 'change').mockImplementation((async (accountId: string, work: Parameters<typeof change>[1]) => {
      const done = await change(accountId, work);
      if (!raced) {
        raced = true;
        await race();
      }
      return done;
    }) as typeof audit.change);
    return () => spy.mockRestore();
  }

  it('S23: promote answers the secret as it wrote it, even when another admin\'s change commits right after it', async () => {
    await create('own_answer', `${CANARY}-oa1`);
    await patch('own_answer', { value: `${CANARY}-oa2`, environment: 'sandbox' });
    const restore = raceAfterNextCommit(() => patch('own_answer', { description: 'changed after', value: `${CANARY}-oa-later`, environment: 'pre-release' }));
    try {
      const promoted = await h.call('POST', '/api/v1/secrets/own_answer/promote', { token: admin, body: { from: 'sandbox', to: 'live' } });
      expect(promoted.status).toBe(200);
      expect(promoted.body.promotion).toMatchObject({ from: 'sandbox', to: 'live', fromVersion: 2, version: 3 });
      expect(promoted.body.secret.description).toBe('');
      expect(promoted.body.secret.overrides.map((o: { environment: string; version: number }) => [o.environment, o.version])).toEqual([
        ['live', 3],
        ['sandbox', 2],
      ]);
      expect(promoted.body.secret.environments.find((e: { environment: string }) => e.environment === 'pre-release')).toMatchObject({ version: 1, source: 'default' });
    } finally {
      restore();
    }
    // The racing change did land, after it.
    expect((await h.call('GET', '/api/v1/secrets/own_answer', { token: admin })).body.description).toBe('changed after');
  });

  it('S23: a promote whose secret is deleted right after it commits still answers what it wrote, not 404', async () => {
    await create('promote_then_delete', `${CANARY}-pd1`);
    await patch('promote_then_delete', { value: `${CANARY}-pd2`, environment: 'sandbox' });
    const restore = raceAfterNextCommit(() => h.call('DELETE', '/api/v1/secrets/promote_then_delete', { token: admin }));
    try {
      const promoted = await h.call('POST', '/api/v1/secrets/promote_then_delete/promote', { token: admin, body: { from: 'sandbox', to: 'default' } });
      expect(promoted.status).toBe(200);
      expect(promoted.body.secret).toMatchObject({ name: 'promote_then_delete', version: 3 });
    } finally {
      restore();
    }
    expect((await h.call('GET', '/api/v1/secrets/promote_then_delete', { token: admin })).status).toBe(404);
  });

  it('S22: removing an override answers the secret as it left it, even when another admin\'s change commits right after it', async () => {
    await create('remove_answer', `${CANARY}-ra1`);
    await patch('remove_answer', { value: `${CANARY}-ra2`, environment: 'sandbox' });
    const restore = raceAfterNextCommit(() => patch('remove_answer', { value: `${CANARY}-ra3`, environment: 'sandbox' }));
    try {
      const removed = await h.call('DELETE', '/api/v1/secrets/remove_answer/environments/sandbox', { token: admin });
      expect(removed.status).toBe(200);
      expect(removed.body.overrides).toEqual([]);
      expect(removed.body.environments.find((e: { environment: string }) => e.environment === 'sandbox')).toMatchObject({ version: 1, source: 'default' });
    } finally {
      restore();
    }
    expect((await h.call('GET', '/api/v1/secrets/remove_answer', { token: admin })).body.overrides.map((o: { environment: string }) => o.environment)).toEqual(['sandbox']);
  });

  it('S22: the secrets list shows which environments have an override', async () => {
    const list = (await h.call('GET', '/api/v1/secrets?search=stripe_key', { token: admin })).body.secrets;
    expect(list[0].overrides).toEqual([]);
    const rotating = (await h.call('GET', '/api/v1/secrets?search=rotating', { token: admin })).body.secrets[0];
    expect(rotating.overrides.map((o: { environment: string }) => o.environment)).toEqual(['live', 'sandbox']);
  });
});

describe.each(DATABASES)('environments: what the "can read" lists say a key reads (SPEC S11, S22) on %s', (kind) => {
  let h: Harness;
  let admin: string;
  const keys = {} as Record<Environment, string>;

  beforeAll(async () => {
    h = await startHarness(kind);
    admin = h.admin.token;
    Object.assign(keys, await agentWithKeyPerEnvironment(h, admin, 'shapes'));
    // A key/value default; sandbox: a single value; pre-release: key/value with other key names.
    const made = await h.call('POST', '/api/v1/secrets', { token: admin, body: { name: 's1', value: { client_id: `${CANARY}-id`, client_secret: `${CANARY}-s` }, agents: ['shapes'] } });
    expect(made.status).toBe(201);
    expect((await h.call('PATCH', '/api/v1/secrets/s1', { token: admin, body: { value: `${CANARY}-single`, environment: 'sandbox' } })).status).toBe(200);
    expect((await h.call('PATCH', '/api/v1/secrets/s1', { token: admin, body: { value: { api_key: `${CANARY}-k` }, environment: 'pre-release' } })).status).toBe(200);
  });
  afterAll(async () => {
    expect(h.logLines.join('\n')).not.toContain(CANARY);
    await h?.close();
  });

  const EXPECTED: Record<Environment, { kind: string; keys: string[] }> = {
    sandbox: { kind: 'single', keys: [] },
    'pre-release': { kind: 'kv', keys: ['api_key'] },
    live: { kind: 'kv', keys: ['client_id', 'client_secret'] },
  };

  it.each(ENVIRONMENTS)('the run-time list of a %s key gives the kind and key names its read answers', async (environment) => {
    const listed = await h.call('GET', '/runtime/v1/secrets', { token: keys[environment] });
    expect(listed.status).toBe(200);
    const entry = listed.body.secrets.find((s: { name: string }) => s.name === 's1');
    expect({ kind: entry.kind, keys: entry.keys }).toEqual(EXPECTED[environment]);
    const read = await h.call('GET', '/runtime/v1/secrets/s1', { token: keys[environment] });
    expect(read.body.kind).toBe(entry.kind);
    expect(typeof read.body.value === 'string' ? [] : Object.keys(read.body.value)).toEqual(entry.keys);
    expect(JSON.stringify(listed.body)).not.toContain(CANARY);
  });

  it("the agent page gives each environment's kind and key names, and beside the name what a live key reads", async () => {
    const page = await h.call('GET', '/api/v1/agents/shapes/secrets', { token: admin });
    expect(page.status).toBe(200);
    const [entry] = page.body.secrets;
    expect({ kind: entry.kind, keys: entry.keys }).toEqual(EXPECTED.live);
    expect(entry.environments).toEqual([
      { environment: 'sandbox', version: 2, source: 'override', ...EXPECTED.sandbox },
      { environment: 'pre-release', version: 3, source: 'override', ...EXPECTED['pre-release'] },
      { environment: 'live', version: 1, source: 'default', ...EXPECTED.live },
    ]);
    expect(JSON.stringify(page.body)).not.toContain(CANARY);
  });

  it('a live override of another shape is what the page shows beside the name, and the live key lists', async () => {
    expect((await h.call('PATCH', '/api/v1/secrets/s1', { token: admin, body: { value: `${CANARY}-live-single`, environment: 'live' } })).status).toBe(200);
    const entry = (await h.call('GET', '/api/v1/agents/shapes/secrets', { token: admin })).body.secrets[0];
    expect({ kind: entry.kind, keys: entry.keys }).toEqual({ kind: 'single', keys: [] });
    const listed = (await h.call('GET', '/runtime/v1/secrets', { token: keys.live })).body.secrets[0];
    expect({ kind: listed.kind, keys: listed.keys }).toEqual({ kind: 'single', keys: [] });
    // Removing it falls back to the default's shape from the next call.
    expect((await h.call('DELETE', '/api/v1/secrets/s1/environments/live', { token: admin })).status).toBe(200);
    const after = (await h.call('GET', '/runtime/v1/secrets', { token: keys.live })).body.secrets[0];
    expect({ kind: after.kind, keys: after.keys }).toEqual(EXPECTED.live);
  });
});
