/**
 * SPEC S7 across instances: three `agent-secrets serve` processes on one PostgreSQL database. Changes
 * go through one instance; reads go to the others. A read started after a change was acknowledged
 * must reflect it (zero stale answers); a read in flight while the change commits may reflect the
 * state before or after, never anything else.
 *
 *   SCALE_CHANGES=5000 npx vitest run test/scale/multiInstance.test.ts    # the heavier variant
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstAdminToken, outputOf, runCli, startServe, type ServeProcess } from '../support/processes.js';
import { freshStorage, type TestStorage } from '../support/stores.js';

const CHANGES = Number(process.env.SCALE_CHANGES ?? 300);
const MASTER_KEY = Buffer.alloc(32, 42).toString('base64');

type Expected = { status: 200; value: string } | { status: 403 | 404 | 401 };
const describeExpected = (e: Expected) => (e.status === 200 ? `200 ${e.value}` : String(e.status));

describe('many instances, one truth', () => {
  let storage: TestStorage;
  let servers: ServeProcess[] = [];
  let admin: string;

  beforeAll(async () => {
    storage = await freshStorage('postgres');
    const env = { AGENT_SECRETS_MASTER_KEY: MASTER_KEY };
    // Started together on an empty database: exactly one of them makes the default account.
    servers = await Promise.all([0, 1, 2].map(() => startServe(['--database-url', storage.where, '--reads-per-second', '1000000'], { env })));
    // The one that made it logs so (asynchronously: give the line time to arrive); the others do not.
    await Promise.race(servers.map((s) => outputOf(s, 'First start: created account')));
    const firstStart = servers.filter((s) => s.output().includes('First start: created account'));
    expect(firstStart).toHaveLength(1);
    // Without a terminal the first start shows no credentials (SPEC S20): the operator's way in.
    admin = await firstAdminToken(servers[0]?.url ?? '', ['--database-url', storage.where], { env });
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await storage?.dispose();
  });

  const call = async (server: ServeProcess, method: string, path: string, token: string, body?: unknown) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? null : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, any>) : {} };
  };
  const observe = async (server: ServeProcess, key: string): Promise<string> => {
    const r = await call(server, 'GET', '/runtime/v1/secrets/shared', key);
    return r.status === 200 ? `200 ${r.body.value as string}` : String(r.status);
  };

  it(`${CHANGES} revokes, grants, rotations, key revocations and deletions through one instance are seen at once by the others`, { timeout: Math.max(30_000, CHANGES * 60) }, async () => {
    const [writer, ...readers] = servers as [ServeProcess, ServeProcess, ServeProcess];
    const env = { AGENT_SECRETS_URL: writer.url, AGENT_SECRETS_TOKEN: admin };
    await runCli(['agents', 'create', 'reader'], { env });
    const newKey = async () => (await call(writer, 'POST', '/api/v1/agents/reader/keys', admin, { name: 'k' })).body as { id: string; key: string };
    let key = await newKey();
    let value = 'value-0';
    await call(writer, 'POST', '/api/v1/secrets', admin, { name: 'shared', value, agents: ['reader'] });
    let state: Expected = { status: 200, value };

    const stale: string[] = [];
    const impossible: string[] = [];
    let reads = 0;
    for (let i = 1; i <= CHANGES; i++) {
      const before = state;
      const beforeKey = key;
      // Reads in flight while the change commits: either side of it is fine, nothing else is.
      const inFlight = readers.map((reader) => observe(reader, beforeKey.key));

      const roll = i % 10;
      if (roll < 3) {
        const granted: boolean = state.status === 200;
        await call(writer, 'PUT', '/api/v1/secrets/shared/access', admin, { agents: granted ? [] : ['reader'] });
        state = granted ? { status: 403 } : { status: 200, value };
      } else if (roll < 7) {
        value = `value-${i}`;
        await call(writer, 'PATCH', '/api/v1/secrets/shared', admin, { value });
        if (state.status === 200) state = { status: 200, value };
      } else if (roll === 7) {
        const old = key;
        key = await newKey();
        await call(writer, 'DELETE', `/api/v1/agents/reader/keys/${old.id}`, admin);
        // The old key is dead everywhere; the model follows the new key.
      } else if (roll === 8 && i % 20 === 8) {
        await call(writer, 'DELETE', '/api/v1/secrets/shared', admin);
        const gone = await observe(readers[0], key.key);
        if (gone !== '404') stale.push(`#${i} after delete: ${gone}`);
        value = `value-${i}`;
        await call(writer, 'POST', '/api/v1/secrets', admin, { name: 'shared', value, agents: ['reader'] });
        state = { status: 200, value };
      }

      // Reads started after the change was acknowledged, on the other instances.
      const after = await Promise.all(readers.map((reader) => observe(reader, key.key)));
      for (const seen of after) if (seen !== describeExpected(state)) stale.push(`#${i}: saw ${seen}, expected ${describeExpected(state)}`);
      if (beforeKey.id !== key.id) {
        const oldKeyNow = await observe(readers[1], beforeKey.key);
        if (oldKeyNow !== '401') stale.push(`#${i}: revoked key still answered ${oldKeyNow}`);
      }
      const allowed = new Set([describeExpected(before), describeExpected(state), ...(beforeKey.id !== key.id ? ['401'] : []), '404']);
      for (const seen of await Promise.all(inFlight)) if (!allowed.has(seen)) impossible.push(`#${i}: in flight saw ${seen}`);
      reads += after.length + inFlight.length;
    }

    expect(stale).toEqual([]);
    expect(impossible).toEqual([]);
    expect(reads).toBeGreaterThanOrEqual(CHANGES * 4);

    // Concurrent appends from three instances kept one valid chain.
    const verify = await call(readers[0], 'GET', '/api/v1/audit/verify', admin);
    expect(verify.body).toMatchObject({ ok: true, firstBroken: null });
    expect(verify.body.checked).toBeGreaterThan(CHANGES * 4);
  });
  it(`${Math.ceil(CHANGES / 2)} override sets, removals, default changes and promotions through one instance are read at once by the others, in each environment`, { timeout: Math.max(30_000, CHANGES * 60) }, async () => {
    const [writer, ...readers] = servers as [ServeProcess, ServeProcess, ServeProcess];
    await call(writer, 'POST', '/api/v1/agents', admin, { name: 'staged-reader' });
    const keyOf = async (environment: string) => ((await call(writer, 'POST', '/api/v1/agents/staged-reader/keys', admin, { environment })).body as { key: string }).key;
    const keys = { sandbox: await keyOf('sandbox'), live: await keyOf('live') };
    // The model: the default and each environment's override; a read answers the override, else the default.
    const model: { default: string; sandbox?: string | undefined; live?: string | undefined } = { default: 'default-0' };
    await call(writer, 'POST', '/api/v1/secrets', admin, { name: 'staged', value: model.default, agents: ['staged-reader'] });
    const stale: string[] = [];
    for (let i = 1; i <= Math.ceil(CHANGES / 2); i++) {
      const roll = i % 6;
      if (roll === 0) {
        model.sandbox = `sandbox-${i}`;
        await call(writer, 'PATCH', '/api/v1/secrets/staged', admin, { value: model.sandbox, environment: 'sandbox' });
      } else if (roll === 1) {
        model.live = `live-${i}`;
        await call(writer, 'PATCH', '/api/v1/secrets/staged', admin, { value: model.live, environment: 'live' });
      } else if (roll === 2) {
        model.default = `default-${i}`;
        await call(writer, 'PATCH', '/api/v1/secrets/staged', admin, { value: model.default });
      } else if (roll === 3) {
        const promoted = await call(writer, 'POST', '/api/v1/secrets/staged/promote', admin, { from: 'sandbox', to: 'live' });
        if (promoted.status !== 200) stale.push(`#${i}: promote answered ${promoted.status}`);
        model.live = model.sandbox ?? model.default;
      } else if (roll === 4 && model.sandbox !== undefined) {
        await call(writer, 'DELETE', '/api/v1/secrets/staged/environments/sandbox', admin);
        model.sandbox = undefined;
      } else if (roll === 5 && model.live !== undefined) {
        await call(writer, 'DELETE', '/api/v1/secrets/staged/environments/live', admin);
        model.live = undefined;
      }
      const reads = await Promise.all(
        readers.flatMap((reader) => (['sandbox', 'live'] as const).map(async (environment) => [environment, await call(reader, 'GET', '/runtime/v1/secrets/staged', keys[environment])] as const)),
      );
      for (const [environment, read] of reads) {
        const expected = model[environment] ?? model.default;
        const source = model[environment] === undefined ? 'default' : 'override';
        if (read.status !== 200 || read.body.value !== expected || read.body.source !== source || read.body.environment !== environment) {
          stale.push(`#${i} ${environment}: saw ${read.status} ${String(read.body.value)} (${String(read.body.source)}), expected ${expected} (${source})`);
        }
      }
    }
    expect(stale).toEqual([]);
  });
});
