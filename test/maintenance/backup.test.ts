import { readFileSync, writeFileSync, mkdtempSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MasterKey } from '../../src/crypto/masterKey.js';
import { BACKUP_TABLES, ALL_TABLES } from '../../src/store/backupTables.js';
import type { Db, Store } from '../../src/store/database.js';
import { silentLog } from '../../src/vault/log.js';
import { createMaintenance } from '../../src/vault/maintenance.js';
import { freshStore, testMasterKey, type DatabaseKind } from '../support/stores.js';
import { CANARY, openEveryVersion, populate, vaultWith, type Populated } from './fixture.js';

type Row = Record<string, unknown>;

/** A table's rows in key order, binary as hex, so rows from either database compare equal. */
async function dump(db: Db, table: string, key: readonly string[]): Promise<Row[]> {
  let query = db.selectFrom(table as 'accounts').selectAll();
  for (const column of key) query = query.orderBy(column as 'id');
  const rows = (await query.execute()) as Row[];
  return rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Buffer.isBuffer(v) ? `hex:${v.toString('hex')}` : v])));
}

async function dumpAll(db: Db): Promise<Record<string, Row[]>> {
  const out: Record<string, Row[]> = {};
  for (const [name, table] of BACKUP_TABLES) out[name] = await dump(db, name, table.key);
  return out;
}

/** The audit trail without the events a backup or restore appends about itself. */
const withoutMaintenanceEvents = (tables: Record<string, Row[]>, heads: Row[]): Record<string, Row[]> => ({
  ...tables,
  audit_events: (tables.audit_events ?? []).filter((row) => row.action !== 'vault.backup' && row.action !== 'vault.restore'),
  audit_heads: heads,
});

const PAIRS: Array<[DatabaseKind, DatabaseKind]> = [
  ['sqlite', 'sqlite'],
  ['postgres', 'postgres'],
  ['sqlite', 'postgres'],
  ['postgres', 'sqlite'],
];

describe.each(PAIRS)('backup on %s, restore into %s', (from, to) => {
  let dir: string;
  let source: { store: Store; dispose(): Promise<void> };
  let masterKey: MasterKey;
  let populated: Populated;
  let snapshot: Record<string, Row[]>;
  let file: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agent-secrets-backup-'));
    source = await freshStore(from);
    masterKey = testMasterKey();
    populated = await populate(source.store, masterKey);
    // More audit events than one page of the backup's reads (256), so paging on a two-column key is exercised.
    const reader = vaultWith(source.store, masterKey);
    await Promise.all(Array.from({ length: 300 }, () => reader.runtime.readSecretForAgent(populated.agentKeys.acme ?? '', 'stripe_api_key')));
    await reader.audit.flush();
    snapshot = await dumpAll(source.store.db);
    file = join(dir, 'vault.backup');
    const summary = await createMaintenance({ store: source.store, masterKey, log: silentLog }).backups.backup(file);
    expect(summary.counts.secret_versions).toBe(10);
    expect(summary.counts.audit_events).toBeGreaterThan(300);
  });
  afterAll(async () => {
    await source?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes an owner-only file that holds no value, key or hash in the clear', () => {
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(existsSync(`${file}.partial`)).toBe(false);
    const bytes = readFileSync(file);
    const text = bytes.toString('latin1');
    expect(text).not.toContain(CANARY);
    expect(text).not.toContain('admin@acme.example.com');
    expect(text).not.toContain(masterKey.key.toString('base64'));
    for (const agentKey of Object.values(populated.agentKeys)) expect(text).not.toContain(agentKey);
    // The header says what opens it, and nothing more.
    expect(text).toContain(masterKey.id);
  });

  it('restores byte-identical rows: values, versions, access lists, keys and the audit chain', async () => {
    const target = await freshStore(to);
    try {
      const summary = await createMaintenance({ store: target.store, masterKey, log: silentLog }).backups.restore(file);
      expect(summary.counts.accounts).toBe(2);

      const restored = await dumpAll(target.store.db);
      // The restore appends one event per account after the restored chain; the chain before it is the backup's.
      expect(withoutMaintenanceEvents(restored, snapshot.audit_heads ?? [])).toEqual(snapshot);
      const restoreEvents = (restored.audit_events ?? []).filter((row) => row.action === 'vault.restore');
      expect(restoreEvents).toHaveLength(2);
      for (const head of snapshot.audit_heads ?? []) {
        const next = restoreEvents.find((event) => event.account_id === head.account_id);
        expect(next).toMatchObject({ seq: Number(head.seq) + 1, prev_hash: head.hash });
      }

      // Every version decrypts to the same value, and the restored service answers agents as before.
      expect(await openEveryVersion(target.store.db, masterKey)).toEqual(await openEveryVersion(source.store.db, masterKey));
      const vault = vaultWith(target.store, masterKey);
      const read = await vault.runtime.readSecretForAgent(populated.agentKeys.acme ?? '', 'stripe_api_key');
      expect(read).toEqual({ name: 'stripe_api_key', kind: 'single', version: 3, value: `${CANARY}-acme-v1`, environment: 'live', source: 'default' });
      await expect(vault.runtime.readSecretForAgent(populated.agentKeys.acme ?? '', 'oauth')).rejects.toMatchObject({ code: 'MissingAccess' });
      // Key environments and overrides come back (SPEC S21, S22): the sandbox key reads its override.
      expect(await vault.runtime.readSecretForAgent(populated.sandboxKeys.acme ?? '', 'stripe_api_key')).toMatchObject({ version: 4, value: `${CANARY}-acme-sandbox`, environment: 'sandbox', source: 'override' });
      expect((restored.secret_overrides ?? []).length).toBe(2);
      expect((restored.read_stamps ?? []).filter((row) => row.environment === 'sandbox').length).toBe(2);
      expect((await vault.people.authenticateToken(populated.adminTokens.default ?? '')).email).toBe('admin@default.example.com');
      await vault.audit.flush();
    } finally {
      await target.dispose();
    }
  });

  it('the backup itself is audited in the source, after the snapshot it holds', async () => {
    const events = await source.store.db.selectFrom('audit_events').select(['account_id', 'seq', 'actor_type']).where('action', '=', 'vault.backup').execute();
    expect(events).toHaveLength(2);
    expect(events.every((event) => event.actor_type === 'operator')).toBe(true);
  });
});

describe('restore refuses, and leaves the store as it was', () => {
  let dir: string;
  let source: { store: Store; dispose(): Promise<void> };
  let target: { store: Store; dispose(): Promise<void> };
  let masterKey: MasterKey;
  let file: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agent-secrets-backup-'));
    source = await freshStore('sqlite');
    target = await freshStore('sqlite');
    masterKey = testMasterKey();
    await populate(source.store, masterKey);
    file = join(dir, 'vault.backup');
    await createMaintenance({ store: source.store, masterKey, log: silentLog }).backups.backup(file);
  });
  afterAll(async () => {
    await source?.dispose();
    await target?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const restoreInto = (store: Store, path: string, key: MasterKey = masterKey) => createMaintenance({ store, masterKey: key, log: silentLog }).backups.restore(path);
  const isEmpty = async (store: Store) => {
    for (const table of ALL_TABLES) {
      const row = await store.db.selectFrom(table as 'accounts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      if (Number(row.n) !== 0) return false;
    }
    return true;
  };
  const variant = (name: string, change: (bytes: Buffer) => Buffer): string => {
    const path = join(dir, name);
    writeFileSync(path, change(readFileSync(file)));
    return path;
  };

  it('into a store that holds data', async () => {
    const before = await dumpAll(source.store.db);
    await expect(restoreInto(source.store, file)).rejects.toThrow(/Restore needs an empty store, and this one holds data \(accounts, users/);
    expect(await dumpAll(source.store.db)).toEqual(before);
  });

  it('a file with a flipped bit, cut off, with an altered header, or with frames swapped', async () => {
    const flipped = variant('flipped', (bytes) => {
      const copy = Buffer.from(bytes);
      const at = copy.length - 40;
      copy[at] = (copy[at] ?? 0) ^ 1;
      return copy;
    });
    const cut = variant('cut', (bytes) => bytes.subarray(0, bytes.length - 100));
    const header = variant('header', (bytes) => Buffer.from(bytes.toString('latin1').replace('"createdAt":"2', '"createdAt":"1'), 'latin1'));
    for (const path of [flipped, cut, header]) {
      await expect(restoreInto(target.store, path)).rejects.toThrow(/The backup file is not intact/);
      expect(await isEmpty(target.store)).toBe(true);
    }
    await expect(restoreInto(target.store, variant('garbage', () => Buffer.from('hello')))).rejects.toThrow(/not an agent-secrets backup/);
  });

  it('a file whose last frame was dropped (the rows were cut at a frame boundary)', async () => {
    // Re-frame: keep the header and every frame but the last.
    const bytes = readFileSync(file);
    const headerEnd = 'agent-secrets backup\n'.length + 4 + bytes.readUInt32BE('agent-secrets backup\n'.length);
    const frames: Buffer[] = [];
    for (let at = headerEnd; at < bytes.length; ) {
      const length = bytes.readUInt32BE(at);
      frames.push(bytes.subarray(at, at + 4 + length));
      at += 4 + length;
    }
    expect(frames.length).toBeGreaterThanOrEqual(1);
    const dropped = variant('dropped', () => Buffer.concat([bytes.subarray(0, headerEnd), ...frames.slice(0, -1)]));
    await expect(restoreInto(target.store, dropped)).rejects.toThrow(/not intact/);
    expect(await isEmpty(target.store)).toBe(true);
  });

  it('with another master key, saying which key the backup needs', async () => {
    await expect(restoreInto(target.store, file, testMasterKey())).rejects.toThrow(new RegExp(`made with master key ${masterKey.id}`));
    expect(await isEmpty(target.store)).toBe(true);
  });
});

describe('a store larger than one frame', () => {
  let dir: string;
  let source: { store: Store; dispose(): Promise<void> };
  let masterKey: MasterKey;
  let file: string;
  let frames: Buffer[];
  let head: Buffer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agent-secrets-backup-'));
    source = await freshStore('sqlite');
    masterKey = testMasterKey();
    const { adminTokens } = await populate(source.store, masterKey);
    const vault = vaultWith(source.store, masterKey);
    const admin = await vault.people.authenticateToken(adminTokens.default ?? '');
    // 40 values of 60 KiB: about 3 MiB of base64 ciphertext, several frames.
    for (let i = 0; i < 40; i++) await vault.secrets.createSecret(admin, { name: `big_${i}`, value: `${CANARY}-${i}-${'x'.repeat(60 * 1024)}` });
    file = join(dir, 'big.backup');
    await createMaintenance({ store: source.store, masterKey, log: silentLog }).backups.backup(file);
    const bytes = readFileSync(file);
    const headerEnd = 'agent-secrets backup\n'.length + 4 + bytes.readUInt32BE('agent-secrets backup\n'.length);
    head = bytes.subarray(0, headerEnd);
    frames = [];
    for (let at = headerEnd; at < bytes.length; ) {
      const length = bytes.readUInt32BE(at);
      frames.push(bytes.subarray(at, at + 4 + length));
      at += 4 + length;
    }
  });
  afterAll(async () => {
    await source?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is written in frames of about 1 MiB, and restores whole', async () => {
    expect(frames.length).toBeGreaterThanOrEqual(3);
    for (const frame of frames) expect(frame.length).toBeLessThan(1.2 * 1024 * 1024);
    const target = await freshStore('sqlite');
    try {
      await createMaintenance({ store: target.store, masterKey, log: silentLog }).backups.restore(file);
      expect(await openEveryVersion(target.store.db, masterKey)).toEqual(await openEveryVersion(source.store.db, masterKey));
    } finally {
      await target.dispose();
    }
  });

  it('refuses frames swapped, a frame repeated, or the file cut at a frame boundary', async () => {
    const [first, second, ...rest] = frames as [Buffer, Buffer, ...Buffer[]];
    const variants = [
      Buffer.concat([head, second, first, ...rest]),
      Buffer.concat([head, first, first, second, ...rest]),
      Buffer.concat([head, first, second]),
    ];
    const target = await freshStore('sqlite');
    try {
      for (const [i, bytes] of variants.entries()) {
        const path = join(dir, `variant-${i}`);
        writeFileSync(path, bytes);
        await expect(createMaintenance({ store: target.store, masterKey, log: silentLog }).backups.restore(path)).rejects.toThrow(/not intact/);
        const accounts = await target.store.db.selectFrom('accounts').select('id').execute();
        expect(accounts).toEqual([]);
      }
    } finally {
      await target.dispose();
    }
  });
});
