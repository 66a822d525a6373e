import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/database.js';
import { readSnapshot } from '../../src/store/snapshot.js';
import { DATABASES, freshStore } from '../support/stores.js';

describe.each(DATABASES)('a backup snapshot on %s', (kind) => {
  it('sees one state throughout, and does not hold up a writer meanwhile', async () => {
    const { store, storage, dispose } = await freshStore(kind);
    // Another process on the same database, as the running service is during a backup.
    const service = openStore(storage.location);
    try {
      const account = (id: string) => ({ id, name: id, vault_enabled: 1, data_key_id: null, created_at: new Date().toISOString() });
      await service.db.insertInto('accounts').values(account('acc_before')).execute();
      const seen = await readSnapshot(store, async (db) => {
        const first = await db.selectFrom('accounts').select('id').execute();
        await service.db.insertInto('accounts').values(account('acc_during')).execute();
        const second = await db.selectFrom('accounts').select('id').execute();
        return { first, second };
      });
      expect(seen.first).toEqual([{ id: 'acc_before' }]);
      expect(seen.second).toEqual([{ id: 'acc_before' }]);
      expect(await store.db.selectFrom('accounts').select('id').orderBy('id').execute()).toEqual([{ id: 'acc_before' }, { id: 'acc_during' }]);
    } finally {
      await service.close();
      await dispose();
    }
  });
});
