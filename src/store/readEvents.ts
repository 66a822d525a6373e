import { extname } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { auditWrites, type ChainHead, type HeadSigner, type NewAuditEvent } from './audit.js';
import type { Store } from './database.js';

/** A granted read's "last read" stamp, written with its audit event: per grant, and per environment with the version read. */
export interface LastRead {
  secretId: string;
  agentId: string;
  environment: string;
  version: number;
  at: string;
}

/** The audit events of a batch of run-time reads, written (with their "last read" stamps) in one transaction. */
export interface ReadEventBatch {
  events: NewAuditEvent[];
  lastRead: LastRead[];
}

export interface ReadEventWriter {
  /**
   * Resolves once the batch is committed, each account's new head signed by `signer` (which must hold
   * the key of every account in the batch); rejects (nothing written) if it cannot be.
   */
  write(batch: ReadEventBatch, signer: HeadSigner): Promise<void>;
  /** Resolves when a batch would be written at once: a server awaits it before it listens. */
  ready(): Promise<void>;
  /** Resolves if the writer runs and its connection takes writes now (readiness); rejects with why not. */
  probe(): Promise<void>;
  close(): Promise<void>;
}

/** Writes one (merged) batch, signing each account's new head with `signer`. */
export type WriteBatch = (batch: ReadEventBatch, signer: HeadSigner) => Promise<unknown>;

/**
 * Writes a batch in one transaction of the given store: the chain locks, the events, the stamps.
 * Resolves with the chains' heads as the locks found them and as the batch left them.
 */
export function readEventTransaction(store: Pick<Store, 'db' | 'writeTransaction'>) {
  const writes = auditWrites(store.db);
  return (batch: ReadEventBatch, signer: HeadSigner): Promise<{ found: Map<string, ChainHead>; written: Map<string, ChainHead> }> =>
    store.writeTransaction(async (tx) => {
      const found = await writes.lockChains(
        tx,
        batch.events.map((event) => event.account_id),
      );
      const written = await writes.append(tx, found, batch.events, signer);
      for (const stamp of batch.lastRead) await writes.markRead(tx, stamp);
      return { found, written };
    });
}

/** Events per transaction at most when batches are merged: a bound on how long a chain lock is held. */
const MAX_GROUP_EVENTS = 2048;

/**
 * Group commit: a batch that arrives while `concurrency` writes are under way waits, together with every
 * other that arrives meanwhile, and they are then written as one. Each batch's promise settles with the
 * write that holds it. With `gatherTurn`, each write first lets a turn of the event loop go by, so that
 * what has arrived by then (messages, requests) joins it instead of paying for a write of its own.
 * Batches merge only with batches of the same signer (in a process there is one, its vault's).
 */
export function groupCommit(writeOne: WriteBatch, { concurrency, gatherTurn }: { concurrency: number; gatherTurn: boolean }): (batch: ReadEventBatch, signer: HeadSigner) => Promise<void> {
  const waiting: Array<{ batch: ReadEventBatch; signer: HeadSigner; resolve: () => void; reject: (error: unknown) => void }> = [];
  let writers = 0;

  async function writeWaiting(): Promise<void> {
    writers += 1;
    while (waiting.length > 0) {
      if (gatherTurn) await nextTurn();
      const first = waiting[0];
      if (first === undefined) break;
      // The first batch always goes; the ones after it while they fit and have the same signer.
      let events = first.batch.events.length;
      let take = 1;
      for (let next = waiting[take]; next !== undefined && next.signer === first.signer && (events += next.batch.events.length) <= MAX_GROUP_EVENTS; next = waiting[take]) take += 1;
      const group = waiting.splice(0, take);
      try {
        await writeOne(
          merge(group.map(({ batch }) => batch)),
          first.signer,
        );
        for (const { resolve } of group) resolve();
      } catch (error) {
        for (const { reject } of group) reject(error);
      }
    }
    writers -= 1;
  }

  return (batch, signer) =>
    new Promise<void>((resolve, reject) => {
      waiting.push({ batch, signer, resolve, reject });
      if (writers < concurrency) void writeWaiting();
    });
}

/** The latest of the given stamps for each key: at most one "last read" write per row in a batch. */
function latestBy(stamps: Iterable<LastRead>, keyOf: (stamp: LastRead) => string): LastRead[] {
  const latest = new Map<string, LastRead>();
  for (const stamp of stamps) {
    const key = keyOf(stamp);
    const known = latest.get(key);
    if (known === undefined || known.at <= stamp.at) latest.set(key, stamp);
  }
  return [...latest.values()];
}

/** One "last read" stamp per grant and environment, the latest. */
export const latestPerGrant = (stamps: Iterable<LastRead>): LastRead[] => latestBy(stamps, (stamp) => `${stamp.secretId}/${stamp.agentId}/${stamp.environment}`);

/** One "last read" stamp per secret, the latest: a secret read through several grants is stamped once. */
export const latestPerSecret = (stamps: Iterable<LastRead>): LastRead[] => latestBy(stamps, (stamp) => stamp.secretId);

function merge(batches: ReadEventBatch[]): ReadEventBatch {
  if (batches.length === 1 && batches[0]) return batches[0];
  return { events: batches.flatMap((batch) => batch.events), lastRead: latestPerGrant(batches.flatMap((batch) => batch.lastRead)) };
}

/**
 * On the store's own connections (PostgreSQL: the pool's, waiting on the network, not the CPU), with
 * `writeOne` writing each group; by default the general transaction.
 */
export function inProcessWriter(store: Pick<Store, 'db' | 'writeTransaction'>, writeOne: WriteBatch = readEventTransaction(store)): ReadEventWriter {
  // The writer is this store's own connections: probing the store probes it (see probeStorage).
  return { write: groupCommit(writeOne, { concurrency: 1, gatherTurn: true }), ready: async () => undefined, probe: async () => undefined, close: async () => undefined };
}

/**
 * What crosses to the writer thread and back. An account's audit key crosses once per thread, before
 * the first batch of that account (KeyObjects are cloneable): the thread signs its heads itself.
 */
export type WorkerRequest =
  | { id: number; batch: ReadEventBatch }
  | { id: number; pragma: string }
  | { id: number; ready: true }
  | { id: number; probe: true }
  | { id: number; auditKey: { accountId: string; key: unknown } };
export type WorkerReply = { id: number; failure?: { name: string; message: string; code?: string }; statements?: string[] };

/**
 * SQLite: batches are written on a thread of their own, on a connection of its own to the same file.
 * The INSERTs, the chain hashes and above all the commit's fsync then no longer hold up the thread
 * that answers requests. The two connections take turns (writeTurns.ts); SQLite's locking (WAL,
 * BEGIN IMMEDIATE, busy timeout) orders them with any other process. The thread starts on the first batch and is started again if it ever dies.
 */
export function threadWriter(file: string, writeTurns: SharedArrayBuffer, onQuery?: (sql: string) => void): ReadEventWriter & { setPragma(pragma: string): Promise<void> } {
  let worker: Worker | undefined;
  let nextId = 0;
  const pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  // The audit key the running thread holds for each account; a thread started anew gets them again,
  // and so does one whose key for an account is not the signer's (another vault on the same store).
  let keysSent = new Map<string, unknown>();
  // Per-connection settings made on the store (see Store.setPragma) hold for this connection too,
  // including one started later.
  const pragmas: string[] = [];

  const failAll = (error: Error) => {
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
  };

  function start(): Worker {
    keysSent = new Map<string, unknown>();
    const started = spawnWriter({ file, writeTurns, pragmas: [...pragmas], traceStatements: onQuery !== undefined });
    started.on('message', (reply: WorkerReply) => {
      for (const statement of reply.statements ?? []) onQuery?.(statement);
      const waiting = pending.get(reply.id);
      if (!waiting) return;
      pending.delete(reply.id);
      if (pending.size === 0) started.unref();
      if (reply.failure === undefined) waiting.resolve();
      else waiting.reject(Object.assign(new Error(reply.failure.message), { name: reply.failure.name, code: reply.failure.code }));
    });
    started.on('error', (error) => failAll(error));
    started.on('exit', () => {
      if (worker === started) worker = undefined;
      failAll(new Error('the audit writer thread stopped'));
    });
    return started;
  }

  function send(request: WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never): Promise<void> {
    worker ??= start();
    const id = ++nextId;
    return new Promise<void>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      // The thread keeps the process alive only while it has work: an idle writer must not.
      worker?.ref();
      worker?.postMessage({ ...request, id });
    });
  }

  /** Sends the thread the audit keys of the batch's accounts it does not hold yet, then the batch. */
  function sendBatch(batch: ReadEventBatch, signer: HeadSigner): Promise<void> {
    worker ??= start();
    let previous: string | undefined;
    for (const { account_id: accountId } of batch.events) {
      if (accountId === previous) continue;
      previous = accountId;
      const key = signer.transferableKey(accountId);
      if (key === undefined) return Promise.reject(new Error(`the audit key of account ${accountId} is not loaded`));
      if (keysSent.get(accountId) === key) continue;
      // Messages arrive in order: the key is there before the batch. Its answer needs no waiting.
      void send({ auditKey: { accountId, key } }).catch(() => undefined);
      keysSent.set(accountId, key);
    }
    return send({ batch });
  }

  return {
    // Two batches in flight keep the thread busy (one being written, the next already there); what
    // comes meanwhile is merged here, so each message carries many events.
    write: groupCommit(sendBatch, { concurrency: 2, gatherTurn: false }),
    // The thread opens its connection before it answers: the first read then pays nothing for it.
    ready: () => send({ ready: true }),
    // A thread that died is started anew by send(), and the probe then proves the new one.
    probe: () => send({ probe: true }),
    async setPragma(pragma) {
      pragmas.push(pragma);
      if (worker) await send({ pragma });
    },
    async close() {
      const stopping = worker;
      worker = undefined;
      await stopping?.terminate();
    },
  };
}

export interface WriterThreadData {
  file: string;
  /** The shared flags by which this thread's connection and the request thread's take turns (writeTurns.ts). */
  writeTurns: SharedArrayBuffer;
  pragmas: string[];
  /** Report each statement run back with the reply (the store's onQuery, for tests that count them). */
  traceStatements: boolean;
}

function spawnWriter(workerData: WriterThreadData): Worker {
  const here = fileURLToPath(import.meta.url);
  const entry = new URL(`./readEventThread${extname(here)}`, import.meta.url);
  if (extname(here) === '.ts') {
    // Running from source (tests, benchmarks): the thread needs the same TypeScript loader.
    return new Worker(`import('tsx/esm/api').then((tsx) => tsx.register()).then(() => import(${JSON.stringify(entry.href)}))`, {
      eval: true,
      workerData,
    });
  }
  return new Worker(entry, { workerData });
}
