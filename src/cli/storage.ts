import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MASTER_KEY_ENV, createMasterKeyFile, parseMasterKey, readMasterKeyFile, type MasterKey } from '../crypto/masterKey.js';
import { migrateToLatest, openStore, type Store, type StoreLocation } from '../store/database.js';
import { checkWritable } from '../store/writable.js';
import type { Log } from '../vault/log.js';
import type { VaultMetrics } from '../vault/metrics.js';
import { ConfigError } from './configError.js';
import { createVault, type BrokerOptions, type Vault } from '../vault/index.js';
import type { OidcOptions } from '../vault/oidcClient.js';

/** The flags every command that touches storage takes (SPEC section 4). */
export interface StorageFlags {
  data: string;
  databaseUrl?: string | undefined;
  masterKeyFile?: string | undefined;
}

export const DATABASE_URL_ENV = 'AGENT_SECRETS_DATABASE_URL';
export const DATABASE_FILE = 'agent-secrets.db';
export const MASTER_KEY_FILE = 'master.key';

interface ResolvedStorage {
  location: StoreLocation;
  masterKey: MasterKey;
  /** What to tell a person about where things are kept. */
  description: string;
}

/**
 * Where the data and the master key are. The embedded default keeps both under --data (the folder
 * 0700, the key 0600); on a brand-new folder the key is made when `createIfMissing` allows it.
 * PostgreSQL takes the key from --master-key-file or AGENT_SECRETS_MASTER_KEY.
 */
export function resolveStorage(flags: StorageFlags, createIfMissing: boolean): ResolvedStorage {
  const url = flags.databaseUrl ?? process.env[DATABASE_URL_ENV];
  if (url !== undefined && url !== '') {
    if (!/^postgres(ql)?:\/\//.test(url)) throw new ConfigError('--database-url must be a postgres:// or postgresql:// URL');
    return { location: { kind: 'postgres', url }, masterKey: masterKeyForPostgres(flags), description: `PostgreSQL ${redactUrl(url)}` };
  }
  const dir = resolve(flags.data);
  const file = join(dir, DATABASE_FILE);
  const keyFile = flags.masterKeyFile ? resolve(flags.masterKeyFile) : join(dir, MASTER_KEY_FILE);
  const fresh = !existsSync(file);
  let masterKey: MasterKey;
  if (existsSync(keyFile)) {
    masterKey = readMasterKeyFile(keyFile);
  } else if (process.env[MASTER_KEY_ENV]) {
    masterKey = parseMasterKey(process.env[MASTER_KEY_ENV] ?? '', MASTER_KEY_ENV);
  } else if (fresh && createIfMissing) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    masterKey = createMasterKeyFile(keyFile);
  } else if (fresh) {
    throw new ConfigError(`no vault at ${dir} yet: start it once with "agent-secrets serve --data ${flags.data}" or run "agent-secrets init"`);
  } else {
    throw new ConfigError(`master key file ${keyFile} is missing, and without it the data in ${file} cannot be opened`);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return { location: { kind: 'sqlite', file }, masterKey, description: `SQLite ${file} (master key ${existsSync(keyFile) ? keyFile : `from ${MASTER_KEY_ENV}`})` };
}

function masterKeyForPostgres(flags: StorageFlags): MasterKey {
  if (flags.masterKeyFile) return readMasterKeyFile(resolve(flags.masterKeyFile));
  const fromEnv = process.env[MASTER_KEY_ENV];
  if (fromEnv) return parseMasterKey(fromEnv, MASTER_KEY_ENV);
  throw new ConfigError(`with --database-url, give the master key with --master-key-file FILE or the ${MASTER_KEY_ENV} environment variable`);
}

/** A URL as it may be printed: without its password. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://…';
  }
}

/**
 * Opens the store where the flags say and migrates it; with `requireWrites`, also proves it takes
 * writes. A database that cannot be opened, migrated or written is one clear line.
 */
export async function openMigratedStore(flags: StorageFlags, createIfMissing: boolean, requireWrites = false): Promise<{ store: Store; masterKey: MasterKey; description: string }> {
  const storage = resolveStorage(flags, createIfMissing);
  let store: Store | undefined;
  let step = 'cannot open the database';
  try {
    // Opening is inside too: a file SQLite cannot open (not permitted, read-only) is a setting to fix.
    store = openStore(storage.location);
    await migrateToLatest(store);
    step = 'the database does not take writes';
    if (requireWrites) await checkWritable(store);
  } catch (error) {
    await store?.close().catch(() => undefined);
    throw new ConfigError(`${step} (${storage.description}): ${error instanceof Error ? error.message : String(error)}`);
  }
  return { store, masterKey: storage.masterKey, description: storage.description };
}

/** Opens the store (migrating it) and the vault over it. */
export async function openVault(
  flags: StorageFlags,
  options: { createIfMissing: boolean; log: Log; requireWrites?: boolean; sso?: OidcOptions; metrics?: VaultMetrics; broker?: BrokerOptions },
): Promise<{ vault: Vault; store: Store; description: string }> {
  const { store, masterKey, description } = await openMigratedStore(flags, options.createIfMissing, options.requireWrites);
  return {
    vault: createVault({ store, masterKey, log: options.log, ...(options.sso ? { sso: options.sso } : {}), ...(options.metrics ? { metrics: options.metrics } : {}), ...(options.broker ? { broker: options.broker } : {}) }),
    store,
    description,
  };
}

