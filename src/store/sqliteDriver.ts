import type BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, SqliteDialect, type DatabaseConnection, type Driver, type QueryResult } from 'kysely';
import type { QueryRunner } from './database.js';
import type { WriteTurn } from './writeTurns.js';

/**
 * Kysely's SQLite dialect with a driver fit for a server: SQLite has one connection, and under load
 * hundreds of requests wait for it. Kysely's own driver wakes every waiter at each release and
 * prepares every statement anew; this one hands the connection to waiters in arrival order and keeps
 * prepared statements. Transactions start with BEGIN IMMEDIATE, so a transaction never has to upgrade
 * a read lock to a write lock that another process (the CLI's operator commands) already holds.
 */
export class ServerSqliteDialect extends SqliteDialect {
  readonly driver: ServerSqliteDriver;

  constructor(database: BetterSqlite3.Database, writeTurn?: WriteTurn) {
    super({ database });
    this.driver = new ServerSqliteDriver(database, writeTurn);
  }

  override createDriver(): Driver {
    return this.driver;
  }
}

const STATEMENT_CACHE_SIZE = 256;
const BEGIN = CompiledQuery.raw('begin immediate');
const COMMIT = CompiledQuery.raw('commit');
const ROLLBACK = CompiledQuery.raw('rollback');

class ServerSqliteConnection implements DatabaseConnection {
  private readonly statements = new Map<string, BetterSqlite3.Statement>();

  constructor(private readonly db: BetterSqlite3.Database) {}

  private statement(sql: string): BetterSqlite3.Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      // Queries with variable-length lists make new texts; a bound keeps the cache from growing without end.
      if (this.statements.size >= STATEMENT_CACHE_SIZE) this.statements.delete(this.statements.keys().next().value as string);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    return Promise.resolve(this.run<R>(compiledQuery));
  }

  /** The statement itself. Kysely wraps executeQuery with its logging; read() comes here directly. */
  run<R>(compiledQuery: CompiledQuery): QueryResult<R> {
    const statement = this.statement(compiledQuery.sql);
    const parameters = compiledQuery.parameters as unknown[];
    if (statement.reader) return { rows: statement.all(parameters) as R[] };
    const { changes, lastInsertRowid } = statement.run(parameters);
    return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming is not used');
  }
}

export class ServerSqliteDriver implements Driver {
  private readonly connection: ServerSqliteConnection;
  private held = false;
  private readonly waiting: Array<() => void> = [];
  constructor(
    private readonly db: BetterSqlite3.Database,
    /** Turns with the other connection of this process that writes (see writeTurns.ts). */
    private readonly writeTurn?: WriteTurn,
  ) {
    this.connection = new ServerSqliteConnection(db);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    if (this.held) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.held = true;
    return this.connection;
  }

  async releaseConnection(): Promise<void> {
    const next = this.waiting.shift();
    if (next) next();
    else this.held = false;
  }

  /**
   * One statement outside Kysely's executor, for the hot path. When no transaction holds the connection
   * it runs at once: a synchronous call cannot interleave with anything, and nothing uncommitted can be
   * seen. Otherwise it waits its turn like any other statement.
   */
  async read<R>(query: CompiledQuery<R>): Promise<R[]> {
    if (!this.held) return this.connection.run<R>(query).rows;
    await this.acquireConnection();
    try {
      return this.connection.run<R>(query).rows;
    } finally {
      await this.releaseConnection();
    }
  }

  /**
   * A write transaction of precompiled statements outside Kysely's executor, whose per-statement
   * machinery costs more than SQLite takes to run them (the audit writer's loop). In turn like any other.
   */
  async transaction<T>(work: (runner: QueryRunner) => Promise<T>, onQuery?: (sql: string) => void): Promise<T> {
    await this.acquireConnection();
    const run = <R>(query: CompiledQuery<R>): QueryResult<R> => {
      onQuery?.(query.sql);
      return this.connection.run<R>(query);
    };
    try {
      await this.begin(() => run(BEGIN));
      try {
        const result = await work({ executeQuery: async (query) => run(query) });
        run(COMMIT);
        return result;
      } catch (error) {
        // A failed COMMIT (disk full, I/O error) may already have rolled back; nothing to undo then.
        if (this.db.inTransaction) run(ROLLBACK);
        throw error;
      }
    } finally {
      this.writeTurn?.ended();
      await this.releaseConnection();
    }
  }

  private async begin(run: () => unknown): Promise<void> {
    await this.writeTurn?.before();
    try {
      await run();
    } finally {
      this.writeTurn?.begun();
    }
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await this.begin(() => connection.executeQuery(BEGIN));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await connection.executeQuery(COMMIT);
    } finally {
      this.writeTurn?.ended();
    }
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      // A statement or COMMIT that failed for want of storage (read-only, full, I/O error) may have
      // rolled back already; a second ROLLBACK would fail and hide the error that says why (a 503).
      if (this.db.inTransaction) await connection.executeQuery(ROLLBACK);
    } finally {
      this.writeTurn?.ended();
    }
  }

  async destroy(): Promise<void> {
    this.db.close();
  }
}
