import type { Database } from './schema.js';

/** How a column travels in a backup: as it is, or (binary) as base64 text. */
type ColumnKind = 'plain' | 'bytes';

export interface BackupTable {
  /** The primary key: the order rows are read and written in, and the key pages are cut on. */
  key: readonly string[];
  columns: Readonly<Record<string, ColumnKind>>;
  /** Values for columns that backups made by older versions do not hold. */
  defaults?: Readonly<Record<string, unknown>>;
}

type TableSpec<T> = { key: ReadonlyArray<keyof T & string>; columns: { readonly [K in keyof T]-?: ColumnKind }; defaults?: { readonly [K in keyof T]?: T[K] } };
type Skipped = { skip: string; /** Holds a row in every store, even a new one. */ alwaysPresent?: true };

/**
 * What a backup holds, table by table. The types make it exhaustive: a table or column added to the
 * schema does not compile until it is listed here (or, for a table, skipped with a reason).
 */
const SPEC: { [T in keyof Database]: TableSpec<Database[T]> | Skipped } = {
  accounts: { key: ['id'], columns: { id: 'plain', name: 'plain', vault_enabled: 'plain', data_key_id: 'plain', created_at: 'plain' } },
  users: {
    key: ['id'],
    columns: {
      id: 'plain',
      account_id: 'plain',
      email: 'plain',
      role: 'plain',
      password_hash: 'plain',
      created_at: 'plain',
      created_by: 'plain',
      password_one_time: 'plain',
      password_expires_at: 'plain',
    },
    // Backups made before migration 0005 have no such columns: their passwords count as chosen ones.
    defaults: { password_one_time: 0 },
  },
  sessions: { skip: 'console sessions last hours; a restored store signs everyone out of the console' },
  personal_tokens: {
    key: ['id'],
    columns: { id: 'plain', user_id: 'plain', name: 'plain', token_hash: 'bytes', created_at: 'plain', last_used_at: 'plain', revoked_at: 'plain' },
  },
  agents: { key: ['id'], columns: { id: 'plain', account_id: 'plain', name: 'plain', name_key: 'plain', created_at: 'plain', created_by: 'plain' } },
  agent_keys: {
    key: ['id'],
    columns: { id: 'plain', agent_id: 'plain', name: 'plain', key_hash: 'bytes', created_at: 'plain', created_by: 'plain', revoked_at: 'plain', environment: 'plain' },
    // Backups made before migration 0006: every key was a live key.
    defaults: { environment: 'live' },
  },
  data_keys: {
    key: ['id'],
    columns: {
      id: 'plain',
      account_id: 'plain',
      wrapped_key: 'bytes',
      master_key_id: 'plain',
      created_at: 'plain',
      previous_wrapped_key: 'bytes',
      previous_master_key_id: 'plain',
    },
  },
  secrets: {
    key: ['id'],
    columns: {
      id: 'plain',
      account_id: 'plain',
      name: 'plain',
      name_key: 'plain',
      description: 'plain',
      kind: 'plain',
      key_names: 'plain',
      current_version: 'plain',
      created_at: 'plain',
      created_by: 'plain',
      updated_at: 'plain',
      updated_by: 'plain',
      last_read_at: 'plain',
      allowed_hosts: 'plain',
      delivery: 'plain',
      reveal: 'plain',
    },
    // Backups made before migration 0007: no hosts, read by value, revealable (as those secrets were).
    defaults: { allowed_hosts: '[]', delivery: 'value', reveal: 'allowed' },
  },
  secret_versions: {
    key: ['secret_id', 'version'],
    columns: {
      secret_id: 'plain',
      version: 'plain',
      data_key_id: 'plain',
      ciphertext: 'bytes',
      kind: 'plain',
      key_names: 'plain',
      created_at: 'plain',
      created_by: 'plain',
      restored_from: 'plain',
      // Null (the default value) in backups made before migration 0006.
      environment: 'plain',
    },
  },
  secret_overrides: { key: ['secret_id', 'environment'], columns: { secret_id: 'plain', environment: 'plain', version: 'plain', updated_at: 'plain', updated_by: 'plain' } },
  read_stamps: {
    key: ['secret_id', 'agent_id', 'environment'],
    columns: { secret_id: 'plain', agent_id: 'plain', environment: 'plain', version: 'plain', last_read_at: 'plain' },
  },
  grants: { key: ['secret_id', 'agent_id'], columns: { secret_id: 'plain', agent_id: 'plain', created_at: 'plain', created_by: 'plain', last_read_at: 'plain' } },
  audit_events: {
    key: ['account_id', 'seq'],
    columns: {
      account_id: 'plain',
      seq: 'plain',
      at: 'plain',
      actor_type: 'plain',
      actor_id: 'plain',
      actor_name: 'plain',
      action: 'plain',
      secret_id: 'plain',
      secret_name: 'plain',
      version: 'plain',
      agent_id: 'plain',
      agent_name: 'plain',
      outcome: 'plain',
      detail: 'plain',
      prev_hash: 'plain',
      hash: 'plain',
      signature: 'plain',
    },
  },
  audit_heads: { key: ['account_id'], columns: { account_id: 'plain', seq: 'plain', hash: 'plain' } },
  audit_keys: { key: ['account_id'], columns: { account_id: 'plain', data_key_id: 'plain', sealed_key: 'bytes', created_at: 'plain' } },
  read_revision: { skip: 'a marker the database rewrites with every change, restored rows included', alwaysPresent: true },
  sso_configs: {
    key: ['account_id'],
    columns: {
      account_id: 'plain',
      issuer: 'plain',
      client_id: 'plain',
      data_key_id: 'plain',
      sealed_client_secret: 'bytes',
      jit_role: 'plain',
      password_sign_in: 'plain',
      revision: 'plain',
      updated_at: 'plain',
      updated_by: 'plain',
    },
  },
  sso_domains: { key: ['domain'], columns: { domain: 'plain', account_id: 'plain' } },
  sso_flows: { skip: 'sign-ins under way last minutes; a restored store asks to sign in again' },
};

/** Backed-up tables in an order that satisfies their foreign keys on restore. */
const ORDER = [
  'accounts',
  'users',
  'personal_tokens',
  'agents',
  'agent_keys',
  'data_keys',
  'audit_keys',
  'secrets',
  'secret_versions',
  'secret_overrides',
  'grants',
  'read_stamps',
  'audit_events',
  'audit_heads',
  'sso_configs',
  'sso_domains',
] as const satisfies ReadonlyArray<keyof Database>;

export const BACKUP_TABLES: ReadonlyArray<readonly [name: string, table: BackupTable]> = ORDER.map((name) => {
  const spec = SPEC[name];
  if ('skip' in spec) throw new Error(`table ${name} is skipped but listed`);
  return [name, spec as BackupTable] as const;
});

/** Every table a restore must find empty, the skipped ones included; not the marker every store holds. */
export const ALL_TABLES = (Object.keys(SPEC) as Array<keyof Database>).filter((name) => !('alwaysPresent' in SPEC[name]));

// A table that is neither skipped nor ordered would silently be left out of backups.
for (const name of ALL_TABLES) {
  if (!('skip' in SPEC[name]) && !(ORDER as readonly string[]).includes(name)) throw new Error(`table ${name} is missing from the backup order`);
}
