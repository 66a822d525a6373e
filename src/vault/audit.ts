import type { AuditAction, AuditOutcome } from '../domain/audit.js';
import { VaultError } from '../domain/errors.js';
import { auditWrites, type AuditWrites, type NewAuditEvent } from '../store/audit.js';
import type { Store, Tx } from '../store/database.js';
import { latestPerGrant, type LastRead } from '../store/readEvents.js';
import type { Actor } from './callers.js';
import { nowIso } from './ids.js';
import type { Log } from './log.js';

/** What happened, as the vault describes it; becomes one audit event. */
export interface AuditEntry {
  actor: Actor;
  action: AuditAction;
  outcome: AuditOutcome;
  secret?: { id: string | null; name: string } | undefined;
  version?: number | null | undefined;
  agent?: { id: string; name: string } | undefined;
  /** Names and counts only (never a value): e.g. the agents an access list was set to. */
  detail?: Record<string, unknown> | undefined;
}

export function auditRow(accountId: string, entry: AuditEntry, at: string): NewAuditEvent {
  return {
    account_id: accountId,
    at,
    actor_type: entry.actor.type,
    actor_id: entry.actor.id,
    actor_name: entry.actor.name,
    action: entry.action,
    secret_id: entry.secret?.id ?? null,
    secret_name: entry.secret?.name ?? null,
    version: entry.version ?? null,
    agent_id: entry.agent?.id ?? null,
    agent_name: entry.agent?.name ?? null,
    outcome: entry.outcome,
    detail: entry.detail === undefined ? null : JSON.stringify(entry.detail),
  };
}

export type RecordAudit = (entry: AuditEntry) => void;

/** A read that was granted, so its grant's and secret's "last read" can be stamped with the event. */
export interface GrantUse {
  secretId: string;
  agentId: string;
}

/** The read events recorded together (see openBatch), and the promise all of those reads wait on. */
interface ReadBatch {
  events: NewAuditEvent[];
  lastRead: LastRead[];
  written: Promise<void>;
}

export const auditUnavailable = (): VaultError =>
  new VaultError('audit_unavailable', 'The audit trail cannot be written right now, so nothing is answered; try again shortly.');

/**
 * The audit trail. Changes write their events in the same transaction as the change. Run-time reads
 * are group-committed: the reads that record their events together go to the store's read-event writer
 * as one batch, at once, and batches that reach it while it is writing are committed together. Each read
 * is answered only when the transaction holding its event has committed (SPEC S13, fail closed).
 */
export class AuditTrail {
  private open: ReadBatch | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly writes: AuditWrites;

  constructor(
    private readonly store: Store,
    private readonly log: Log,
    /**
     * Only for bench/ to show what the audit costs: reads are answered without writing their events.
     * Breaks SPEC S13; nothing but the benchmark sets it, and the CLI has no way to.
     */
    private readonly benchmarkSkipReadEvents = false,
  ) {
    this.writes = auditWrites(store.db);
  }

  /**
   * Runs `work` and the audit events it records in one transaction: either both are stored or neither.
   * The account's chain lock is taken first, before any other write (see AuditWrites.lockChains).
   */
  async change<T>(accountId: string, work: (tx: Tx, record: RecordAudit) => Promise<T>): Promise<T> {
    return this.store.db.transaction().execute((tx) => this.changeWithin(tx, accountId, work));
  }

  /** As `change`, inside a transaction the caller already holds. */
  async changeWithin<T>(tx: Tx, accountId: string, work: (tx: Tx, record: RecordAudit) => Promise<T>): Promise<T> {
    const heads = await this.writes.lockChains(tx, [accountId]);
    const entries: AuditEntry[] = [];
    const result = await work(tx, (entry) => entries.push(entry));
    const at = nowIso();
    await this.writes.append(tx, heads, entries.map((entry) => auditRow(accountId, entry, at)));
    return result;
  }

  /** Resolves once the read's event is durable; rejects with audit_unavailable if it cannot be. */
  recordRead(accountId: string, entry: AuditEntry, use?: GrantUse): Promise<void> {
    if (this.benchmarkSkipReadEvents) return Promise.resolve();
    const batch = this.open ?? this.openBatch();
    const event = auditRow(accountId, entry, nowIso());
    batch.events.push(event);
    if (use) batch.lastRead.push({ ...use, at: event.at });
    return batch.written;
  }

  /** Waits for every read event recorded so far to be written (or refused). */
  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private openBatch(): ReadBatch {
    const batch: ReadBatch = { events: [], lastRead: [], written: Promise.resolve() };
    // Sent once the work that is already queued has run (process.nextTick fires after the current
    // run of promise callbacks): the reads that one revision lookup released all record their events
    // by then, so they share this message and its commit, and none waits for another turn of the
    // event loop. Not awaited by the next batch: that one goes out while this one is written, and the
    // writer merges what reaches it meanwhile.
    batch.written = new Promise<void>((resolve) => process.nextTick(resolve)).then(() => this.send(batch));
    this.open = batch;
    this.inFlight.add(batch.written);
    batch.written.then(
      () => this.inFlight.delete(batch.written),
      () => this.inFlight.delete(batch.written),
    );
    return batch;
  }

  private async send(batch: ReadBatch): Promise<void> {
    if (this.open === batch) this.open = undefined;
    try {
      await this.store.readEvents.write({ events: batch.events, lastRead: latestPerGrant(batch.lastRead) });
    } catch (error) {
      this.log.error({ failure: describe(error), events: batch.events.length }, 'audit batch could not be written; the reads fail closed');
      throw auditUnavailable();
    }
  }
}

/** An error as a log field: its class and message, which the store and crypto layers keep free of values. */
export function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
