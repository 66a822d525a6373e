import { closeSync, openSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, type CompiledQuery, type LogEvent, type QueryResult, type Transaction } from 'kysely';
import pg from 'pg';
import { migrationProvider } from './migrations.js';
import { preparingPool } from './postgresPool.js';
import { postgresReadEventWriter } from './postgresReadEvents.js';
import { inProcessWriter, threadWriter, type ReadEventWriter } from './readEvents.js';
import { ServerSqliteDialect } from './sqliteDriver.js';
import { sharedWriteTurns } from './writeTurns.js';
import type { Database } from './schema.js';

export type DialectName = 'sqlite' | 'postgres';
export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;

/** What runs precompiled statements: a Kysely transaction, or the SQLite driver's direct transaction. */
export interface QueryRunner {
  executeQuery<R>(query: CompiledQuery<R>): Promise<QueryResult<R>>;
}

export type StoreLocation = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string; poolSize?: number };

export interface StoreOptions {
  /** SQLite, for the audit writer thread: its side of the turns it takes with the request thread (writeTurns.ts). */
  writerThreadTurns?: SharedArrayBuffer;
  /** Called with the text of every statement the database runs (tests count round trips with it). */
  onQuery?: (sql: string) => void;
}

/**
 * The database behind the vault. Callers get one Kysely instance and never ask which database it is;
 * the few differences (row locks, connection set-up) are answered here.
 */
export interface Store {
  readonly db: Db;
  readonly dialect: DialectName;
  /** One statement outside any transaction, by the shortest way the database offers (the hot path). */
  read<R>(query: CompiledQuery<R>): Promise<R[]>;
  /**
   * A write transaction for precompiled statements only, by the shortest way the database offers: on
   * SQLite without Kysely's per-statement machinery (the audit writer's loop), on PostgreSQL a Kysely one.
   */
  writeTransaction<T>(work: (runner: QueryRunner) => Promise<T>): Promise<T>;
  /**
   * Inside a write transaction: holds the account's row until the transaction ends, so that changes to
   * the account's people (roles, removals, passwords) run one at a time and each sees the one before it
   * committed. PostgreSQL locks the row (FOR NO KEY UPDATE: inserts that reference the account are not
   * held up); SQLite's write transactions begin IMMEDIATE and already hold the whole database.
   */
  lockAccount(tx: Tx, accountId: string): Promise<void>;
  /** Where run-time reads' audit events are written, batch by batch (see readEvents.ts). */
  readonly readEvents: ReadEventWriter;
  /** SQLite only: a per-connection setting (e.g. query_only), made on every connection the store has. */
  setPragma(pragma: string): Promise<void>;
  close(): Promise<void>;
}

// PostgreSQL returns int8 as text to avoid precision loss; our bigints (audit sequence numbers) fit a double.
pg.types.setTypeParser(20, (text) => Number(text));

export function openStore(location: StoreLocation, options: StoreOptions = {}): Store {
  const { onQuery } = options;
  const log = onQuery ? (event: LogEvent) => onQuery(event.query.sql) : undefined;
  if (location.kind === 'sqlite') {
    if (location.file !== ':memory:') createOwnerOnly(location.file);
    const connection = new BetterSqlite3(location.file);
    // WAL with full sync: an acknowledged write survives a crash of the process and of the machine.
    connection.pragma('journal_mode = WAL');
    connection.pragma('synchronous = FULL');
    connection.pragma('foreign_keys = ON');
    connection.pragma('busy_timeout = 5000');
    const onWriterThread = options.writerThreadTurns !== undefined;
    const turns = sharedWriteTurns(options.writerThreadTurns);
    const dialect = new ServerSqliteDialect(connection, onWriterThread ? turns.writerThread : turns.requestThread);
    const db = new Kysely<Database>({ dialect, ...(log ? { log } : {}) });
    const read = <R>(query: CompiledQuery<R>): Promise<R[]> => {
      onQuery?.(query.sql);
      return dialect.driver.read(query);
    };
    const writeTransaction = <T>(work: (runner: QueryRunner) => Promise<T>): Promise<T> => dialect.driver.transaction(work, onQuery);
    // An in-memory database exists only on its one connection, so its events are written there.
    const writer = location.file === ':memory:' || onWriterThread ? undefined : threadWriter(location.file, turns.buffer, onQuery);
    return {
      db,
      dialect: 'sqlite',
      read,
      writeTransaction,
      lockAccount: async () => undefined,
      readEvents: writer ?? inProcessWriter({ db, writeTransaction }),
      async setPragma(pragma) {
        connection.pragma(pragma);
        await writer?.setPragma(pragma);
      },
      async close() {
        await writer?.close();
        await db.destroy();
      },
    };
  }
  const pool = new pg.Pool({ connectionString: location.url, max: location.poolSize ?? 10 });
  // An idle client that loses its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: preparingPool(pool) }), ...(log ? { log } : {}) });
  const read = async <R>(query: CompiledQuery<R>): Promise<R[]> => (await db.executeQuery(query)).rows;
  const writeTransaction = <T>(work: (runner: QueryRunner) => Promise<T>): Promise<T> => db.transaction().execute((tx) => work(tx));
  return {
    db,
    dialect: 'postgres',
    read,
    writeTransaction,
    async lockAccount(tx, accountId) {
      await tx.selectFrom('accounts').select('id').where('id', '=', accountId).forNoKeyUpdate().execute();
    },
    readEvents: inProcessWriter({ db, writeTransaction }, postgresReadEventWriter({ db, writeTransaction })),
    setPragma: () => Promise.reject(new Error('pragmas are SQLite settings')),
    close: () => db.destroy(),
  };
}

/**
 * Makes a new database file owner-only before SQLite first opens it; SQLite gives its -wal and -shm
 * files the same mode. An existing file is not touched: SQLite's locks are POSIX advisory locks, which
 * belong to the process, and closing any descriptor of the file drops every lock the process holds on
 * it, so a file opened and closed here beside a live connection (the audit writer thread opens the same
 * file) would leave the server unlocked and let an outside client (the sqlite3 shell, a backup tool)
 * checkpoint and delete the WAL it is still writing into. 'wx' creates a brand-new file or fails, so
 * the descriptor closed here never belongs to a file any connection of this process has open.
 */
function createOwnerOnly(file: string): void {
  let descriptor: number;
  try {
    descriptor = openSync(file, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw error;
  }
  closeSync(descriptor);
}

export async function migrateToLatest(store: Store): Promise<void> {
  const migrator = new Migrator({ db: store.db, provider: migrationProvider(store.dialect) });
  const { error } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
}

const SQLITE_UNAVAILABLE = /^SQLITE_(READONLY|FULL|IOERR|BUSY|LOCKED|CANTOPEN|PROTOCOL)/;
// PostgreSQL classes: 08 connection exception, 53 insufficient resources (disk full), 57 operator
// intervention (shutdown, cannot connect now); 25006 read-only transaction.
const POSTGRES_UNAVAILABLE = /^(08|53|57)...$|^25006$/;
const NETWORK_UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND']);

/**
 * Whether an error means the database cannot do its work right now (read-only, full, unreachable,
 * shutting down) rather than a fault in the request or the data: callers answer 503 and try again.
 */
export function isStorageUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (SQLITE_UNAVAILABLE.test(code) || POSTGRES_UNAVAILABLE.test(code) || NETWORK_UNAVAILABLE.has(code)) return true;
  }
  // node-postgres reports a dropped connection or a pool time-out without a code.
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/.test(error.message);
}

/** Whether an error is a write refused by a primary key or unique constraint (two writers raced for one key). */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}
