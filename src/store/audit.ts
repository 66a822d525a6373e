import { GENESIS_HASH, chainHash, type AuditRecord } from '../domain/audit.js';
import { environmentDetailText, type Environment } from '../domain/environments.js';
import { sql, type CompiledQuery } from 'kysely';
import type { LastRead } from './readEvents.js';
import type { Db, QueryRunner, Tx } from './database.js';
import { precompile, precompileInOrder } from './precompiled.js';
import type { AuditEventsTable, AuditKeysTable } from './schema.js';

export type NewAuditEvent = Omit<AuditRecord, 'seq'>;

/** How exact a "last read" stamp is: it tells admins which grants are used (SPEC S15), to the second. */
export const LAST_READ_RESOLUTION_MS = 1000;

/** A stored stamp at or before this is rewritten by a read at `at`; a later one is left as it is. */
export const staleStampBefore = (at: string): string => new Date(Date.parse(at) - LAST_READ_RESOLUTION_MS).toISOString();

export interface ChainHead {
  seq: number;
  hash: string;
}

/**
 * Signs the head a commit leaves on an account's chain: the keyring's job (src/crypto/auditSigning.ts),
 * given to the store by the vault; the store only asks it, once per account and commit, and stores the
 * signature with the head's event. `previous` is the seq of the head the commit extended (the chain's
 * signed head before it), null only for the first signed head of a chain.
 */
export interface HeadSigner {
  /** The signature as text; null only from the benchmark's switch that measures what signing costs. */
  signHead(accountId: string, head: ChainHead, previous: number | null): string | null;
  /** The account's key as a value postMessage can carry to a writer thread (opaque here), if loaded. */
  transferableKey(accountId: string): unknown;
}

/** How a batch extends a chain: from a signed head (the usual), or as the first signed head of the chain. */
export interface AppendOptions {
  startsSigning?: boolean;
}

/**
 * One account's events as rows of its chain after `head`: numbered, each hashed over the one before,
 * and the last (the head they make) signed over the head they extend.
 */
export function chainRows(
  head: ChainHead,
  events: readonly NewAuditEvent[],
  signer: HeadSigner,
  options: AppendOptions = {},
): { rows: AuditEventsTable[]; head: ChainHead } {
  let { seq, hash } = head;
  const rows = events.map((event) => {
    seq += 1;
    // Every field by name, not by spreading the event: this runs for each read, on events the writer
    // thread has just deserialised, and one fixed shape costs a third of what two spreads do.
    const row: AuditEventsTable = {
      account_id: event.account_id,
      seq,
      at: event.at,
      actor_type: event.actor_type,
      actor_id: event.actor_id,
      actor_name: event.actor_name,
      action: event.action,
      secret_id: event.secret_id,
      secret_name: event.secret_name,
      version: event.version,
      agent_id: event.agent_id,
      agent_name: event.agent_name,
      outcome: event.outcome,
      detail: event.detail,
      prev_hash: hash,
      hash: '',
      signature: null,
    };
    row.hash = chainHash(hash, row);
    hash = row.hash;
    return row;
  });
  const last = rows[rows.length - 1];
  if (last) last.signature = signer.signHead(last.account_id, { seq, hash }, options.startsSigning ? null : head.seq);
  return { rows, head: { seq, hash } };
}

const EVENT_COLUMNS = [
  'account_id',
  'seq',
  'at',
  'actor_type',
  'actor_id',
  'actor_name',
  'action',
  'secret_id',
  'secret_name',
  'version',
  'agent_id',
  'agent_name',
  'outcome',
  'detail',
  'prev_hash',
  'hash',
  'signature',
] as const satisfies ReadonlyArray<keyof AuditEventsTable>;

/** Rows per INSERT at most: 100 × 17 parameters stays under SQLite's limit of 32,766. */
const ROWS_PER_INSERT = 100;

/**
 * The statements that write audit events, compiled once: appends happen on every run-time read, and
 * building them anew each time would cost more than the database takes to run them.
 */
export function auditWrites(db: Db) {
  // The no-op update is the lock on both databases (a row lock in PostgreSQL, the write lock in
  // SQLite), and RETURNING reads the head in the same round trip.
  const lockChain = precompile(
    (accountId: string) =>
      db
        .updateTable('audit_heads')
        .set((eb) => ({ seq: eb.ref('seq') }))
        .where('account_id', '=', accountId)
        .returning(['account_id', 'seq', 'hash']),
    1,
  );
  const writeHead = precompile(
    (accountId: string, seq: number, hash: string) => db.updateTable('audit_heads').set({ seq, hash }).where('account_id', '=', accountId),
    3,
  );
  // One compiled INSERT per number of rows seen, so a batch of any size is one statement.
  const inserts = new Map<number, (values: readonly unknown[]) => CompiledQuery>();
  const insertRows = (rows: readonly AuditEventsTable[]): CompiledQuery => {
    let insert = inserts.get(rows.length);
    if (insert === undefined) {
      const count = rows.length;
      insert = precompileInOrder((...values: unknown[]) => {
        const placeholderRows = Array.from({ length: count }, (_, r) =>
          Object.fromEntries(EVENT_COLUMNS.map((column, c) => [column, values[r * EVENT_COLUMNS.length + c]])),
        ) as unknown as AuditEventsTable[];
        return db.insertInto('audit_events').values(placeholderRows);
      }, count * EVENT_COLUMNS.length);
      inserts.set(count, insert);
    }
    // The values row by row, column by column: the order the statement was compiled with.
    const values = new Array<unknown>(rows.length * EVENT_COLUMNS.length);
    let i = 0;
    for (const row of rows) for (const column of EVENT_COLUMNS) values[i++] = row[column];
    return insert(values);
  };

  /**
   * Takes the accounts' audit chain locks, in id order so that two transactions never wait on each
   * other in a circle, and returns each chain's head. Every transaction that writes audit events
   * takes them before any other write.
   */
  async function lockChains(tx: QueryRunner, accountIds: Iterable<string>): Promise<Map<string, ChainHead>> {
    const heads = new Map<string, ChainHead>();
    for (const accountId of [...new Set(accountIds)].sort()) {
      const head = (await tx.executeQuery(lockChain(accountId))).rows[0];
      if (!head) throw new Error(`account ${accountId} has no audit chain`);
      heads.set(accountId, { seq: head.seq, hash: head.hash });
    }
    return heads;
  }

  /**
   * Appends events to their accounts' chains, after the heads that lockChains returned, each account's
   * new head signed by `signer`; returns the new heads.
   */
  async function append(
    tx: QueryRunner,
    heads: Map<string, ChainHead>,
    events: readonly NewAuditEvent[],
    signer: HeadSigner,
    options: AppendOptions = {},
  ): Promise<Map<string, ChainHead>> {
    const byAccount = new Map<string, NewAuditEvent[]>();
    for (const event of events) {
      const list = byAccount.get(event.account_id);
      if (list) list.push(event);
      else byAccount.set(event.account_id, [event]);
    }
    const written = new Map<string, ChainHead>();
    for (const [accountId, accountEvents] of byAccount) {
      const head = heads.get(accountId);
      if (!head) throw new Error(`the audit chain of account ${accountId} was not locked`);
      const chained = chainRows(head, accountEvents, signer, options);
      // Chunks keep each INSERT under SQLite's parameter limit.
      for (let first = 0; first < chained.rows.length; first += ROWS_PER_INSERT) {
        await tx.executeQuery(insertRows(chained.rows.slice(first, first + ROWS_PER_INSERT)));
      }
      await tx.executeQuery(writeHead(accountId, chained.head.seq, chained.head.hash));
      written.set(accountId, chained.head);
    }
    return written;
  }

  // A stamp is rewritten only when it is at least LAST_READ_RESOLUTION_MS older than the read: a grant
  // read back to back would otherwise rewrite its row and its secret's in every commit, two more pages
  // of the few a commit writes. An UPDATE that matches no row writes nothing. The test is on the stored
  // value itself, so it holds whoever wrote it (another instance, a grant made anew, a restore), and a
  // stamp never moves backwards. Stamps are ISO-8601 UTC text, which orders as the times do.
  const stampGrant = precompile(
    (at: string, secretId: string, agentId: string, staleBefore: string) =>
      db
        .updateTable('grants')
        .set({ last_read_at: at })
        .where('secret_id', '=', secretId)
        .where('agent_id', '=', agentId)
        .where((eb) => eb.or([eb('last_read_at', 'is', null), eb('last_read_at', '<=', staleBefore)])),
    4,
  );
  const stampSecret = precompile(
    (at: string, secretId: string, staleBefore: string) =>
      db
        .updateTable('secrets')
        .set({ last_read_at: at })
        .where('id', '=', secretId)
        .where((eb) => eb.or([eb('last_read_at', 'is', null), eb('last_read_at', '<=', staleBefore)])),
    3,
  );

  // Per environment, with the version read (SPEC S24): written only while the grant exists, so a read
  // that raced a revocation or deletion leaves no stamp behind; rewritten as the grant's stamp is
  // (when LAST_READ_RESOLUTION_MS old), or at once when the version read is another. The freshness
  // test is in the SELECT rather than the upsert's WHERE, so the PostgreSQL one-statement writer
  // (postgresReadEvents.ts) states it the same way.
  const stampEnvironment = precompile(
    (secretId: string, agentId: string, environment: string, version: number, at: string, staleBefore: string) =>
      db
        .insertInto('read_stamps')
        .columns(['secret_id', 'agent_id', 'environment', 'version', 'last_read_at'])
        .expression(
          db
            .selectNoFrom([
              sql<string>`cast(${secretId} as text)`.as('secret_id'),
              sql<string>`cast(${agentId} as text)`.as('agent_id'),
              sql<string>`cast(${environment} as text)`.as('environment'),
              sql<number>`cast(${version} as integer)`.as('version'),
              sql<string>`cast(${at} as text)`.as('last_read_at'),
            ])
            .where((w) =>
              w.and([
                w.exists(w.selectFrom('grants').select('grants.agent_id').where('grants.secret_id', '=', secretId).where('grants.agent_id', '=', agentId)),
                w.not(
                  w.exists(
                    w
                      .selectFrom('read_stamps as r')
                      .select('r.version')
                      .where('r.secret_id', '=', secretId)
                      .where('r.agent_id', '=', agentId)
                      .where('r.environment', '=', environment)
                      .where('r.version', '=', version)
                      .where('r.last_read_at', '>', staleBefore),
                  ),
                ),
              ]),
            ),
        )
        .onConflict((oc) =>
          oc.columns(['secret_id', 'agent_id', 'environment']).doUpdateSet((eb) => ({ version: eb.ref('excluded.version'), last_read_at: eb.ref('excluded.last_read_at') })),
        ),
    6,
  );

  /** Stamps "last read" on a grant, its secret (SPEC S15) and its environment (S24), to the second, in the batch that audits the read. */
  async function markRead(tx: QueryRunner, stamp: LastRead): Promise<void> {
    const staleBefore = staleStampBefore(stamp.at);
    await tx.executeQuery(stampGrant(stamp.at, stamp.secretId, stamp.agentId, staleBefore));
    await tx.executeQuery(stampSecret(stamp.at, stamp.secretId, staleBefore));
    await tx.executeQuery(stampEnvironment(stamp.secretId, stamp.agentId, stamp.environment, stamp.version, stamp.at, staleBefore));
  }

  return { lockChains, append, markRead };
}

export type AuditWrites = ReturnType<typeof auditWrites>;

export async function createAuditChain(tx: Tx, accountId: string): Promise<void> {
  await tx.insertInto('audit_heads').values({ account_id: accountId, seq: 0, hash: GENESIS_HASH }).execute();
}

export interface AuditQuery {
  accountId: string;
  secretName?: string;
  agent?: string;
  actor?: string;
  action?: string;
  outcome?: string;
  /** Events that name this environment in their detail (domain/environments.ts environmentDetailText). */
  environment?: Environment;
  since?: string;
  until?: string;
  /** Return events with seq below this (paging backwards from the newest). */
  before?: number;
  limit: number;
}

export async function queryAuditEvents(db: Db, q: AuditQuery): Promise<AuditEventsTable[]> {
  let query = db.selectFrom('audit_events').selectAll().where('account_id', '=', q.accountId);
  if (q.secretName !== undefined) query = query.where('secret_name', '=', q.secretName);
  if (q.agent !== undefined) {
    const agent = q.agent;
    query = query.where((eb) => eb.or([eb('agent_name', '=', agent), eb('agent_id', '=', agent)]));
  }
  if (q.actor !== undefined) {
    const actor = q.actor;
    query = query.where((eb) => eb.or([eb('actor_name', '=', actor), eb('actor_id', '=', actor)]));
  }
  if (q.action !== undefined) query = query.where('action', '=', q.action);
  if (q.outcome !== undefined) query = query.where('outcome', '=', q.outcome);
  // Environment names hold no LIKE wildcard, and the text cannot occur inside a JSON string (see environmentDetailText).
  if (q.environment !== undefined) query = query.where('detail', 'like', `%${environmentDetailText(q.environment)}%`);
  if (q.since !== undefined) query = query.where('at', '>=', q.since);
  if (q.until !== undefined) query = query.where('at', '<', q.until);
  if (q.before !== undefined) query = query.where('seq', '<', q.before);
  return query.orderBy('seq', 'desc').limit(q.limit).execute();
}

/** One account's events in chain order, a page at a time. */
export async function auditEventsAfter(db: Db, accountId: string, afterSeq: number, limit: number): Promise<AuditEventsTable[]> {
  return db.selectFrom('audit_events').selectAll().where('account_id', '=', accountId).where('seq', '>', afterSeq).orderBy('seq', 'asc').limit(limit).execute();
}

export async function auditHead(db: Db, accountId: string): Promise<ChainHead> {
  return db.selectFrom('audit_heads').select(['seq', 'hash']).where('account_id', '=', accountId).executeTakeFirstOrThrow();
}

/** The chain head with its event's signature and time, and the seq of the signed event before it (what it was signed over). */
export async function signedAuditHead(db: Db, accountId: string): Promise<ChainHead & { at: string | null; signature: string | null; previous: number | null }> {
  const head = await auditHead(db, accountId);
  const event = await db.selectFrom('audit_events').select(['at', 'signature']).where('account_id', '=', accountId).where('seq', '=', head.seq).executeTakeFirst();
  const previous = await db
    .selectFrom('audit_events')
    .select('seq')
    .where('account_id', '=', accountId)
    .where('seq', '<', head.seq)
    .where('signature', 'is not', null)
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  return { ...head, at: event?.at ?? null, signature: event?.signature ?? null, previous: previous?.seq ?? null };
}

/** Whether any event of the account's chain carries a signature. */
export async function chainHasSignatures(db: Db | Tx, accountId: string): Promise<boolean> {
  const row = await db.selectFrom('audit_events').select('seq').where('account_id', '=', accountId).where('signature', 'is not', null).limit(1).executeTakeFirst();
  return row !== undefined;
}

/** The account's audit key, sealed under one of its data keys (src/crypto/auditSigning.ts). */
export async function loadAuditKey(db: Db | Tx, accountId: string): Promise<AuditKeysTable | undefined> {
  return db.selectFrom('audit_keys').selectAll().where('account_id', '=', accountId).executeTakeFirst();
}

export async function insertAuditKey(tx: Tx, row: AuditKeysTable): Promise<void> {
  await tx.insertInto('audit_keys').values(row).execute();
}
