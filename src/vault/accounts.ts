import { VaultError, notFound } from '../domain/errors.js';
import type { Store, Tx } from '../store/database.js';
import { createAuditChain } from '../store/audit.js';
import type { AuditTrail } from './audit.js';
import { OPERATOR } from './callers.js';
import { newId, nowIso } from './ids.js';
import { insertToken, insertUser } from './people.js';
import { preparePassword, type PreparedPassword } from './passwords.js';
import type { SealingService } from './sealing.js';

export interface AccountInfo {
  id: string;
  name: string;
  vaultEnabled: boolean;
  users: number;
  agents: number;
  secrets: number;
  createdAt: string;
}

export interface NewAccount {
  account: string;
  email: string;
  password: string;
  token: string;
}

/** Operator actions (SPEC S18), run straight on storage by the CLI and at first start. */
export function accountsService(deps: { store: Store; audit: AuditTrail; sealing: SealingService }) {
  const { store, audit, sealing } = deps;

  /** An account with the vault enabled, its first data key, and its first admin (password and token shown once). */
  async function createAccount(name: string, adminEmail: string, password?: string): Promise<NewAccount> {
    const prepared = await preparePassword(password);
    return create(name, adminEmail, prepared, async (tx, user) => {
      const token = await insertToken(tx, user.id, 'first admin');
      return { account: name, email: user.email, password: password ?? prepared.oneTimePassword ?? '', token: token.token };
    });
  }

  /**
   * As createAccount, for a first start with no terminal to show credentials on (SPEC S20): the admin
   * gets no token and a one-time password that has already expired, so no credential that nobody was
   * shown lies around; `agent-secrets users reset-password` hands out the first one.
   */
  async function createAccountAwaitingReset(name: string, adminEmail: string): Promise<{ account: string; email: string }> {
    const prepared = await preparePassword(undefined);
    return create(name, adminEmail, prepared, async (tx, user) => {
      await tx.updateTable('users').set({ password_expires_at: user.created_at }).where('id', '=', user.id).execute();
      return { account: name, email: user.email };
    });
  }

  async function create<T>(name: string, adminEmail: string, prepared: PreparedPassword, finish: (tx: Tx, user: { id: string; email: string; created_at: string }) => Promise<T>): Promise<T> {
    const id = newId('acc');
    return store.db.transaction().execute(async (tx) => {
      if (await tx.selectFrom('accounts').select('id').where('name', '=', name).executeTakeFirst()) {
        throw new VaultError('name_taken', `An account named "${name}" already exists.`, 'account');
      }
      await tx.insertInto('accounts').values({ id, name, vault_enabled: 1, data_key_id: null, created_at: nowIso() }).execute();
      await createAuditChain(tx, id);
      await sealing.rotateDataKey(tx, id);
      return audit.changeWithin(tx, id, async (_tx, record) => {
        const user = await insertUser(tx, id, adminEmail, 'admin', prepared, OPERATOR);
        record({ actor: OPERATOR, action: 'account.create', outcome: 'success', detail: { account: name, admin: user.email } });
        return finish(tx, user);
      });
    });
  }

  async function listAccounts(): Promise<AccountInfo[]> {
    const rows = await store.db
      .selectFrom('accounts as a')
      .select(['a.id', 'a.name', 'a.vault_enabled', 'a.created_at'])
      .select((eb) => [
        eb.selectFrom('users').whereRef('users.account_id', '=', 'a.id').select(eb.fn.countAll<number>().as('n')).as('users'),
        eb.selectFrom('agents').whereRef('agents.account_id', '=', 'a.id').select(eb.fn.countAll<number>().as('n')).as('agents'),
        eb.selectFrom('secrets').whereRef('secrets.account_id', '=', 'a.id').select(eb.fn.countAll<number>().as('n')).as('secrets'),
      ])
      .orderBy('a.name')
      .execute();
    return rows.map((row) => ({
      id: row.id,
      name: row.name,
      vaultEnabled: row.vault_enabled === 1,
      users: Number(row.users ?? 0),
      agents: Number(row.agents ?? 0),
      secrets: Number(row.secrets ?? 0),
      createdAt: row.created_at,
    }));
  }

  async function setVault(name: string, enabled: boolean): Promise<void> {
    const account = await store.db.selectFrom('accounts').select(['id']).where('name', '=', name).executeTakeFirst();
    if (!account) throw notFound(`No account named "${name}".`, 'account');
    await audit.change(account.id, async (tx, record) => {
      await tx.updateTable('accounts').set({ vault_enabled: enabled ? 1 : 0 }).where('id', '=', account.id).execute();
      record({ actor: OPERATOR, action: 'account.vault_set', outcome: 'success', detail: { enabled } });
    });
  }

  async function isEmpty(): Promise<boolean> {
    const row = await store.db.selectFrom('accounts').select('id').limit(1).executeTakeFirst();
    return row === undefined;
  }

  return { createAccount, createAccountAwaitingReset, listAccounts, setVault, isEmpty };
}

export type AccountsService = ReturnType<typeof accountsService>;
