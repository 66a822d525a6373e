/**
 * SPEC S30: GET /readyz answers 200 only while storage answers and takes writes and the audit writer
 * runs; 503 naming the failed check otherwise, and 200 again once storage is back. /healthz, the
 * liveness check, answers throughout. Storage is really taken away: the SQLite files made immutable
 * (which stops root too), the PostgreSQL server stopped and started again.
 */
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReadEventWriter } from '../../src/store/readEvents.js';
import { READINESS_REUSE_MS } from '../../src/vault/readiness.js';
import { startEmbeddedPostgres, type EmbeddedServer } from '../support/embeddedPostgres.js';
import { startHarness, type Harness } from '../support/harness.js';
import { requireImmutableFiles, setImmutable } from '../support/immutable.js';
import { parsePrometheusText, valueOf } from '../support/promText.js';

const TOKEN = `metrics-${randomBytes(24).toString('base64url')}`;
const CANARY = `canary-ready-${randomBytes(4).toString('hex')}`;

async function scrape(h: Harness) {
  return parsePrometheusText(await (await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text());
}

const storageErrors = async (h: Harness, during: string) => valueOf(await scrape(h), 'agent_secrets_storage_errors_total', 'agent_secrets_storage_errors_total', { during });
const readinessErrors = (h: Harness) => storageErrors(h, 'readiness');
/** What the documented alert AgentSecretsAuditWritesFailing watches. */
const auditFailures = async (h: Harness) => valueOf(await scrape(h), 'agent_secrets_audit_batch_failures_total', 'agent_secrets_audit_batch_failures_total');

/** Polls /readyz until it answers `status` (storage coming back takes a reconnect), at most 10 s. */
async function readyzUntil(h: Harness, status: number): Promise<{ status: number; body: any }> {
  let answer = await h.call('GET', '/readyz');
  for (let waited = 0; answer.status !== status && waited < 10_000; waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    answer = await h.call('GET', '/readyz');
  }
  return answer;
}

async function seedReader(h: Harness): Promise<string> {
  const { key } = await h.agentWithKey(h.admin.token, 'reader');
  await h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { name: 'guarded', value: `${CANARY}-v1`, agents: ['reader'] } });
  return key;
}

const warnings = (h: Harness, message: string) => h.logLines.filter((line) => line.includes(message)).length;

describe('GET /readyz on SQLite', () => {
  let h: Harness;
  let agentKey: string;
  let files: string[] = [];
  beforeAll(async () => {
    requireImmutableFiles();
    h = await startHarness('sqlite', { metricsToken: TOKEN });
    agentKey = await seedReader(h);
    files = [h.storage.where, `${h.storage.where}-wal`].filter((file) => existsSync(file));
    expect(files).toHaveLength(2);
  });
  afterAll(async () => {
    if (files.length > 0) setImmutable(files, false);
    await h?.close();
  });

  it('answers 200 while the files take writes, 503 naming the audit writer while they do not, and 200 once they do again', async () => {
    expect(await h.call('GET', '/readyz')).toMatchObject({ status: 200, body: { ready: true } });
    const errorsBefore = await readinessErrors(h);
    const [auditFailuresBefore, auditWriteErrorsBefore] = [await auditFailures(h), await storageErrors(h, 'audit_write')];
    setImmutable(files, true);
    try {
      await readyzUntil(h, 503);
      for (let probe = 0; probe < 3; probe++) {
        const answer = await h.call('GET', '/readyz');
        // The files still read: it is the audit writer's commit that fails.
        expect([answer.status, answer.body.check, answer.body.error.code]).toEqual([503, 'audit_writer', 'unavailable']);
        expect(answer.body.error.message).toMatch(/^Not ready: /);
        // The database's own error (codes, paths) goes to the log, not to whoever can reach the port.
        expect(JSON.stringify(answer.body)).not.toMatch(/SQLITE|\/tmp\//);
      }
      expect((await h.call('GET', '/healthz')).status).toBe(200);
      expect((await h.call('GET', '/runtime/v1/secrets/guarded', { token: agentKey })).status).toBe(503);
    } finally {
      setImmutable(files, false);
    }
    expect(await readinessErrors(h)).toBeGreaterThan(errorsBefore);
    // The read refused meanwhile: its batch failed, which the documented alerts watch.
    expect([(await auditFailures(h)) - auditFailuresBefore, (await storageErrors(h, 'audit_write')) - auditWriteErrorsBefore]).toEqual([1, 1]);
    expect(await readyzUntil(h, 200)).toMatchObject({ status: 200, body: { ready: true } });
    expect((await h.call('GET', '/runtime/v1/secrets/guarded', { token: agentKey })).body.value).toBe(`${CANARY}-v1`);
    // Said once when lost and once when back, not at every probe.
    expect(warnings(h, 'not ready: the audit writer')).toBe(1);
    expect(warnings(h, 'ready again')).toBe(1);
    expect(h.logLines.join('\n')).not.toContain(CANARY);
  });

  it('probes the database at most once a second however fast /readyz is asked (it needs no credential)', async () => {
    setImmutable(files, true);
    try {
      await readyzUntil(h, 503);
      const before = await readinessErrors(h);
      const started = performance.now();
      await Promise.all(Array.from({ length: 20 }, () => h.call('GET', '/readyz')));
      for (let i = 0; i < 20; i++) expect((await h.call('GET', '/readyz')).status).toBe(503);
      const seconds = (performance.now() - started) / 1000;
      // Each probe counts one storage error: one per second that the 40 asks took, give or take one.
      expect(await readinessErrors(h) - before).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
    } finally {
      setImmutable(files, false);
    }
    expect(await readyzUntil(h, 200)).toMatchObject({ status: 200 });
  });

  it('answers 503 within its bound while an outside client holds the write lock, and the event loop keeps answering meanwhile', async () => {
    // The last answer (200) is not reused for what follows.
    await new Promise((resolve) => setTimeout(resolve, READINESS_REUSE_MS));
    const outside = new BetterSqlite3(h.storage.where);
    outside.exec('begin immediate');
    try {
      const started = Date.now();
      const readyz = h.call('GET', '/readyz');
      await new Promise((resolve) => setTimeout(resolve, 200));
      // A write probe on the request thread would hold the event loop in SQLite's busy wait here.
      const health = await h.call('GET', '/healthz');
      const answeredHealthAfter = Date.now() - started;
      const answer = await readyz;
      expect([health.status, answer.status, answer.body.check]).toEqual([200, 503, 'audit_writer']);
      expect(answeredHealthAfter).toBeLessThan(1500);
      expect(Date.now() - started).toBeLessThan(4000);
    } finally {
      outside.exec('rollback');
      outside.close();
    }
    expect(await readyzUntil(h, 200)).toMatchObject({ status: 200 });
  });

  it('answers 503 naming the audit writer when only the writer thread\'s connection cannot write', async () => {
    // query_only on the writer thread's connection alone: the request thread's still writes.
    const writer = h.vault.store.readEvents as ReadEventWriter & { setPragma(pragma: string): Promise<void> };
    await writer.setPragma('query_only = 1');
    try {
      const answer = await readyzUntil(h, 503);
      expect([answer.status, answer.body.check]).toEqual([503, 'audit_writer']);
      expect((await h.call('GET', '/runtime/v1/secrets/guarded', { token: agentKey })).body.error.code).toBe('audit_unavailable');
    } finally {
      await writer.setPragma('query_only = 0');
    }
    expect((await readyzUntil(h, 200)).status).toBe(200);
  });
});

describe('GET /readyz on PostgreSQL', () => {
  let server: EmbeddedServer;
  let h: Harness;
  let agentKey: string;
  beforeAll(async () => {
    server = await startEmbeddedPostgres();
    h = await startHarness('postgres', { metricsToken: TOKEN, postgresAdminUrl: server.url });
    agentKey = await seedReader(h);
  });
  afterAll(async () => {
    await h?.close();
    await server?.dispose();
  });

  it('answers 503 naming storage while the server is stopped, and 200 once it runs again', async () => {
    expect(await h.call('GET', '/readyz')).toMatchObject({ status: 200, body: { ready: true } });
    await server.stop();
    try {
      const answer = await readyzUntil(h, 503);
      expect([answer.status, answer.body.check]).toEqual([503, 'storage']);
      expect(JSON.stringify(answer.body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
      expect((await h.call('GET', '/healthz')).status).toBe(200);
      expect((await h.call('GET', '/runtime/v1/secrets/guarded', { token: agentKey })).status).toBe(503);
    } finally {
      await server.start();
    }
    expect(await readyzUntil(h, 200)).toMatchObject({ status: 200, body: { ready: true } });
    expect((await h.call('GET', '/runtime/v1/secrets/guarded', { token: agentKey })).body.value).toBe(`${CANARY}-v1`);
    expect(await readinessErrors(h)).toBeGreaterThanOrEqual(1);
    expect(warnings(h, 'ready again')).toBe(1);
  });

  it('answers 503 naming storage while the database is read-only, and 200 once it takes writes again', async () => {
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    const database = new URL(h.storage.where).pathname.slice(1);
    // The setting holds for new sessions: the pool's are ended, and it opens new ones.
    const readOnly = async (on: boolean) => {
      await admin.query(`alter database ${database} ${on ? 'set default_transaction_read_only = on' : 'reset default_transaction_read_only'}`);
      await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [database]);
    };
    try {
      await readOnly(true);
      try {
        expect(await readyzUntil(h, 503)).toMatchObject({ status: 503, body: { check: 'storage' } });
      } finally {
        await readOnly(false);
      }
      expect(await readyzUntil(h, 200)).toMatchObject({ status: 200, body: { ready: true } });
    } finally {
      await admin.end();
    }
  });
});
