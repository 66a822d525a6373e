import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MASTER_KEY_ENV } from '../crypto/masterKey.js';
import { silentLog } from '../vault/log.js';
import { createMaintenance, type Maintenance } from '../vault/maintenance.js';
import { ConfigError } from './configError.js';
import { DATABASE_URL_ENV, MASTER_KEY_FILE, openMigratedStore, type StorageFlags } from './storage.js';

/** Runs `work` with the operator's maintenance over storage (migrated), closing it after. */
export async function withMaintenance<T>(flags: StorageFlags, work: (maintenance: Maintenance) => Promise<T>): Promise<T> {
  const { store, masterKey } = await openMigratedStore(flags, false);
  const maintenance = createMaintenance({ store, masterKey, log: silentLog });
  try {
    return await work(maintenance);
  } finally {
    await maintenance.close();
  }
}

/**
 * A restore goes into a store that does not exist yet, so no master key was made for it: it must be
 * given, and be the one the backup was made with (a fresh random key would only fail later).
 */
export function requireGivenMasterKey(flags: StorageFlags): void {
  const postgres = (flags.databaseUrl ?? process.env[DATABASE_URL_ENV] ?? '') !== '';
  if (postgres || flags.masterKeyFile || process.env[MASTER_KEY_ENV]) return;
  if (existsSync(join(resolve(flags.data), MASTER_KEY_FILE))) return;
  throw new ConfigError(
    `restore needs the master key the backup was made with: give it with --master-key-file FILE or ${MASTER_KEY_ENV}, or put it at ${join(flags.data, MASTER_KEY_FILE)} (mode 600)`,
  );
}
