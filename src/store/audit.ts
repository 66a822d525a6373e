import { GENESIS_HASH, chainHash, type AuditRecord } from '../domain/audit.js';
import type { Db, Tx } from './database.js';
import type { AuditEventsTable } from './schema.js';

export type NewAuditEvent = Omit<AuditRecord, 'seq'>;

/**
 * Takes the accounts' audit chain locks, in id order so that two transactions never wait on each
 * other in a circle. A no-op update is the lock on both databases: a row lock in PostgreSQL, the
 * write lock in SQLite. Every transaction that writes audit events takes it before any other write.
 */
export async function lockAuditChains(tx: Tx, accountIds: Iterable<string>): Promise<void> {
  for (const accountId of [...new Set(accountIds)].sort()) {
    await tx.updateTable('audit_heads').set((eb) => ({ seq: eb.ref('seq') })).where('account_id', '=', accountId).execute();
  }
}

/** Appends events to their accounts' chains; the caller holds the chain locks (lockAuditChains). */
export async function appendAuditEvents(tx: Tx, events: readonly NewAuditEvent[]): Promise<void> {
  const byAccount = new Map<string, NewAuditEvent[]>();
  for (const event of events) {
    const list = byAccount.get(event.account_id) ?? [];
    list.push(event);
    byAccount.set(event.account_id, list);
  }
  for (const [accountId, accountEvents] of byAccount) {
    const head = await tx
      .selectFrom('audit_heads')
      .select(['seq', 'hash'])
      .where('account_id', '=', accountId)
      .executeTakeFirstOrThrow();
    let { seq, hash } = head;
    const rows: AuditEventsTable[] = [];
    for (const event of accountEvents) {
      seq += 1;
      const record: AuditRecord = { ...event, seq };
      const next = chainHash(hash, record);
      rows.push({ ...record, prev_hash: hash, hash: next });
      hash = next;
    }
    // A bounded chunk size keeps each INSERT under SQLite's parameter limit.
    for (let i = 0; i < rows.length; i += 100) {
      await tx.insertInto('audit_events').values(rows.slice(i, i + 100)).execute();
    }
    await tx.updateTable('audit_heads').set({ seq, hash }).where('account_id', '=', accountId).execute();
  }
}

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
  if (q.since !== undefined) query = query.where('at', '>=', q.since);
  if (q.until !== undefined) query = query.where('at', '<', q.until);
  if (q.before !== undefined) query = query.where('seq', '<', q.before);
  return query.orderBy('seq', 'desc').limit(q.limit).execute();
}
