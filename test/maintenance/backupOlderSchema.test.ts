/**
 * A backup made before migration 0005_passwords holds users without the password-state columns; it
 * restores, and its passwords count as chosen ones (what they were as far as anyone could tell).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackupWriter, readBackup, readBackupHeader, type BackupRecord } from '../../src/vault/backupFile.js';
import { silentLog } from '../../src/vault/log.js';
import { createMaintenance } from '../../src/vault/maintenance.js';
import { DATABASES, freshStore, testMasterKey } from '../support/stores.js';
import { populate } from './fixture.js';

describe.each(DATABASES)('a backup from before 0005_passwords, restored into %s', (kind) => {
  let dir: string;
  let older: string;
  const masterKey = testMasterKey();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agent-secrets-older-'));
    const source = await freshStore('sqlite');
    try {
      await populate(source.store, masterKey);
      const current = join(dir, 'current.backup');
      await createMaintenance({ store: source.store, masterKey, log: silentLog }).backups.backup(current);
      // The same backup as the version before 0005 wrote it: no such migration, no such columns.
      const header = await readBackupHeader(current);
      older = join(dir, 'older.backup');
      const writer = await BackupWriter.create(older, masterKey, header.migrations.filter((name) => name !== '0005_passwords'));
      let counts: Record<string, number> = {};
      for await (const record of readBackup(current, masterKey)) {
        if ('end' in record) {
          counts = record.end.counts;
          continue;
        }
        const row: BackupRecord = record.t === 'users' ? { t: 'users', r: Object.fromEntries(Object.entries(record.r).filter(([column]) => !column.startsWith('password_') || column === 'password_hash')) } : record;
        await writer.add(row);
      }
      await writer.finish(counts);
    } finally {
      await source.dispose();
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('restores, with every password counted as a chosen one', async () => {
    const target = await freshStore(kind);
    try {
      const summary = await createMaintenance({ store: target.store, masterKey, log: silentLog }).backups.restore(older);
      expect(summary.counts.users).toBe(4);
      const users = await target.store.db.selectFrom('users').select(['email', 'password_one_time', 'password_expires_at']).orderBy('email').execute();
      expect(users).toHaveLength(4);
      for (const user of users) expect(user).toMatchObject({ password_one_time: 0, password_expires_at: null });
    } finally {
      await target.dispose();
    }
  });
});
