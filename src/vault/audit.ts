import { createPublicKey, type KeyObject } from 'node:crypto';
import { HeadSigningKeys, newAuditKey, publicKeyFingerprint } from '../crypto/auditSigning.js';
import type { AuditAction, AuditOutcome } from '../domain/audit.js';
import { VaultError } from '../domain/errors.js';
import { auditWrites, chainHasSignatures, insertAuditKey, loadAuditKey, type AuditWrites, type ChainHead, type HeadSigner, type NewAuditEvent } from '../store/audit.js';
import { isStorageUnavailable, type Store, type Tx } from '../store/database.js';
import { latestPerGrant, type LastRead } from '../store/readEvents.js';
import { OPERATOR, type Actor } from './callers.js';
import { nowIso } from './ids.js';
import type { Log } from './log.js';
import { noMetrics, type VaultMetrics } from './metrics.js';
import type { SealingService } from './sealing.js';

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

/** A read that was granted, so its grant's, secret's and environment's "last read" can be stamped with the event. */
export interface GrantUse {
  secretId: string;
  agentId: string;
  environment: string;
  version: number;
}

/** The read events recorded together (see openBatch), and the promise all of those reads wait on. */
interface ReadBatch {
  events: NewAuditEvent[];
  lastRead: LastRead[];
  written: Promise<void>;
}

export const auditUnavailable = (): VaultError =>
  new VaultError('audit_unavailable', 'The audit trail cannot be written right now, so nothing is answered; try again shortly.');

export interface AuditTrailOptions {
  /**
   * Only for bench/ to show what the audit costs: reads are answered without writing their events.
   * Breaks SPEC S13; nothing but the benchmark sets it, and the CLI has no way to.
   */
  benchmarkSkipReadEvents?: boolean;
  /**
   * Only for bench/ to show what signing costs: heads are written unsigned. Breaks SPEC section 5;
   * nothing but the benchmark sets it, and the CLI has no way to.
   */
  benchmarkUnsignedHeads?: boolean;
}

/**
 * The audit trail. Changes write their events in the same transaction as the change. Run-time reads
 * are group-committed: the reads that record their events together go to the store's read-event writer
 * as one batch, at once, and batches that reach it while it is writing are committed together. Each read
 * is answered only when the transaction holding its event has committed (SPEC S13, fail closed).
 *
 * Every commit signs the head it leaves with the account's audit key (SPEC section 5). The keys are
 * opened once per process and kept as KeyObjects; an account without one gets it on first need, made
 * under its chain lock with an `audit_key.create` event, the chain's first signed head, which covers
 * the history written before it as it stands then.
 */
export class AuditTrail {
  private open: ReadBatch | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly writes: AuditWrites;
  /** The audit keys opened so far: committed ones only, so a rolled-back creation is never used. */
  private readonly signer = new HeadSigningKeys();
  private readonly loading = new Map<string, Promise<void>>();
  private readonly store: Store;
  private readonly log: Log;
  private readonly metrics: VaultMetrics;
  private readonly sealing: Pick<SealingService, 'sealAccountAuditKey' | 'openAccountAuditKey'>;
  private readonly options: AuditTrailOptions;

  constructor(deps: { store: Store; log: Log; sealing: Pick<SealingService, 'sealAccountAuditKey' | 'openAccountAuditKey'>; metrics?: VaultMetrics }, options: AuditTrailOptions = {}) {
    this.store = deps.store;
    this.log = deps.log;
    this.metrics = deps.metrics ?? noMetrics;
    this.sealing = deps.sealing;
    this.options = options;
    this.writes = auditWrites(deps.store.db);
  }

  /**
   * Runs `work` and the audit events it records in one transaction: either both are stored or neither.
   * The account's chain lock is taken first, before any other write (see AuditWrites.lockChains).
   */
  async change<T>(accountId: string, work: (tx: Tx, record: RecordAudit) => Promise<T>): Promise<T> {
    let opened: KeyObject | null | undefined;
    const result = await this.store.db.transaction().execute((tx) =>
      this.changeWithKey(tx, accountId, work, (key) => {
        opened = key;
      }),
    );
    // Kept only once committed: a key made in a transaction that rolled back does not exist.
    if (opened !== undefined) this.signer.add(accountId, opened);
    return result;
  }

  /** As `change`, inside a transaction the caller already holds. */
  async changeWithin<T>(tx: Tx, accountId: string, work: (tx: Tx, record: RecordAudit) => Promise<T>): Promise<T> {
    return this.changeWithKey(tx, accountId, work, () => undefined);
  }

  private async changeWithKey<T>(tx: Tx, accountId: string, work: (tx: Tx, record: RecordAudit) => Promise<T>, onKey: (key: KeyObject | null) => void): Promise<T> {
    let heads = await this.writes.lockChains(tx, [accountId]);
    let signer = this.signer;
    if (!signer.has(accountId)) {
      const found = await this.keyWithin(tx, accountId, heads);
      ({ signer, heads } = found);
      onKey(found.key);
    }
    const entries: AuditEntry[] = [];
    const result = await work(tx, (entry) => entries.push(entry));
    const at = nowIso();
    await this.writes.append(tx, heads, entries.map((entry) => auditRow(accountId, entry, at)), signer);
    return result;
  }

  /**
   * Under the account's chain lock: opens its audit key, or makes it (sealed under the account's data
   * key) and records that with the chain's first signed head. Returns a signer for this transaction
   * only: the trail keeps the key once the transaction has committed.
   */
  private async keyWithin(tx: Tx, accountId: string, heads: Map<string, ChainHead>): Promise<{ signer: HeadSigningKeys; heads: Map<string, ChainHead>; key: KeyObject | null }> {
    const signer = new HeadSigningKeys();
    const row = await loadAuditKey(tx, accountId);
    if (row) {
      const key = this.usable(await this.sealing.openAccountAuditKey(tx, row));
      signer.add(accountId, key);
      return { signer, heads, key };
    }
    // A chain already signed lost its key: a new one would sign over whatever the database now holds.
    if (await chainHasSignatures(tx, accountId)) {
      throw new VaultError(
        'audit_unavailable',
        'The audit key of this account is missing from the database although its audit trail is signed; restore it from a backup. Nothing was changed.',
      );
    }
    const created = newAuditKey();
    await insertAuditKey(tx, { account_id: accountId, ...(await this.sealing.sealAccountAuditKey(tx, accountId, created)), created_at: nowIso() });
    const key = this.usable(created);
    signer.add(accountId, key);
    const event = auditRow(accountId, { actor: OPERATOR, action: 'audit_key.create', outcome: 'success', detail: { publicKey: publicKeyFingerprint(created) } }, nowIso());
    const written = await this.writes.append(tx, heads, [event], signer, { startsSigning: true });
    return { signer, heads: new Map([...heads, ...written]), key };
  }

  private usable(key: KeyObject): KeyObject | null {
    return this.options.benchmarkUnsignedHeads ? null : key;
  }

  /** Opens the accounts' audit keys not opened yet (making one where none exists); undefined when all are. */
  private keysFor(events: readonly NewAuditEvent[]): Promise<void> | undefined {
    let waits: Array<Promise<void>> | undefined;
    let previous: string | undefined;
    for (const { account_id: accountId } of events) {
      if (accountId === previous) continue;
      previous = accountId;
      if (this.signer.has(accountId)) continue;
      let loading = this.loading.get(accountId);
      if (loading === undefined) {
        loading = this.loadKey(accountId).finally(() => this.loading.delete(accountId));
        this.loading.set(accountId, loading);
      }
      (waits ??= []).push(loading);
    }
    return waits && Promise.all(waits).then(() => undefined);
  }

  private async loadKey(accountId: string): Promise<void> {
    const row = await loadAuditKey(this.store.db, accountId);
    if (row) this.signer.add(accountId, this.usable(await this.sealing.openAccountAuditKey(this.store.db, row)));
    // None yet: made under the chain lock, by a change that records only that.
    else await this.change(accountId, async () => undefined);
  }

  /** The signer of these accounts' heads, their keys opened (for the benchmark and tests that write batches themselves). */
  async headSigner(accountIds: readonly string[]): Promise<HeadSigner> {
    await this.keysFor(accountIds.map((accountId) => ({ account_id: accountId }) as NewAuditEvent));
    return this.signer;
  }

  /** The account's audit public key (made, with its event, if the account has none yet). */
  async publicKey(accountId: string): Promise<KeyObject> {
    const row = await loadAuditKey(this.store.db, accountId);
    if (!row) await this.change(accountId, async () => undefined);
    const stored = row ?? (await loadAuditKey(this.store.db, accountId));
    if (!stored) throw new Error(`account ${accountId} has no audit key`);
    // Derived from the private key, never read from the database (crypto/auditSigning.ts).
    return createPublicKey(await this.sealing.openAccountAuditKey(this.store.db, stored));
  }

  /** Resolves once the read's event is durable; rejects with audit_unavailable if it cannot be. */
  recordRead(accountId: string, entry: AuditEntry, use?: GrantUse): Promise<void> {
    if (this.options.benchmarkSkipReadEvents) return Promise.resolve();
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
    const sent = performance.now();
    try {
      // Once per account and process: afterwards keysFor answers undefined and nothing is awaited.
      const keys = this.keysFor(batch.events);
      if (keys) await keys;
      await this.store.readEvents.write({ events: batch.events, lastRead: latestPerGrant(batch.lastRead) }, this.signer);
    } catch (error) {
      this.log.error({ failure: describe(error), events: batch.events.length }, 'audit batch could not be written; the reads fail closed');
      this.metrics.auditBatchFailed(batch.events.length);
      if (isStorageUnavailable(error)) this.metrics.storageError('audit_write');
      throw auditUnavailable();
    }
    this.metrics.auditBatch(batch.events.length, (performance.now() - sent) / 1000);
  }
}

/** An error as a log field: its class and message, which the store and crypto layers keep free of values. */
export function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  // An error that crossed a thread (the start of the SQLite audit writer's) may arrive as a plain
  // object, at times holding only its code ({"code": "SQLITE_READONLY"}).
  if (typeof error === 'object' && error !== null) {
    const { name, message, code } = error as { name?: unknown; message?: unknown; code?: unknown };
    const text = [message, code].filter((part) => typeof part === 'string').join(' ');
    if (text !== '') return `${typeof name === 'string' ? name : 'Error'}: ${text}`;
  }
  return String(error);
}
