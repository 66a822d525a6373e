/**
 * Migration 0006_environments upgrades a store in place (SPEC S21, S22): the store in fixtures/ was made
 * by the code before environments (see fixtures/README.md), on
 * SQLite; the PostgreSQL store is the same rows copied into a database migrated to 0005. After the
 * upgrade every value is the default, every key a live key, the old keys still read, and the audit
 * chain the old code wrote still verifies.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Migrator, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { masterKeyFromBytes } from '../../src/crypto/masterKey.js';
import { migrateToLatest, openStore, type Store } from '../../src/store/database.js';
import { migrationProvider } from '../../src/store/migrations.js';
import { DATABASES, freshStorage, type TestStorage } from '../support/stores.js';
import { CANARY, vaultWith } from './fixture.js';

const FIXTURE = new URL('./fixtures/store-0005.db', import.meta.url).pathname;
// What the fixture's maker printed: the test-only master key's bytes, an agent key and an admin token.
const MASTER_KEY = masterKeyFromBytes(Buffer.alloc(32, 7));
const BOOKING_KEY = 'ask_8abe951799af8b11_LToW7NGfA5L2IkU1EeIgkq44D5KYT9k-ppm8g_SI-i0';
const ADMIN_TOKEN = 'asp_b590aba58453d82b__8OJeu8MYBHgEJ3Mefp8rHEhMcD8GuEgBaiLOR1mMls';
/** The fixture's tables in an order their foreign keys accept. */
const TABLES = ['accounts', 'users', 'sessions', 'personal_tokens', 'agents', 'agent_keys', 'data_keys', 'audit_keys', 'secrets', 'secret_versions', 'grants', 'audit_events', 'audit_heads'] as const;

/** A PostgreSQL store at 0005 holding the fixture's rows, as the code before environments left it. */
async function postgresAt0005(from: Store, storage: TestStorage): Promise<Store> {
  const store = openStore(storage.location);
  const migrator = new Migrator({ db: store.db, provider: migrationProvider('postgres') });
  const { error } = await migrator.migrateTo('0005_passwords');
  if (error) throw error;
  const source = from.db as unknown as Kysely<Record<string, Record<string, unknown>>>;
  const target = store.db as unknown as Kysely<Record<string, Record<string, unknown>>>;
  for (const table of TABLES) {
    const rows = await source.selectFrom(table).selectAll().execute();
    if (rows.length > 0) await target.insertInto(table).values(rows).execute();
  }
  return store;
}

describe.each(DATABASES)('migration 0006_environments on a store made before it, on %s', (kind) => {
  let dir: string;
  let storage: TestStorage | undefined;
  let store: Store;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agent-secrets-0006-'));
    const file = join(dir, 'store.db');
    copyFileSync(FIXTURE, file);
    const old = openStore({ kind: 'sqlite', file });
    const migrations = await old.db.selectFrom('kysely_migration' as never).select('name' as never).execute();
    expect(migrations.map((row) => (row as { name: string }).name)).toEqual(['0001_vault_core', '0002_master_key_rotation', '0003_read_revision', '0004_audit_signatures', '0005_passwords']);
    if (kind === 'sqlite') store = old;
    else {
      storage = await freshStorage('postgres');
      store = await postgresAt0005(old, storage);
      await old.close();
    }
    await migrateToLatest(store);
  });
  afterAll(async () => {
    await store?.close();
    await storage?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('makes every key a live key and every value a default, and the old key reads as before', async () => {
    const keys = await store.db.selectFrom('agent_keys').select('environment').execute();
    expect(keys.length).toBeGreaterThan(0);
    expect(new Set(keys.map((k) => k.environment))).toEqual(new Set(['live']));
    const versions = await store.db.selectFrom('secret_versions').select('environment').execute();
    expect(versions.length).toBe(8);
    expect(versions.every((v) => v.environment === null)).toBe(true);
    expect(await store.db.selectFrom('secret_overrides').selectAll().execute()).toEqual([]);

    const vault = vaultWith(store, MASTER_KEY);
    // The fixture wrote v1, v2, then restored v1 as v3.
    expect(await vault.runtime.readSecretForAgent(BOOKING_KEY, 'stripe_api_key')).toEqual({
      name: 'stripe_api_key',
      kind: 'single',
      version: 3,
      value: `${CANARY}-default-v1`,
      environment: 'live',
      source: 'default',
    });
    await vault.audit.flush();
  });

  it('keeps the audit chain the old code wrote verifiable, and takes overrides and new keys at once', async () => {
    const vault = vaultWith(store, MASTER_KEY);
    const admin = await vault.people.authenticateToken(ADMIN_TOKEN);
    expect((await vault.auditLog.verifyAuditTrail(admin)).ok).toBe(true);

    const sandbox = await vault.agents.createAgentKey(admin, 'booking', { name: 'sandbox', environment: 'sandbox' });
    await vault.secrets.updateSecret(admin, 'stripe_api_key', { value: `${CANARY}-test-key`, environment: 'sandbox' });
    expect(await vault.runtime.readSecretForAgent(sandbox.key, 'stripe_api_key')).toMatchObject({ version: 4, value: `${CANARY}-test-key`, source: 'override' });
    expect(await vault.runtime.readSecretForAgent(BOOKING_KEY, 'stripe_api_key')).toMatchObject({ version: 3, source: 'default' });
    const versions = await vault.secrets.listVersions(admin, 'stripe_api_key');
    expect(versions.map((v) => [v.version, v.environment, v.current])).toEqual([
      [4, 'sandbox', true],
      [3, null, true],
      [2, null, false],
      [1, null, false],
    ]);
    await vault.audit.flush();
    expect((await vault.auditLog.verifyAuditTrail(admin)).ok).toBe(true);
  });
});
