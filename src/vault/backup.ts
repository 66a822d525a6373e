import { VaultError } from '../domain/errors.js';
import type { Keyring } from '../crypto/keyring.js';
import type { MasterKey } from '../crypto/masterKey.js';
import { ALL_TABLES, BACKUP_TABLES, type BackupTable } from '../store/backupTables.js';
import type { Store } from '../store/database.js';
import { migrationProvider } from '../store/migrations.js';
import type { DataKeysTable } from '../store/schema.js';
import { readSnapshot } from '../store/snapshot.js';
import { hasAnyRow, insertRows, pageOfRows, type Row } from '../store/tableRows.js';
import type { AuditTrail } from './audit.js';
import { BackupWriter, readBackup, readBackupHeader } from './backupFile.js';
import { OPERATOR } from './callers.js';
import { toWrapped } from './sealing.js';

const PAGE = 256;
/** Rows per INSERT: stays under SQLite's and PostgreSQL's parameter limits for the widest table. */
const PARAMETERS_PER_INSERT = 900;

export interface BackupSummary {
  counts: Record<string, number>;
  bytes: number;
  masterKeyId: string;
}

/**
 * Backup and restore (SPEC S18). A backup reads every table in one read-only snapshot while the service
 * keeps running, and writes the rows as they are stored: values stay sealed under their data keys, data
 * keys stay wrapped by the master key, tokens and agent keys are hashes. The file is sealed again as a
 * whole (see backupFile.ts). A restore goes into an empty store, in one transaction.
 */
export function backupService(deps: { store: Store; audit: AuditTrail; keyring: Keyring; masterKey: MasterKey }) {
  const { store, audit, keyring, masterKey } = deps;

  async function knownMigrations(): Promise<string[]> {
    return Object.keys(await migrationProvider(store.dialect).getMigrations());
  }

  /**
   * A data key this master key cannot open would make a backup that cannot be used with it: refuse
   * (it happens when a master key rotation has not been run to its end, or with the wrong key).
   */
  function checkOpens(row: DataKeysTable): void {
    try {
      keyring.openDataKey(toWrapped(row));
    } catch {
      throw new VaultError(
        'conflict',
        `Data key ${row.id} is not wrapped by the configured master key ${masterKey.id} (it is wrapped by ${row.master_key_id}). ` +
          'Use the master key the store is wrapped with, or resume the master key rotation first.',
      );
    }
  }

  async function backup(path: string): Promise<BackupSummary> {
    const writer = await BackupWriter.create(path, masterKey, await knownMigrations());
    const counts: Record<string, number> = {};
    const accounts: string[] = [];
    let bytes: number;
    try {
      await readSnapshot(store, async (db) => {
        for (const [name, table] of BACKUP_TABLES) {
          let count = 0;
          let after: unknown[] | undefined;
          for (;;) {
            const rows = await pageOfRows(db, name, table.key, after, PAGE);
            for (const row of rows) {
              if (name === 'data_keys') checkOpens(row as unknown as DataKeysTable);
              if (name === 'accounts') accounts.push(String(row.id));
              await writer.add({ t: name, r: encodeRow(table, row) });
            }
            count += rows.length;
            const lastRow = rows[rows.length - 1];
            if (rows.length < PAGE || lastRow === undefined) break;
            after = table.key.map((column) => lastRow[column]);
          }
          counts[name] = count;
        }
      });
      ({ bytes } = await writer.finish(counts));
    } catch (error) {
      await writer.abandon();
      throw error;
    }
    // Recorded once the file is complete, after the snapshot, so the backup holds the chain as it was.
    for (const accountId of accounts) {
      await audit.change(accountId, async (_tx, record) => {
        record({ actor: OPERATOR, action: 'vault.backup', outcome: 'success', detail: { masterKeyId: masterKey.id, secretVersions: counts.secret_versions ?? 0 } });
      });
    }
    return { counts, bytes, masterKeyId: masterKey.id };
  }

  /** Restores a backup into this store, which must be empty; all or nothing. */
  async function restore(path: string): Promise<BackupSummary> {
    const header = await readBackupHeader(path);
    const known = new Set(await knownMigrations());
    const newer = header.migrations.filter((name) => !known.has(name));
    if (newer.length > 0) {
      throw new VaultError('invalid_input', `The backup comes from a newer agent-secrets (schema ${newer.join(', ')}); restore it with that version.`);
    }
    const tables = new Map(BACKUP_TABLES);
    return store.db.transaction().execute(async (tx) => {
      const occupied: string[] = [];
      for (const name of ALL_TABLES) if (await hasAnyRow(tx, name)) occupied.push(name);
      if (occupied.length > 0) {
        throw new VaultError(
          'conflict',
          `Restore needs an empty store, and this one holds data (${occupied.join(', ')}). Restore into a new --data folder or a new database; nothing was changed.`,
        );
      }

      const counts: Record<string, number> = {};
      const accounts: string[] = [];
      let pending: { name: string; table: BackupTable; rows: Row[] } | undefined;
      const flush = async () => {
        if (pending && pending.rows.length > 0) await insertRows(tx, pending.name, Object.keys(pending.table.columns), pending.rows);
        pending = undefined;
      };
      let ended: Record<string, number> | undefined;
      for await (const record of readBackup(path, masterKey)) {
        if ('end' in record) {
          ended = record.end.counts;
          continue;
        }
        const table = tables.get(record.t);
        if (!table || ended) throw new VaultError('invalid_input', 'The backup file holds an unexpected record; nothing was restored.');
        const row = decodeRow(table, record.r);
        if (record.t === 'data_keys') checkOpens(row as unknown as DataKeysTable);
        if (record.t === 'accounts') accounts.push(String(row.id));
        if (pending?.name !== record.t) {
          await flush();
          pending = { name: record.t, table, rows: [] };
        }
        pending.rows.push(row);
        counts[record.t] = (counts[record.t] ?? 0) + 1;
        if (pending.rows.length >= Math.floor(PARAMETERS_PER_INSERT / Object.keys(table.columns).length)) await flush();
      }
      await flush();
      for (const [name] of BACKUP_TABLES) {
        if (ended === undefined || (ended[name] ?? 0) !== (counts[name] ?? 0)) {
          throw new VaultError('invalid_input', `The backup file is not intact (${name}: rows missing); nothing was restored.`);
        }
      }
      for (const accountId of accounts) {
        await audit.changeWithin(tx, accountId, async (_tx, record) => {
          record({ actor: OPERATOR, action: 'vault.restore', outcome: 'success', detail: { masterKeyId: masterKey.id, backupCreatedAt: header.createdAt } });
        });
      }
      return { counts, bytes: 0, masterKeyId: masterKey.id };
    });
  }

  return { backup, restore };
}

export type BackupService = ReturnType<typeof backupService>;

function encodeRow(table: BackupTable, row: Row): Row {
  const out: Row = {};
  for (const [column, kind] of Object.entries(table.columns)) {
    const value = row[column] ?? null;
    out[column] = kind === 'bytes' && value !== null ? Buffer.from(value as Uint8Array).toString('base64') : value;
  }
  return out;
}

function decodeRow(table: BackupTable, row: Row): Row {
  const out: Row = {};
  for (const column of Object.keys(row)) {
    if (!(column in table.columns)) throw new VaultError('invalid_input', `The backup file holds an unknown column (${column}); nothing was restored.`);
  }
  for (const [column, kind] of Object.entries(table.columns)) {
    const value = row[column] ?? (column in row ? null : (table.defaults?.[column] ?? null));
    out[column] = kind === 'bytes' && value !== null ? Buffer.from(String(value), 'base64') : value;
  }
  return out;
}
