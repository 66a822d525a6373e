import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { DialectName } from './database.js';

/**
 * Migrations, in code, for both databases. The one difference they need is the binary column type;
 * everything else is written once.
 */
export function migrationProvider(dialect: DialectName): MigrationProvider {
  const bytes = dialect === 'postgres' ? 'bytea' : 'blob';
  const migrations: Record<string, Migration> = {
    '0001_vault_core': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('accounts')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull().unique())
          .addColumn('vault_enabled', 'integer', (c) => c.notNull())
          .addColumn('data_key_id', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('users')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
          .addColumn('email', 'text', (c) => c.notNull().unique())
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('password_hash', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('users_account').on('users').column('account_id').execute();

        await db.schema
          .createTable('sessions')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('token_hash', bytes, (c) => c.notNull())
          .addColumn('csrf_token', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();

        await db.schema
          .createTable('personal_tokens')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('token_hash', bytes, (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('last_used_at', 'text')
          .addColumn('revoked_at', 'text')
          .execute();
        await db.schema.createIndex('personal_tokens_user').on('personal_tokens').column('user_id').execute();

        await db.schema
          .createTable('agents')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('name_key', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addUniqueConstraint('agents_account_name', ['account_id', 'name_key'])
          .execute();

        await db.schema
          .createTable('agent_keys')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('agent_id', 'text', (c) => c.notNull().references('agents.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('key_hash', bytes, (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('revoked_at', 'text')
          .execute();
        await db.schema.createIndex('agent_keys_agent').on('agent_keys').column('agent_id').execute();

        await db.schema
          .createTable('data_keys')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
          .addColumn('wrapped_key', bytes, (c) => c.notNull())
          .addColumn('master_key_id', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('secrets')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('name_key', 'text', (c) => c.notNull())
          .addColumn('description', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('key_names', 'text', (c) => c.notNull())
          .addColumn('current_version', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addColumn('updated_by', 'text', (c) => c.notNull())
          .addColumn('last_read_at', 'text')
          .addUniqueConstraint('secrets_account_name', ['account_id', 'name_key'])
          .execute();
        // The run-time read looks a secret up by its exact name.
        await db.schema.createIndex('secrets_account_exact_name').on('secrets').columns(['account_id', 'name']).execute();

        await db.schema
          .createTable('secret_versions')
          .addColumn('secret_id', 'text', (c) => c.notNull().references('secrets.id').onDelete('cascade'))
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('data_key_id', 'text', (c) => c.notNull().references('data_keys.id'))
          .addColumn('ciphertext', bytes, (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('key_names', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('restored_from', 'integer')
          .addPrimaryKeyConstraint('secret_versions_pk', ['secret_id', 'version'])
          .execute();

        await db.schema
          .createTable('grants')
          .addColumn('secret_id', 'text', (c) => c.notNull().references('secrets.id').onDelete('cascade'))
          .addColumn('agent_id', 'text', (c) => c.notNull().references('agents.id').onDelete('cascade'))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('last_read_at', 'text')
          .addPrimaryKeyConstraint('grants_pk', ['secret_id', 'agent_id'])
          .execute();
        await db.schema.createIndex('grants_agent').on('grants').column('agent_id').execute();

        await db.schema
          .createTable('audit_events')
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('seq', 'bigint', (c) => c.notNull())
          .addColumn('at', 'text', (c) => c.notNull())
          .addColumn('actor_type', 'text', (c) => c.notNull())
          .addColumn('actor_id', 'text')
          .addColumn('actor_name', 'text')
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('secret_id', 'text')
          .addColumn('secret_name', 'text')
          .addColumn('version', 'integer')
          .addColumn('agent_id', 'text')
          .addColumn('agent_name', 'text')
          .addColumn('outcome', 'text', (c) => c.notNull())
          .addColumn('detail', 'text')
          .addColumn('prev_hash', 'text', (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('audit_events_pk', ['account_id', 'seq'])
          .execute();
        await db.schema.createIndex('audit_events_account_at').on('audit_events').columns(['account_id', 'at']).execute();
        await db.schema.createIndex('audit_events_secret').on('audit_events').columns(['account_id', 'secret_name', 'seq']).execute();

        await db.schema
          .createTable('audit_heads')
          .addColumn('account_id', 'text', (c) => c.primaryKey())
          .addColumn('seq', 'bigint', (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0002_master_key_rotation': {
      // A data key may carry a second wrapping while a master key rotation is under way (see src/vault/rekey.ts).
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('data_keys').addColumn('previous_wrapped_key', bytes).execute();
        await db.schema.alterTable('data_keys').addColumn('previous_master_key_id', 'text').execute();
      },
    },
    '0003_read_revision': {
      // A marker that every change to what a run-time read depends on replaces, written by triggers in
      // the changing transaction itself, so no writer (another instance, the CLI, a hand edit) can skip it.
      // A read whose answer was loaded under the current marker is still exact (see src/store/runtime.ts).
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('read_revision')
          .addColumn('id', 'integer', (c) => c.primaryKey())
          .addColumn('revision', 'text', (c) => c.notNull())
          .execute();
        await sql`insert into read_revision (id, revision) values (1, 'initial')`.execute(db);
        // Stamping "last read" (grants, secrets) changes nothing a read depends on, and happens on
        // every read: it must not replace the marker, or no read could ever reuse what it loaded.
        const watched: Array<[table: string, updatedColumns: string[] | 'all']> = [
          ['accounts', 'all'],
          ['agents', 'all'],
          ['agent_keys', 'all'],
          ['secret_versions', 'all'],
          ['secrets', ['id', 'account_id', 'name', 'name_key', 'description', 'kind', 'key_names', 'current_version', 'created_at', 'created_by', 'updated_at', 'updated_by']],
          ['grants', ['secret_id', 'agent_id', 'created_at', 'created_by']],
        ];
        if (dialect === 'postgres') {
          // Random rather than counted: a restored or copied database can never bring back a marker
          // that stood for different data.
          await sql`create function read_revision_replace() returns trigger language plpgsql as $$
            begin update read_revision set revision = gen_random_uuid()::text; return null; end $$`.execute(db);
        }
        for (const [table, columns] of watched) await watchForReads(db, dialect, table, columns);
      },
    },
    '0004_audit_signatures': {
      // The audit chain's heads are signed by a key per account that the database holds only sealed
      // (src/crypto/auditSigning.ts), so a writer without the master key cannot redo the chain after an
      // edit. Events from before stay unsigned; the first commit after this signs them in.
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('audit_events').addColumn('signature', 'text').execute();
        await db.schema
          .createTable('audit_keys')
          .addColumn('account_id', 'text', (c) => c.primaryKey().references('accounts.id'))
          .addColumn('data_key_id', 'text', (c) => c.notNull().references('data_keys.id'))
          .addColumn('sealed_key', bytes, (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0005_passwords': {
      // SPEC S19. A one-time password signs in once, into a session that may only change the password;
      // unused, it stops signing in at password_expires_at. Signing in with it sets password_expires_at to
      // that moment, so the same password never signs in again (the row keeps its hash, which the
      // change-only session's "current password" is checked against). Rows from before this migration
      // hold chosen passwords as far as anyone can tell: 0.
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('users').addColumn('password_one_time', 'integer', (c) => c.notNull().defaultTo(0)).execute();
        await db.schema.alterTable('users').addColumn('password_expires_at', 'text').execute();
        await db.schema.alterTable('sessions').addColumn('password_change_only', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      },
    },
    '0006_environments': {
      // SPEC S21-S24. Keys belong to an environment: every key made before is a live key. A version says
      // the environment it was set for (null: the default value); secret_overrides names, per secret and
      // environment, the version that environment reads instead of the default (secrets.current_version
      // stays the default's). read_stamps keeps the last read per secret, agent and environment, with the
      // version read, written with the read's audit event like grants.last_read_at.
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('agent_keys').addColumn('environment', 'text', (c) => c.notNull().defaultTo('live')).execute();
        await db.schema.alterTable('secret_versions').addColumn('environment', 'text').execute();
        await db.schema
          .createTable('secret_overrides')
          .addColumn('secret_id', 'text', (c) => c.notNull().references('secrets.id').onDelete('cascade'))
          .addColumn('environment', 'text', (c) => c.notNull())
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addColumn('updated_by', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('secret_overrides_pk', ['secret_id', 'environment'])
          .execute();
        // A read depends on which version its environment reads: a change to that must replace the marker.
        await watchForReads(db, dialect, 'secret_overrides', 'all');
        await db.schema
          .createTable('read_stamps')
          // No foreign keys: a stamp is written by a read's audit batch, which must never fail because
          // the secret or agent was deleted meanwhile. Stamps are written only while the grant exists
          // and removed with it (src/store/audit.ts, src/vault/secrets.ts, src/vault/agents.ts).
          .addColumn('secret_id', 'text', (c) => c.notNull())
          .addColumn('agent_id', 'text', (c) => c.notNull())
          .addColumn('environment', 'text', (c) => c.notNull())
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('last_read_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('read_stamps_pk', ['secret_id', 'agent_id', 'environment'])
          .execute();
        await db.schema.createIndex('read_stamps_agent').on('read_stamps').column('agent_id').execute();
      },
    },
    '0007_broker': {
      // SPEC S25, S27: where a secret may be sent in brokered requests (JSON list of canonical hosts),
      // whether functions may read its value or only the broker may use it, and whether people may
      // reveal it. Existing secrets: no hosts (cannot be brokered), read by value, revealable — as before.
      // A run-time read depends on delivery (a broker-only secret is refused), so the secrets trigger of
      // 0003 is made again to watch the new columns too: a hand edit of them alone still holds from the
      // next read (SPEC S7).
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('secrets').addColumn('allowed_hosts', 'text', (c) => c.notNull().defaultTo('[]')).execute();
        await db.schema.alterTable('secrets').addColumn('delivery', 'text', (c) => c.notNull().defaultTo('value')).execute();
        await db.schema.alterTable('secrets').addColumn('reveal', 'text', (c) => c.notNull().defaultTo('allowed')).execute();
        const columns = ['id', 'account_id', 'name', 'name_key', 'description', 'kind', 'key_names', 'current_version', 'created_at', 'created_by', 'updated_at', 'updated_by', 'allowed_hosts', 'delivery', 'reveal'].join(', ');
        if (dialect === 'postgres') {
          await sql`drop trigger secrets_read_revision on secrets`.execute(db);
          await sql
            .raw(`create trigger secrets_read_revision after insert or delete or truncate or update of ${columns} on secrets for each statement execute function read_revision_replace()`)
            .execute(db);
        } else {
          await sql`drop trigger secrets_read_revision_2`.execute(db);
          await sql
            .raw(`create trigger secrets_read_revision_2 after update of ${columns} on secrets begin update read_revision set revision = lower(hex(randomblob(16))); end`)
            .execute(db);
        }
      },
    },
    '0008_sso': {
      // SPEC S29. One OpenID Connect configuration per account; its client secret is sealed under the
      // account's data key (src/vault/sealing.ts), bound to the account. `revision` is replaced whenever
      // the issuer, client id or client secret change: a console session records the revision it was
      // opened through, which is how the lock-out guard knows that an admin has just signed in with
      // this very configuration. Email domains are rows of their own, unique across accounts, so an
      // email's domain names at most one account. A sign-in in progress is a row of sso_flows, found by
      // the hash of the browser's flow cookie and used once.
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('sso_configs')
          .addColumn('account_id', 'text', (c) => c.primaryKey().references('accounts.id'))
          .addColumn('issuer', 'text', (c) => c.notNull())
          .addColumn('client_id', 'text', (c) => c.notNull())
          .addColumn('data_key_id', 'text', (c) => c.notNull().references('data_keys.id'))
          .addColumn('sealed_client_secret', bytes, (c) => c.notNull())
          .addColumn('jit_role', 'text')
          .addColumn('password_sign_in', 'integer', (c) => c.notNull())
          .addColumn('revision', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addColumn('updated_by', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('sso_domains')
          .addColumn('domain', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('sso_configs.account_id').onDelete('cascade'))
          .execute();
        await db.schema.createIndex('sso_domains_account').on('sso_domains').column('account_id').execute();
        await db.schema
          .createTable('sso_flows')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('revision', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('nonce', 'text', (c) => c.notNull())
          .addColumn('code_verifier', 'text', (c) => c.notNull())
          .addColumn('redirect_uri', 'text', (c) => c.notNull())
          .addColumn('return_to', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text', (c) => c.notNull())
          .addColumn('used_at', 'text')
          .execute();
        await db.schema.createIndex('sso_flows_expires').on('sso_flows').column('expires_at').execute();
        await db.schema.alterTable('sessions').addColumn('sso_revision', 'text').execute();
      },
    },
  };
  // Kysely runs migrations in name order; the explicit sort keeps that true if names are added out of order.
  return { getMigrations: async () => Object.fromEntries(Object.entries(migrations).sort(([a], [b]) => a.localeCompare(b))) };
}

/**
 * Triggers that replace the read revision marker on every change to `table` (all columns, or only the
 * listed ones on update), in the changing transaction itself (see migration 0003).
 */
async function watchForReads(db: Kysely<unknown>, dialect: DialectName, table: string, columns: string[] | 'all'): Promise<void> {
  if (dialect === 'postgres') {
    const update = columns === 'all' ? 'update' : `update of ${columns.join(', ')}`;
    await sql
      .raw(`create trigger ${table}_read_revision after insert or delete or truncate or ${update} on ${table} for each statement execute function read_revision_replace()`)
      .execute(db);
    return;
  }
  const events = ['insert', 'delete', columns === 'all' ? 'update' : `update of ${columns.join(', ')}`];
  for (const [i, event] of events.entries()) {
    await sql
      .raw(`create trigger ${table}_read_revision_${i} after ${event} on ${table} begin update read_revision set revision = lower(hex(randomblob(16))); end`)
      .execute(db);
  }
}
