import type { Environment } from '../domain/environments.js';
import { kindOf, keyNamesOf, type SecretValue } from '../domain/secrets.js';
import type { Tx } from '../store/database.js';
import { nextVersion, setOverride } from '../store/secrets.js';
import type { SealingService } from './sealing.js';

/** Whose value a version is: an environment's override, or the secret's default (null). */
export type ValueTarget = Environment | null;

/**
 * The one way a value is written (SPEC S4, S22): a new version, numbered across the whole secret,
 * sealed, saying its environment, and made current where it was set: the default (the secret's
 * current_version, kind and key names, which lists show) or the environment's override. Runs inside
 * the caller's audited transaction; returns the version made.
 */
export async function writeValue(
  sealing: SealingService,
  tx: Tx,
  write: { accountId: string; secretId: string; target: ValueTarget; value: SecretValue; by: string; at: string; restoredFrom?: number | null },
): Promise<number> {
  const { accountId, secretId, target, value, by, at } = write;
  const version = await nextVersion(tx, secretId, by, at);
  const sealed = await sealing.sealVersion(tx, accountId, secretId, version, value);
  const keys = JSON.stringify(keyNamesOf(value));
  await tx
    .insertInto('secret_versions')
    .values({ secret_id: secretId, version, ...sealed, kind: kindOf(value), key_names: keys, created_at: at, created_by: by, restored_from: write.restoredFrom ?? null, environment: target })
    .execute();
  if (target === null) {
    await tx.updateTable('secrets').set({ current_version: version, kind: kindOf(value), key_names: keys }).where('id', '=', secretId).execute();
  } else {
    await setOverride(tx, { secret_id: secretId, environment: target, version, updated_at: at, updated_by: by });
  }
  return version;
}
