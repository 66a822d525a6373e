/**
 * How run-time reads' audit events reach the database: group commit (many batches, one write), and a
 * read answered only once its event can be read back by anyone else (SPEC S13), on both databases.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HeadSigner, NewAuditEvent } from '../../src/store/audit.js';
import { migrateToLatest, openStore, type Store } from '../../src/store/database.js';
import { groupCommit, readEventTransaction, type ReadEventBatch } from '../../src/store/readEvents.js';
import type { Vault } from '../../src/vault/index.js';
import { auditRow } from '../../src/vault/audit.js';
import { vaultWithReader } from '../support/reader.js';
import { DATABASES, freshStorage, type TestStorage } from '../support/stores.js';

const batchOf = (...names: string[]): ReadEventBatch => ({
  events: names.map((name) => ({ secret_name: name }) as NewAuditEvent),
  lastRead: names.map((name) => ({ secretId: name, agentId: 'a', environment: 'live', version: 1, at: name })),
});

/** The group commit tests write nothing: any signer does, the same for every batch so that they merge. */
const signer = {} as HeadSigner;

describe('group commit', () => {
  it('merges the batches that arrive during a write into the next write, and settles each with its write', async () => {
    const writes: string[][] = [];
    let release: (() => void) | undefined;
    const write = groupCommit(
      async (batch) => {
        writes.push(batch.events.map((event) => event.secret_name ?? ''));
        if (writes.length === 2) throw new Error('disk full');
        await new Promise<void>((resolve) => (release = resolve));
      },
      { concurrency: 1, gatherTurn: false },
    );
    const first = write(batchOf('a'), signer);
    const during = [write(batchOf('b'), signer), write(batchOf('c', 'd'), signer)];
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toEqual([['a']]);
    release?.();
    await first;
    // b, c and d arrived while a was written: one write for all three, which fails for all three.
    for (const settled of await Promise.allSettled(during)) expect(settled.status).toBe('rejected');
    expect(writes).toEqual([['a'], ['b', 'c', 'd']]);
    // A later batch is written on its own and succeeds.
    const later = write(batchOf('e'), signer);
    await new Promise((resolve) => setImmediate(resolve));
    release?.();
    await later;
    expect(writes).toEqual([['a'], ['b', 'c', 'd'], ['e']]);
  });

  it('merges only batches of the same signer: a batch of another vault is written, and signed, on its own', async () => {
    const writes: Array<[string[], HeadSigner]> = [];
    let release: (() => void) | undefined;
    const write = groupCommit(
      async (batch, by) => {
        writes.push([batch.events.map((event) => event.secret_name ?? ''), by]);
        if (writes.length === 1) await new Promise<void>((resolve) => (release = resolve));
      },
      { concurrency: 1, gatherTurn: false },
    );
    const other = {} as HeadSigner;
    const first = write(batchOf('a'), signer);
    const rest = [write(batchOf('b'), signer), write(batchOf('c'), other), write(batchOf('d'), signer)];
    await new Promise((resolve) => setImmediate(resolve));
    release?.();
    await Promise.all([first, ...rest]);
    expect(writes).toEqual([
      [['a'], signer],
      [['b'], signer],
      [['c'], other],
      [['d'], signer],
    ]);
    // Also when the first waiting batch alone is over the bound of one write.
    writes.length = 0;
    const blocker = write(batchOf('x'), signer);
    const big = write(batchOf(...Array.from({ length: 2049 }, (_, i) => `big${i}`)), signer);
    const small = write(batchOf('e'), other);
    await new Promise((resolve) => setImmediate(resolve));
    release?.();
    await Promise.all([blocker, big, small]);
    expect(writes.map(([names, by]) => [names.length, by])).toEqual([
      [1, signer],
      [2049, signer],
      [1, other],
    ]);
  });

  it('keeps one "last read" stamp per grant when it merges, the latest', async () => {
    const merged: ReadEventBatch[] = [];
    let release: (() => void) | undefined;
    const write = groupCommit(
      async (batch) => {
        merged.push(batch);
        if (merged.length === 1) await new Promise<void>((resolve) => (release = resolve));
      },
      { concurrency: 1, gatherTurn: false },
    );
    const first = write(batchOf('x'), signer);
    const rest = [write({ events: [], lastRead: [{ secretId: 's', agentId: 'a', environment: 'live', version: 1, at: '1' }] }, signer), write({ events: [], lastRead: [{ secretId: 's', agentId: 'a', environment: 'live', version: 1, at: '2' }] }, signer)];
    await new Promise((resolve) => setImmediate(resolve));
    release?.();
    await Promise.all([first, ...rest]);
    expect(merged[1]?.lastRead).toEqual([{ secretId: 's', agentId: 'a', environment: 'live', version: 1, at: '2' }]);
  });
});

describe.each(DATABASES)('a read on %s', (kind) => {
  let storage: TestStorage;
  let store: Store;
  let other: Store;
  let vault: Vault;
  let agentKey: string;
  let caller: Awaited<ReturnType<Vault['people']['authenticateToken']>>;

  beforeAll(async () => {
    storage = await freshStorage(kind);
    store = openStore(storage.location);
    await migrateToLatest(store);
    other = openStore(storage.location);
    ({ vault, caller, agentKey } = await vaultWithReader(store, { name: 'audited', value: 'v' }));
  });
  afterAll(async () => {
    await other?.close();
    await vault?.close();
    await storage?.dispose();
  });

  it('is answered only when its audit event is committed: another connection sees every event at once', async () => {
    const reads = 25;
    const countReads = async () =>
      Number((await other.db.selectFrom('audit_events').select((eb) => eb.fn.countAll().as('n')).where('action', '=', 'secret.read').executeTakeFirstOrThrow()).n);
    const before = await countReads();
    await Promise.all(Array.from({ length: reads }, () => vault.runtime.readSecretForAgent(agentKey, 'audited')));
    // No flush: the answers themselves mean the events are stored.
    expect(await countReads()).toBe(before + reads);
  });

  it('writes a batch larger than one INSERT holds whole, in order, and the chain verifies', async () => {
    const events = 250;
    const before = await vault.auditLog.verifyAuditTrail(caller);
    const batch = Array.from({ length: events }, (_, i) =>
      auditRow(caller.accountId, { actor: { type: 'agent', id: 'agt_x', name: `reader ${i}` }, action: 'secret.read', outcome: 'denied', secret: { id: null, name: `s${i}` } }, new Date().toISOString()),
    );
    await readEventTransaction(store)({ events: batch, lastRead: [] }, await vault.audit.headSigner([caller.accountId]));
    const written = await other.db.selectFrom('audit_events').select(['seq', 'actor_name']).where('account_id', '=', caller.accountId).where('seq', '>', before.head.seq).orderBy('seq').execute();
    expect(written.map((row) => row.actor_name)).toEqual(batch.map((event) => event.actor_name));
    expect(written.map((row) => row.seq)).toEqual(batch.map((_, i) => before.head.seq + 1 + i));
    const after = await vault.auditLog.verifyAuditTrail(caller);
    expect(after).toMatchObject({ ok: true, firstBroken: null, head: { seq: before.head.seq + events } });
  });

  it('stamps "last read" to the second: a grant read back to back is rewritten once a second, never backwards, and at once when made anew', async () => {
    const grantOf = () => other.db.selectFrom('grants as g').innerJoin('secrets as s', 's.id', 'g.secret_id').select(['g.secret_id', 'g.agent_id', 'g.last_read_at as grant', 's.last_read_at as secret']).where('s.name', '=', 'audited').executeTakeFirstOrThrow();
    const { secret_id: secretId, agent_id: agentId } = await grantOf();
    const writeStamp = readEventTransaction(store);
    const stampAt = async (at: string) => {
      await writeStamp({ events: [], lastRead: [{ secretId, agentId, environment: 'live', version: 1, at }] }, signer);
      const row = await grantOf();
      return [row.grant, row.secret];
    };
    const t = Date.parse('2030-01-01T00:00:00.000Z');
    const iso = (ms: number) => new Date(t + ms).toISOString();
    expect(await stampAt(iso(0))).toEqual([iso(0), iso(0)]);
    // Within the second: the rows (and their pages) are left as they are.
    expect(await stampAt(iso(999))).toEqual([iso(0), iso(0)]);
    expect(await stampAt(iso(1000))).toEqual([iso(1000), iso(1000)]);
    // A read stamped earlier (another instance, a late batch) never moves the stamp back.
    expect(await stampAt(iso(-5000))).toEqual([iso(1000), iso(1000)]);
    // A grant made anew starts without a stamp, and its first read stamps it whatever came before.
    await vault.secrets.setAccess(caller, 'audited', []);
    await vault.secrets.setAccess(caller, 'audited', ['reader']);
    expect((await grantOf()).grant).toBeNull();
    expect((await stampAt(iso(1500)))[0]).toBe(iso(1500));
  });

  it('is answered promptly while changes are written back to back', async () => {
    // Changes and read events are written by different connections on SQLite: neither may starve the other.
    let changing = true;
    let changes = 0;
    const changer = async (n: number) => {
      while (changing) {
        await vault.secrets.updateSecret(caller, 'audited', { description: `change ${n}-${changes++}` });
        // As requests would: each change is its own task, not a chain of microtasks starving the loop.
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    const changers = [changer(1), changer(2), changer(3)];
    const latencies: number[] = [];
    const until = Date.now() + 1500;
    while (Date.now() < until) {
      const started = performance.now();
      expect((await vault.runtime.readSecretForAgent(agentKey, 'audited')).value).toBe('v');
      latencies.push(performance.now() - started);
    }
    changing = false;
    await Promise.all(changers);
    expect(changes).toBeGreaterThan(10);
    expect(latencies.length).toBeGreaterThan(10);
    // Generous for a shared machine; starvation shows as seconds (SQLite's busy timeout), not milliseconds.
    expect(Math.max(...latencies)).toBeLessThan(1000);
  });
});

describe('read events on postgres, when another writer appends to the same chain', () => {
  it('one statement per batch once the chain is quiet; after another writer appends, the locking way until it is quiet again; the chain stays whole', async () => {
    const storage = await freshStorage('postgres');
    const statements: string[] = [];
    const store = openStore(storage.location, { onQuery: (sql) => statements.push(sql) });
    await migrateToLatest(store);
    // A second instance: its own pool and its own read-event writer on the same database.
    const other = openStore(storage.location);
    const { vault, caller, agentKey } = await vaultWithReader(store, { name: 'shared', value: 'v' });
    try {
      const auditStatementsOfARead = async () => {
        statements.length = 0;
        expect((await vault.runtime.readSecretForAgent(agentKey, 'shared')).value).toBe('v');
        return statements.filter((sql) => !sql.startsWith('select "revision"') && !sql.includes('from "agent_keys"'));
      };
      const oneStatement = /^\s*with head as/;
      const chainLock = /^update "audit_heads" set "seq" = "seq"/;
      // The first two batches take the chain lock: the second finds the chain where the first left it.
      expect((await auditStatementsOfARead()).some((sql) => chainLock.test(sql))).toBe(true);
      expect((await auditStatementsOfARead()).some((sql) => chainLock.test(sql))).toBe(true);
      expect(await auditStatementsOfARead()).toEqual([expect.stringMatching(oneStatement)]);

      const fromElsewhere = auditRow(caller.accountId, { actor: { type: 'agent', id: 'agt_elsewhere', name: 'elsewhere' }, action: 'secret.read', outcome: 'not_found', secret: { id: null, name: 'missing' } }, new Date().toISOString());
      await other.readEvents.write({ events: [fromElsewhere], lastRead: [] }, await vault.audit.headSigner([caller.accountId]));

      // The one statement writes nothing (the head moved), then the batch takes the chain lock first.
      const afterOther = await auditStatementsOfARead();
      expect(afterOther[0]).toMatch(oneStatement);
      expect(afterOther.some((sql) => chainLock.test(sql))).toBe(true);
      // After a miss the next batch goes the locking way too, without trying; it finds the chain where
      // this writer left it, so the batches after it are one statement each again.
      const backedOff = await auditStatementsOfARead();
      expect(backedOff.some((sql) => oneStatement.test(sql))).toBe(false);
      expect(backedOff.some((sql) => chainLock.test(sql))).toBe(true);
      expect(await auditStatementsOfARead()).toEqual([expect.stringMatching(oneStatement)]);
      expect(await auditStatementsOfARead()).toEqual([expect.stringMatching(oneStatement)]);

      const verified = await vault.auditLog.verifyAuditTrail(caller);
      expect(verified.ok).toBe(true);
      const reads = await other.db.selectFrom('audit_events').select('agent_name').where('action', '=', 'secret.read').orderBy('seq').execute();
      expect(reads.map((row) => row.agent_name)).toEqual(['reader', 'reader', 'reader', null, 'reader', 'reader', 'reader', 'reader']);
    } finally {
      await other.close();
      await vault.close();
      await storage.dispose();
    }
  });
});
