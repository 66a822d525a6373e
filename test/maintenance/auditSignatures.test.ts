/**
 * The audit key rests on the master key through the account's data key: it survives master key
 * rotation, data key rotation and backup/restore (into either database), and the chain's signatures
 * keep verifying with the same public key afterwards. Events from before signing began are covered by
 * the first commit after it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MasterKey } from '../../src/crypto/masterKey.js';
import type { Store } from '../../src/store/database.js';
import type { ChainReport } from '../../src/domain/audit.js';
import { silentLog } from '../../src/vault/log.js';
import { createMaintenance } from '../../src/vault/maintenance.js';
import type { Vault } from '../../src/vault/index.js';
import { DATABASES, freshStore, testMasterKey } from '../support/stores.js';
import { populate, vaultWith, type Populated } from './fixture.js';

/** Each account's verify report, by account name, as its first admin sees it. */
async function verifyAll(vault: Vault, populated: Populated): Promise<Record<string, ChainReport>> {
  const reports: Record<string, ChainReport> = {};
  for (const [account, token] of Object.entries(populated.adminTokens)) {
    reports[account] = await vault.auditLog.verifyAuditTrail(await vault.people.authenticateToken(token));
  }
  return reports;
}

const fingerprints = (reports: Record<string, ChainReport>) => Object.fromEntries(Object.entries(reports).map(([account, report]) => [account, report.publicKey]));

describe.each(DATABASES)('audit signatures through key rotation and backup on %s', (kind) => {
  let store: Store;
  let dispose: () => Promise<void>;
  let masterKey: MasterKey;
  let populated: Populated;
  let before: Record<string, ChainReport>;

  beforeEach(async () => {
    ({ store, dispose } = await freshStore(kind));
    masterKey = testMasterKey();
    populated = await populate(store, masterKey);
    before = await verifyAll(vaultWith(store, masterKey), populated);
    for (const report of Object.values(before)) expect(report).toMatchObject({ ok: true, signedFrom: 1, firstBroken: null });
  });
  afterEach(async () => dispose());

  const readAs = async (vault: Vault, account: string) => {
    await vault.runtime.readSecretForAgent(populated.agentKeys[account] ?? '', 'stripe_api_key');
    await vault.audit.flush();
  };

  it('survive rotate-master and --complete: a vault with only the new master key verifies every signature with the same public key, and signs on', async () => {
    const next = testMasterKey();
    await createMaintenance({ store, masterKey, log: silentLog }).keys.rotateMasterKey(next);
    await createMaintenance({ store, masterKey: next, log: silentLog }).keys.completeRotation();
    const after = vaultWith(store, next);
    await readAs(after, 'acme');
    const reports = await verifyAll(after, populated);
    expect(fingerprints(reports)).toEqual(fingerprints(before));
    for (const [account, report] of Object.entries(reports)) {
      expect(report).toMatchObject({ ok: true, signedFrom: 1, firstBroken: null });
      // The rotation's own events and the read after it are signed heads too.
      expect(report.signatures).toBeGreaterThan(before[account]?.signatures ?? 0);
    }
    // The old master key opens nothing now, the audit key included: signing needs the current one.
    const stale = vaultWith(store, masterKey);
    await expect(stale.auditLog.verifyAuditTrail(await stale.people.authenticateToken(populated.adminTokens.acme ?? ''))).rejects.toThrow();
  });

  it('survive rotate-data: the audit key stays under the data key that sealed it, and new heads are signed with it', async () => {
    await createMaintenance({ store, masterKey, log: silentLog }).keys.rotateDataKeys(undefined);
    const after = vaultWith(store, masterKey);
    await readAs(after, 'default');
    const reports = await verifyAll(after, populated);
    expect(fingerprints(reports)).toEqual(fingerprints(before));
    for (const report of Object.values(reports)) expect(report).toMatchObject({ ok: true, firstBroken: null });
  });

  it('survive backup and restore into the other database: the same public keys, every signature verifies, and the restored store signs on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-secrets-auditsig-backup-'));
    const target = await freshStore(kind === 'sqlite' ? 'postgres' : 'sqlite');
    try {
      const file = join(dir, 'vault.backup');
      await createMaintenance({ store, masterKey, log: silentLog }).backups.backup(file);
      await createMaintenance({ store: target.store, masterKey, log: silentLog }).backups.restore(file);
      const restored = vaultWith(target.store, masterKey);
      await readAs(restored, 'acme');
      const reports = await verifyAll(restored, populated);
      expect(fingerprints(reports)).toEqual(fingerprints(before));
      for (const [account, report] of Object.entries(reports)) {
        expect(report).toMatchObject({ ok: true, signedFrom: 1, firstBroken: null });
        expect(report.signatures).toBeGreaterThan(before[account]?.signatures ?? 0);
      }
    } finally {
      await target.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a chain written before signing began (as migration 0004 finds it) is signed in by the next commit, and verify says where signing begins', async () => {
    // The state migration 0004 leaves: events without signatures, no audit key.
    await store.db.updateTable('audit_events').set({ signature: null }).execute();
    await store.db.deleteFrom('audit_keys').execute();
    const oldHeads = await store.db.selectFrom('audit_heads').select(['account_id', 'seq']).execute();
    const upgraded = vaultWith(store, masterKey);
    await readAs(upgraded, 'acme');
    const acme = await upgraded.people.authenticateToken(populated.adminTokens.acme ?? '');
    const oldHead = oldHeads.find((head) => head.account_id === acme.accountId)?.seq ?? 0;
    const report = await upgraded.auditLog.verifyAuditTrail(acme);
    // The key's creation is the first signed head; it covers the events before it as they stood.
    expect(report).toMatchObject({ ok: true, signedFrom: oldHead + 1, firstBroken: null });
    const first = await store.db.selectFrom('audit_events').select(['action', 'signature']).where('account_id', '=', acme.accountId).where('seq', '=', oldHead + 1).executeTakeFirstOrThrow();
    expect(first.action).toBe('audit_key.create');
    expect(first.signature).not.toBeNull();
    // A new key, made by this commit; the old signatures were gone with the old key.
    expect(report.publicKey).not.toBe(before.acme?.publicKey);
  });

  it('a signed chain whose audit key was deleted gets no new key: changes and reads fail closed until it is restored', async () => {
    const saved = await store.db.selectFrom('audit_keys').selectAll().execute();
    await store.db.deleteFrom('audit_keys').execute();
    const fresh = vaultWith(store, masterKey);
    const acme = await fresh.people.authenticateToken(populated.adminTokens.acme ?? '');
    await expect(fresh.agents.createAgent(acme, 'after-key-loss')).rejects.toMatchObject({ code: 'audit_unavailable' });
    await expect(fresh.runtime.readSecretForAgent(populated.agentKeys.acme ?? '', 'stripe_api_key')).rejects.toMatchObject({ code: 'audit_unavailable' });
    expect(await store.db.selectFrom('audit_keys').select('account_id').execute()).toEqual([]);
    await store.db.insertInto('audit_keys').values(saved).execute();
    expect((await fresh.agents.createAgent(acme, 'after-key-restored')).name).toBe('after-key-restored');
    expect(await fresh.auditLog.verifyAuditTrail(acme)).toMatchObject({ ok: true, publicKey: before.acme?.publicKey });
  });
});
