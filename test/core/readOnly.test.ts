/**
 * A database that does not take writes: a running service answers every write 503 (never 500) and
 * changes nothing, and recovers once it can write; a service started on one says so in one line and
 * exits non-zero. Tests run as root, where file modes stop nothing: the SQLite files are made
 * immutable (chattr +i, which stops root too), and PostgreSQL is made read-only by its own setting.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { requireImmutableFiles, setImmutable } from '../support/immutable.js';
import { expectOneLine, failedStart, runCli } from '../support/processes.js';
import { freshStore } from '../support/stores.js';

const CANARY = 'CANARY-readonly-3c7e';

/** The writes a service takes, each of which must be refused with 503 while the database cannot write. */
function writes(h: Harness, agentKey: string) {
  const admin = h.admin.token;
  return [
    ['create a secret', () => h.call('POST', '/api/v1/secrets', { token: admin, body: { name: 'made_while_read_only', value: `${CANARY}-new` } }), 'unavailable'],
    ['set a value', () => h.call('PATCH', '/api/v1/secrets/guarded', { token: admin, body: { value: `${CANARY}-changed` } }), 'unavailable'],
    ['reveal (its audit event)', () => h.call('POST', '/api/v1/secrets/guarded/reveal', { token: admin }), 'unavailable'],
    ['create a token', () => h.call('POST', '/api/v1/tokens', { token: admin, body: { name: 'while read-only' } }), 'unavailable'],
    ['create an agent', () => h.call('POST', '/api/v1/agents', { token: admin, body: { name: 'made_while_read_only' } }), 'unavailable'],
    ['sign in (its session)', () => h.call('POST', '/api/v1/auth/login', { body: { email: h.admin.email, password: h.admin.password } }), 'unavailable'],
    ['read at run time (its audit event)', () => h.call('GET', '/runtime/v1/secrets/guarded', { token: agentKey }), 'audit_unavailable'],
  ] as const;
}

async function expectAllRefusedWith503(h: Harness, agentKey: string) {
  const answers: string[] = [];
  const expected: string[] = [];
  for (const [what, write, code] of writes(h, agentKey)) {
    const answer = await write();
    answers.push(`${what}: ${answer.status} ${answer.body?.error?.code}`);
    expected.push(`${what}: 503 ${code}`);
    expect(JSON.stringify(answer.body)).not.toContain(CANARY);
  }
  expect(answers).toEqual(expected);
}

async function expectNothingChangedAndRecovered(h: Harness, agentKey: string) {
  const admin = h.admin.token;
  expect((await h.call('GET', '/api/v1/secrets/made_while_read_only', { token: admin })).status).toBe(404);
  expect((await h.call('GET', '/api/v1/agents/made_while_read_only', { token: admin })).status).toBe(404);
  const recovered = await h.call('GET', '/runtime/v1/secrets/guarded', { token: agentKey });
  expect(recovered.body.value, JSON.stringify(recovered.body?.error)).toBe(`${CANARY}-v1`);
  expect((await h.call('POST', '/api/v1/secrets', { token: admin, body: { name: 'made_after', value: 'v' } })).status).toBe(201);
  expect(h.logLines.join('\n')).not.toContain(CANARY);
}

describe('on SQLite, database files that cannot be written while the service runs', () => {
  let h: Harness;
  let agentKey: string;
  let files: string[];
  beforeAll(async () => {
    requireImmutableFiles();
    h = await startHarness('sqlite');
    agentKey = (await h.agentWithKey(h.admin.token, 'reader')).key;
    await h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { name: 'guarded', value: `${CANARY}-v1`, agents: ['reader'] } });
    // The database and its WAL; not the -shm, which SQLite maps into memory (a write to an immutable
    // mapping is SIGBUS, which no process survives: not a state a read-only mount can produce).
    files = [h.storage.where, `${h.storage.where}-wal`].filter((file) => existsSync(file));
    expect(files).toHaveLength(2);
  });
  afterAll(async () => {
    if (files) setImmutable(files, false);
    await h?.close();
  });

  it('answers every write 503 with no value, never 500, changes nothing, and recovers once it can write', async () => {
    setImmutable(files, true);
    try {
      await expectAllRefusedWith503(h, agentKey);
    } finally {
      setImmutable(files, false);
    }
    await expectNothingChangedAndRecovered(h, agentKey);
  });
});

describe('on PostgreSQL, a database that goes read-only while the service runs', () => {
  let h: Harness;
  let agentKey: string;
  let admin: pg.Client;
  let database: string;
  beforeAll(async () => {
    h = await startHarness('postgres');
    agentKey = (await h.agentWithKey(h.admin.token, 'reader')).key;
    await h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { name: 'guarded', value: `${CANARY}-v1`, agents: ['reader'] } });
    const url = new URL(h.storage.where);
    database = url.pathname.slice(1);
    url.pathname = '/postgres';
    admin = new pg.Client({ connectionString: url.toString() });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await h?.close();
  });
  // The setting holds for new sessions, so the pool's sessions are ended and it opens new ones.
  const dropConnections = () => admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [database]);

  it('answers every write 503 with no value, never 500, changes nothing, and recovers once it can write', async () => {
    await admin.query(`alter database ${database} set default_transaction_read_only = on`);
    await dropConnections();
    try {
      // The first statement on each dropped session may see the drop itself (also a 503); then read-only.
      await h.call('GET', '/api/v1/secrets', { token: h.admin.token });
      await expectAllRefusedWith503(h, agentKey);
    } finally {
      await admin.query(`alter database ${database} reset default_transaction_read_only`);
      await dropConnections();
    }
    await h.call('GET', '/api/v1/secrets', { token: h.admin.token });
    await expectNothingChangedAndRecovered(h, agentKey);
  });
});

describe('starting the service on a store that cannot be written', () => {
  it('on SQLite, prints one line and exits non-zero', async () => {
    requireImmutableFiles();
    const dir = mkdtempSync(join(tmpdir(), 'agent-secrets-readonly-'));
    const data = join(dir, 'data');
    const file = join(data, 'agent-secrets.db');
    try {
      const init = await runCli(['init', '--admin-email', 'ops@example.com', '--data', data, '--json']);
      expect(init.code).toBe(0);
      setImmutable([file], true);
      const output = await failedStart(['--data', data]);
      expectOneLine(output, /^agent-secrets: .*database.*agent-secrets\.db/);
    } finally {
      if (existsSync(file)) setImmutable([file], false);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('on PostgreSQL, prints one line and exits non-zero', async () => {
    const { storage, dispose } = await freshStore('postgres');
    const url = new URL(storage.where);
    const name = url.pathname.slice(1);
    const adminUrl = new URL(storage.where);
    adminUrl.pathname = '/postgres';
    const admin = new pg.Client({ connectionString: adminUrl.toString() });
    await admin.connect();
    try {
      await admin.query(`alter database ${name} set default_transaction_read_only = on`);
      const output = await failedStart(['--database-url', storage.where], { AGENT_SECRETS_MASTER_KEY: randomBytes(32).toString('base64') });
      expectOneLine(output, /^agent-secrets: .*database/);
    } finally {
      await admin.query(`alter database ${name} reset default_transaction_read_only`);
      await admin.end();
      await dispose();
    }
  });
});
