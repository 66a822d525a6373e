import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { masterKeyFromBytes, type MasterKey } from '../../src/crypto/masterKey.js';
import { migrateToLatest, openStore, type Store, type StoreLocation } from '../../src/store/database.js';

export type DatabaseKind = 'sqlite' | 'postgres';
/** Every integration suite runs once per database. */
export const DATABASES: DatabaseKind[] = ['sqlite', 'postgres'];

export interface TestStorage {
  location: StoreLocation;
  /** Where the bytes live, for tests that look at them raw (SQLite file or database URL). */
  where: string;
  dispose(): Promise<void>;
}

/**
 * A brand-new empty database of the given kind; dispose() removes it. PostgreSQL: on the run's shared
 * server, or on the one at `postgresAdminUrl` (a test's own, to stop and start).
 */
export async function freshStorage(kind: DatabaseKind, postgresAdminUrl?: string): Promise<TestStorage> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'agent-secrets-test-'));
    const file = join(dir, 'test.db');
    return { location: { kind: 'sqlite', file }, where: file, dispose: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const adminUrl = postgresAdminUrl ?? inject('postgresUrl');
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    location: { kind: 'postgres', url: url.toString(), poolSize: 5 },
    where: url.toString(),
    dispose: async () => {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

export async function freshStore(kind: DatabaseKind, postgresAdminUrl?: string): Promise<{ store: Store; storage: TestStorage; dispose(): Promise<void> }> {
  const storage = await freshStorage(kind, postgresAdminUrl);
  const store = openStore(storage.location);
  await migrateToLatest(store);
  return {
    store,
    storage,
    dispose: async () => {
      await store.close();
      await storage.dispose();
    },
  };
}

export const testMasterKey = (): MasterKey => masterKeyFromBytes(randomBytes(32));
