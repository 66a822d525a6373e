import type { KeyObject } from 'node:crypto';
import { openAuditKey, sealAuditKey } from '../crypto/auditSigning.js';
import { IntegrityError, open, seal, secretVersionAad, ssoClientSecretAad, type Keyring, type WrappedDataKey } from '../crypto/keyring.js';
import { decodeSecretValue, encodeSecretValue, type SecretValue } from '../domain/secrets.js';
import type { Db, Tx } from '../store/database.js';
import { loadDataKey } from '../store/runtime.js';
import type { DataKeysTable } from '../store/schema.js';
import { newId, nowIso } from './ids.js';

/**
 * The one door values pass through on their way into and out of the database: sealed with the
 * account's current data key, bound to (account, secret, version).
 */
export function sealingService(keyring: Keyring) {
  /** Opened data keys are remembered by the keyring; the database is asked only the first time. */
  async function dataKey(db: Db | Tx, dataKeyId: string): Promise<Buffer> {
    return keyring.cached(dataKeyId) ?? keyring.openDataKey(toWrapped(await loadDataKey(db, dataKeyId)));
  }

  async function currentDataKey(tx: Tx, accountId: string): Promise<{ id: string; key: Buffer }> {
    const account = await tx.selectFrom('accounts').select('data_key_id').where('id', '=', accountId).executeTakeFirstOrThrow();
    if (account.data_key_id === null) throw new Error(`account ${accountId} has no data key`);
    return { id: account.data_key_id, key: await dataKey(tx, account.data_key_id) };
  }

  async function sealVersion(tx: Tx, accountId: string, secretId: string, version: number, value: SecretValue) {
    const { id, key } = await currentDataKey(tx, accountId);
    return {
      data_key_id: id,
      ciphertext: seal(key, encodeSecretValue(value), secretVersionAad(accountId, secretId, version)),
    };
  }

  /** The account's audit key sealed under its current data key, bound to the account (crypto/auditSigning.ts). */
  async function sealAccountAuditKey(tx: Tx, accountId: string, privateKey: KeyObject): Promise<{ data_key_id: string; sealed_key: Buffer }> {
    const { id, key } = await currentDataKey(tx, accountId);
    return { data_key_id: id, sealed_key: sealAuditKey(key, accountId, privateKey) };
  }

  async function openAccountAuditKey(db: Db | Tx, row: { account_id: string; data_key_id: string; sealed_key: Buffer }): Promise<KeyObject> {
    return openAuditKey(await dataKey(db, row.data_key_id), row.account_id, row.sealed_key);
  }

  /** An account's SSO client secret, sealed like a secret value under its current data key (SPEC S29). */
  async function sealSsoClientSecret(tx: Tx, accountId: string, clientSecret: string): Promise<{ data_key_id: string; sealed_client_secret: Buffer }> {
    const { id, key } = await currentDataKey(tx, accountId);
    return { data_key_id: id, sealed_client_secret: seal(key, Buffer.from(clientSecret, 'utf8'), ssoClientSecretAad(accountId)) };
  }

  async function openSsoClientSecret(db: Db | Tx, row: { account_id: string; data_key_id: string; sealed_client_secret: Buffer }): Promise<string> {
    const key = await dataKey(db, row.data_key_id);
    return open(key, row.sealed_client_secret, ssoClientSecretAad(row.account_id), 'the SSO client secret').toString('utf8');
  }

  async function openVersion(db: Db | Tx, accountId: string, secretId: string, version: { version: number; data_key_id: string; ciphertext: Buffer }) {
    const key = await dataKey(db, version.data_key_id);
    return decodeSecretValue(open(key, version.ciphertext, secretVersionAad(accountId, secretId, version.version), `secret version ${version.version}`));
  }

  /**
   * As openVersion, for the use cases that audit the attempt (reads, reveals, restores): undefined
   * when the stored bytes fail their integrity check (the ciphertext or its data key altered, moved
   * from another secret or version, or sealed under a master key not held here), so the caller can
   * record the failure before refusing. Any other failure, such as storage, is thrown as it is.
   */
  async function openVersionIfIntact(db: Db | Tx, accountId: string, secretId: string, version: { version: number; data_key_id: string; ciphertext: Buffer }) {
    try {
      return await openVersion(db, accountId, secretId, version);
    } catch (error) {
      if (error instanceof IntegrityError) return undefined;
      throw error;
    }
  }

  /** A fresh data key for an account, made current for everything sealed from now on. */
  async function rotateDataKey(tx: Tx, accountId: string): Promise<string> {
    const id = newId('dk');
    const { wrappedKey } = keyring.newDataKey(accountId, id);
    await tx
      .insertInto('data_keys')
      .values({ id, account_id: accountId, wrapped_key: wrappedKey.wrapped, master_key_id: wrappedKey.masterKeyId, created_at: nowIso() })
      .execute();
    await tx.updateTable('accounts').set({ data_key_id: id }).where('id', '=', accountId).execute();
    return id;
  }

  return { sealVersion, openVersion, openVersionIfIntact, rotateDataKey, sealAccountAuditKey, openAccountAuditKey, sealSsoClientSecret, openSsoClientSecret };
}

export type SealingService = ReturnType<typeof sealingService>;

/** The audit detail of an attempt refused because the stored value failed its integrity check. */
export const UNREADABLE_DETAIL = { reason: 'integrity_check_failed' } as const;

export function toWrapped(row: DataKeysTable): WrappedDataKey {
  const previous =
    row.previous_wrapped_key !== null && row.previous_master_key_id !== null
      ? { wrapped: row.previous_wrapped_key, masterKeyId: row.previous_master_key_id }
      : undefined;
  return { id: row.id, accountId: row.account_id, wrapped: row.wrapped_key, masterKeyId: row.master_key_id, previous };
}
