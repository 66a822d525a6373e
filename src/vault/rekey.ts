import { Keyring } from '../crypto/keyring.js';
import type { MasterKey } from '../crypto/masterKey.js';
import { VaultError, notFound } from '../domain/errors.js';
import type { Store } from '../store/database.js';
import {
  accountsWithDataKeysNotWrappedBy,
  accountsWithPreviousWrappings,
  countDataKeys,
  dataKeysNotWrappedBy,
  dataKeysWithPreviousWrapping,
  dropPreviousWrapping,
  replaceWrapping,
} from '../store/dataKeys.js';
import type { DataKeysTable } from '../store/schema.js';
import type { AuditTrail } from './audit.js';
import { OPERATOR } from './callers.js';
import type { SealingService } from './sealing.js';
import { toWrapped } from './sealing.js';

export interface RotationProgress {
  /** Data keys wrapped by the new master key so far, out of `total`. */
  done: number;
  total: number;
  /** The account just finished. */
  account: string;
}

export interface RotationResult {
  rewrapped: number;
  total: number;
  accounts: number;
}

/**
 * Key rotation (SPEC S18).
 *
 * Master key rotation re-wraps every data key under the new master key, one account per transaction
 * (with its audit event), so it can be interrupted anywhere and resumed: each row says which master key
 * wraps it, and a re-run picks up the rows not yet wrapped by the new key. Values are not touched: data
 * keys keep their bytes, only their wrapping changes.
 *
 * No downtime: a re-wrapped row keeps its old wrapping beside the new one, so instances still running on
 * the old key keep opening it, and instances restarted on the new key open the new wrapping. Once every
 * instance runs on the new key, `completeRotation` drops the old wrappings, and the old master key opens
 * nothing any more.
 *
 * Data key rotation makes a fresh data key current for an account: new versions are sealed under it,
 * older versions keep naming (and opening with) the data key that sealed them.
 */
export function keyRotation(deps: { store: Store; audit: AuditTrail; sealing: SealingService; masterKey: MasterKey }) {
  const { store, audit, sealing, masterKey } = deps;

  async function rotateMasterKey(next: MasterKey, onProgress: (progress: RotationProgress) => void = () => undefined): Promise<RotationResult> {
    if (next.id === masterKey.id) {
      throw new VaultError('conflict', `The new master key is the key already in use (${masterKey.id}); make a new one with: head -c 32 /dev/urandom | base64`);
    }
    const keyring = new Keyring([masterKey, next]);
    const counts = await countDataKeys(store.db, next.id);
    let done = counts.wrappedBy;
    let total = counts.total;
    let rewrapped = 0;
    let accounts = 0;
    // Repeated until nothing is left, so that data keys made meanwhile (a new account) are caught too.
    for (let pending = await accountsWithDataKeysNotWrappedBy(store.db, next.id); pending.length > 0; pending = await accountsWithDataKeysNotWrappedBy(store.db, next.id)) {
      for (const account of pending) {
        const count = await audit.change(account.id, async (tx, record) => {
          const rows = await dataKeysNotWrappedBy(tx, account.id, next.id);
          for (const row of rows) await replaceWrapping(tx, row, rewrap(keyring, row, next), next.id);
          if (rows.length > 0) {
            const from = [...new Set(rows.map((row) => row.master_key_id))];
            record({ actor: OPERATOR, action: 'master_key.rotate', outcome: 'success', detail: { from, to: next.id, dataKeys: rows.length } });
          }
          return rows.length;
        });
        rewrapped += count;
        done += count;
        total = Math.max(total, done);
        accounts += 1;
        onProgress({ done, total, account: account.name });
      }
    }
    return { rewrapped, total, accounts };
  }

  /**
   * Ends a rotation once every instance runs on the new (now configured) key: drops the old wrappings.
   * Refuses while any data key is not wrapped by the configured key, since dropping would lose it.
   */
  async function completeRotation(onProgress: (progress: RotationProgress) => void = () => undefined): Promise<RotationResult> {
    const counts = await countDataKeys(store.db, masterKey.id);
    if (counts.wrappedBy < counts.total) {
      throw new VaultError(
        'conflict',
        `${counts.total - counts.wrappedBy} of ${counts.total} data keys are not wrapped by the configured master key ${masterKey.id} yet. ` +
          'Run "agent-secrets keys rotate-master --new-key-file <this key>" with the old key first (it resumes where it stopped); nothing was changed.',
      );
    }
    const alone = new Keyring(masterKey);
    let done = 0;
    let retired = 0;
    let accounts = 0;
    for (const account of await accountsWithPreviousWrappings(store.db)) {
      const count = await audit.change(account.id, async (tx, record) => {
        const rows = await dataKeysWithPreviousWrapping(tx, account.id);
        for (const row of rows) {
          // Never drop a wrapping before the one that stays is proven to open.
          opensAlone(alone, row);
          await dropPreviousWrapping(tx, row.id);
        }
        if (rows.length > 0) {
          const retiredKeys = [...new Set(rows.map((row) => row.previous_master_key_id))];
          record({ actor: OPERATOR, action: 'master_key.retire', outcome: 'success', detail: { retired: retiredKeys, kept: masterKey.id, dataKeys: rows.length } });
        }
        return rows.length;
      });
      retired += count;
      done += count;
      accounts += 1;
      onProgress({ done, total: counts.total, account: account.name });
    }
    return { rewrapped: retired, total: counts.total, accounts };
  }

  /** A fresh current data key for one account (by name) or for all; returns what was rotated. */
  async function rotateDataKeys(accountName: string | undefined): Promise<Array<{ account: string; dataKey: string }>> {
    let query = store.db.selectFrom('accounts').select(['id', 'name', 'data_key_id']).orderBy('name');
    if (accountName !== undefined) query = query.where('name', '=', accountName);
    const accounts = await query.execute();
    if (accountName !== undefined && accounts.length === 0) throw notFound(`No account named "${accountName}".`, 'account');
    const rotated: Array<{ account: string; dataKey: string }> = [];
    for (const account of accounts) {
      const dataKey = await audit.change(account.id, async (tx, record) => {
        const id = await sealing.rotateDataKey(tx, account.id);
        record({ actor: OPERATOR, action: 'data_key.rotate', outcome: 'success', detail: { dataKey: id, previous: account.data_key_id } });
        return id;
      });
      rotated.push({ account: account.name, dataKey });
    }
    return rotated;
  }

  return { rotateMasterKey, completeRotation, rotateDataKeys };
}

export type KeyRotation = ReturnType<typeof keyRotation>;

function rewrap(keyring: Keyring, row: DataKeysTable, next: MasterKey): Buffer {
  try {
    return keyring.rewrap(toWrapped(row), next);
  } catch {
    throw new VaultError(
      'conflict',
      `Data key ${row.id} is wrapped by master key ${row.master_key_id}, which is neither the configured key nor the new one; run with the key it is wrapped by.`,
    );
  }
}

function opensAlone(keyring: Keyring, row: DataKeysTable): void {
  try {
    keyring.openDataKey({ ...toWrapped(row), previous: undefined });
  } catch {
    throw new VaultError('conflict', `Data key ${row.id} does not open with the configured master key ${row.master_key_id}; nothing more was changed.`);
  }
}
