import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IntegrityError } from '../../src/crypto/keyring.js';
import type { MasterKey } from '../../src/crypto/masterKey.js';
import type { Store } from '../../src/store/database.js';
import { createMaintenance } from '../../src/vault/maintenance.js';
import { silentLog } from '../../src/vault/log.js';
import { DATABASES, freshStore, testMasterKey } from '../support/stores.js';
import { CANARY, openEveryVersion, populate, vaultWith, type Populated } from './fixture.js';

describe.each(DATABASES)('key rotation on %s', (kind) => {
  let store: Store;
  let dispose: () => Promise<void>;
  let oldKey: MasterKey;
  let newKey: MasterKey;
  let populated: Populated;
  let before: Record<string, unknown>;

  beforeEach(async () => {
    ({ store, dispose } = await freshStore(kind));
    oldKey = testMasterKey();
    newKey = testMasterKey();
    populated = await populate(store, oldKey);
    before = await openEveryVersion(store.db, oldKey);
  });
  afterEach(async () => dispose());

  const maintenanceWith = (key: MasterKey) => createMaintenance({ store, masterKey: key, log: silentLog });
  const wrappedBy = async () => (await store.db.selectFrom('data_keys').select('master_key_id').execute()).map((row) => row.master_key_id);
  const auditActions = async (action: string) =>
    store.db.selectFrom('audit_events').select(['account_id', 'detail', 'actor_type']).where('action', '=', action).execute();

  it('after rotate-master and --complete, a vault with only the new master key reads every version, and the old key opens nothing', async () => {
    const progress: Array<{ done: number; total: number }> = [];
    const result = await maintenanceWith(oldKey).keys.rotateMasterKey(newKey, (p) => progress.push({ done: p.done, total: p.total }));
    expect(result).toMatchObject({ rewrapped: 2, total: 2, accounts: 2 });
    expect(progress.at(-1)).toEqual({ done: 2, total: 2 });
    expect(new Set(await wrappedBy())).toEqual(new Set([newKey.id]));

    // During the rotation window, both a restarted instance (new key) and one still on the old key read everything.
    expect(await openEveryVersion(store.db, newKey)).toEqual(before);
    expect(await openEveryVersion(store.db, oldKey)).toEqual(before);
    const onOld = vaultWith(store, oldKey);
    expect((await onOld.runtime.readSecretForAgent(populated.agentKeys.acme ?? '', 'stripe_api_key')).value).toBe(`${CANARY}-acme-v1`);
    await onOld.audit.flush();

    await maintenanceWith(newKey).keys.completeRotation();
    expect(await openEveryVersion(store.db, newKey)).toEqual(before);
    await expect(openEveryVersion(store.db, oldKey)).rejects.toThrow(IntegrityError);
    const retired = await store.db.selectFrom('data_keys').select(['previous_wrapped_key', 'previous_master_key_id']).execute();
    expect(retired.every((row) => row.previous_wrapped_key === null && row.previous_master_key_id === null)).toBe(true);

    const onNew = vaultWith(store, newKey);
    const read = await onNew.runtime.readSecretForAgent(populated.agentKeys.default ?? '', 'stripe_api_key');
    expect(read).toMatchObject({ version: 3, value: `${CANARY}-default-v1` });
    // Overrides and key environments are carried too: the sandbox key reads its override under the new key.
    expect(await onNew.runtime.readSecretForAgent(populated.sandboxKeys.default ?? '', 'stripe_api_key')).toMatchObject({ version: 4, value: `${CANARY}-default-sandbox`, source: 'override' });
    await onNew.audit.flush();

    const rotated = await auditActions('master_key.rotate');
    expect(rotated).toHaveLength(2);
    expect(rotated.every((event) => event.actor_type === 'operator' && JSON.parse(event.detail ?? '{}').to === newKey.id)).toBe(true);
    expect(await auditActions('master_key.retire')).toHaveLength(2);
    // Fingerprints only: neither key's bytes appear in any audit event.
    const allDetail = (await store.db.selectFrom('audit_events').select('detail').execute()).map((row) => row.detail ?? '').join('\n');
    for (const key of [oldKey, newKey]) {
      expect(allDetail).not.toContain(key.key.toString('base64'));
      expect(allDetail).not.toContain(key.key.toString('hex'));
    }
  });

  it('an interrupted rotation resumes where it stopped, and re-running a finished one changes nothing', async () => {
    const interrupted = maintenanceWith(oldKey).keys.rotateMasterKey(newKey, () => {
      throw new Error('operator pressed ctrl-c');
    });
    await expect(interrupted).rejects.toThrow('ctrl-c');
    // One account is done (its transaction committed before the interruption), the other is untouched.
    expect((await wrappedBy()).sort()).toEqual([newKey.id, oldKey.id].sort());
    expect(await openEveryVersion(store.db, oldKey)).toEqual(before);

    const resumed = await maintenanceWith(oldKey).keys.rotateMasterKey(newKey);
    expect(resumed).toMatchObject({ rewrapped: 1, total: 2, accounts: 1 });
    expect(new Set(await wrappedBy())).toEqual(new Set([newKey.id]));
    expect(await openEveryVersion(store.db, newKey)).toEqual(before);

    expect(await maintenanceWith(oldKey).keys.rotateMasterKey(newKey)).toMatchObject({ rewrapped: 0, accounts: 0 });
    expect(await auditActions('master_key.rotate')).toHaveLength(2);
  });

  it('--complete refuses while a data key is not wrapped by the configured key, and changes nothing', async () => {
    await expect(maintenanceWith(newKey).keys.completeRotation()).rejects.toThrow(/2 of 2 data keys are not wrapped by the configured master key/);
    await expect(maintenanceWith(oldKey).keys.rotateMasterKey(oldKey)).rejects.toThrow(/already in use/);
    expect(new Set(await wrappedBy())).toEqual(new Set([oldKey.id]));
  });

  it('rotate-data makes a fresh data key current: new versions are sealed under it, old versions still open', async () => {
    const maintenance = maintenanceWith(oldKey);
    const accountBefore = await store.db.selectFrom('accounts').select('data_key_id').where('name', '=', 'acme').executeTakeFirstOrThrow();
    const [rotated] = await maintenance.keys.rotateDataKeys('acme');
    expect(rotated?.account).toBe('acme');
    expect(rotated?.dataKey).not.toBe(accountBefore.data_key_id);

    const vault = vaultWith(store, oldKey);
    const admin = await vault.people.authenticateToken(populated.adminTokens.acme ?? '');
    await vault.secrets.updateSecret(admin, 'stripe_api_key', { value: `${CANARY}-acme-v4` });

    const versions = await store.db
      .selectFrom('secret_versions as v')
      .innerJoin('secrets as s', 's.id', 'v.secret_id')
      .innerJoin('accounts as a', 'a.id', 's.account_id')
      .select(['v.version', 'v.data_key_id'])
      .where('a.name', '=', 'acme')
      .where('s.name', '=', 'stripe_api_key')
      .orderBy('v.version')
      .execute();
    // Versions 1-4 (4: the fixture's sandbox override) were sealed before the rotation.
    expect(versions.at(-1)).toEqual({ version: 5, data_key_id: rotated?.dataKey });
    expect(versions.slice(0, 4).every((v) => v.data_key_id === accountBefore.data_key_id)).toBe(true);
    expect(await openEveryVersion(store.db, oldKey)).toEqual({ ...before, 'acme/stripe_api_key/5': `${CANARY}-acme-v4` });

    expect(await maintenance.keys.rotateDataKeys(undefined)).toHaveLength(2);
    expect(await auditActions('data_key.rotate')).toHaveLength(3);
    await expect(maintenance.keys.rotateDataKeys('nobody')).rejects.toThrow(/No account named "nobody"/);
    await vault.audit.flush();
  });
});

