/**
 * Fail closed: when the database cannot take writes or cannot be reached, reads answer 503 with no
 * value and changes are not made; when the cause goes away, the service recovers by itself.
 */
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness } from '../support/harness.js';

const CANARY = 'CANARY-failclosed-9d1e';

async function setup(kind: 'sqlite' | 'postgres') {
  const h = await startHarness(kind);
  const agent = await h.agentWithKey(h.admin.token, 'reader');
  await h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { name: 'guarded', value: CANARY, agents: ['reader'] } });
  const read = () => h.call('GET', '/runtime/v1/secrets/guarded', { token: agent.key });
  const change = () => h.call('PATCH', '/api/v1/secrets/guarded', { token: h.admin.token, body: { description: `changed ${Date.now()}` } });
  return { h, read, change };
}

describe('on SQLite, a database that refuses writes', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  beforeAll(async () => {
    ctx = await setup('sqlite');
  });
  afterAll(async () => ctx?.h.close());

  it('fails reads with 503 and no value, refuses changes with 503, and recovers by itself', async () => {
    const { h, read, change } = ctx;
    const before = (await h.call('GET', '/api/v1/secrets/guarded', { token: h.admin.token })).body.description;
    await h.vault.store.setPragma('query_only = on');
    try {
      const refused = await read();
      expect(refused.status).toBe(503);
      expect(refused.body.error.code).toBe('audit_unavailable');
      expect(JSON.stringify(refused.body)).not.toContain(CANARY);
      const unchanged = await change();
      expect(unchanged.status).toBe(503);
      expect(unchanged.body.error.code).toBe('unavailable');
    } finally {
      await h.vault.store.setPragma('query_only = off');
    }
    expect((await read()).body.value).toBe(CANARY);
    expect((await h.call('GET', '/api/v1/secrets/guarded', { token: h.admin.token })).body.description).toBe(before);
    expect((await change()).status).toBe(200);
    expect(h.logLines.join('')).not.toContain(CANARY);
  });
});

describe('on SQLite, a full disk', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  beforeAll(async () => {
    ctx = await setup('sqlite');
  });
  afterAll(async () => ctx?.h.close());

  it('fails reads with 503 and no value while no page can be added, and recovers when space returns', async () => {
    const { h, read } = ctx;
    // SQLite's page limit stands in for a full disk: every write that needs a new page fails with SQLITE_FULL.
    const { pages } = (await sql<{ pages: number }>`select page_count as pages from pragma_page_count()`.execute(h.vault.store.db)).rows[0] ?? { pages: 0 };
    await h.vault.store.setPragma(`max_page_count = ${pages}`);
    try {
      const answers = [];
      for (let i = 0; i < 200; i++) {
        const answer = await read();
        answers.push(answer.status);
        expect(JSON.stringify(answer.body).includes(CANARY)).toBe(answer.status === 200);
        if (answer.status === 503) break;
      }
      // Free space inside the last pages lets a few events in; then the disk is full.
      expect(answers.at(-1)).toBe(503);
      expect(answers.filter((status) => status !== 200 && status !== 503)).toEqual([]);
    } finally {
      await h.vault.store.setPragma('max_page_count = 1073741823');
    }
    expect((await read()).status).toBe(200);
  });
});

describe('on PostgreSQL, a database that goes read-only and drops its connections', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  let admin: pg.Client;
  let database: string;

  beforeAll(async () => {
    ctx = await setup('postgres');
    const url = new URL(ctx.h.storage.where);
    database = url.pathname.slice(1);
    url.pathname = '/postgres';
    admin = new pg.Client({ connectionString: url.toString() });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await ctx?.h.close();
  });

  const dropConnections = () => admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [database]);

  it('never answers 500 or a value while it cannot write, and recovers once it can', async () => {
    const { read, change } = ctx;
    expect((await read()).status).toBe(200);
    await admin.query(`alter database ${database} set default_transaction_read_only = on`);
    await dropConnections();
    try {
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await read());
      expect(answers.map((a) => a.status)).toEqual([503, 503, 503, 503]);
      for (const answer of answers) expect(JSON.stringify(answer.body)).not.toContain(CANARY);
      expect(answers.at(-1)?.body.error.code).toBe('audit_unavailable');
      expect((await change()).status).toBe(503);
    } finally {
      await admin.query(`alter database ${database} reset default_transaction_read_only`);
      await dropConnections();
    }
    const after = [];
    for (let i = 0; i < 4; i++) after.push((await read()).status);
    expect(after.filter((status) => status !== 200 && status !== 503)).toEqual([]);
    expect(after.at(-1)).toBe(200);
    expect((await change()).status).toBe(200);
  });
});
