import { Keyring } from '../../src/crypto/keyring.js';
import type { MasterKey } from '../../src/crypto/masterKey.js';
import type { Db } from '../../src/store/database.js';
import type { Store } from '../../src/store/database.js';
import { createVault, type Vault } from '../../src/vault/index.js';
import { silentLog } from '../../src/vault/log.js';
import { sealingService } from '../../src/vault/sealing.js';

export const CANARY = 'CANARY-maint-7e57ab1e';

export interface Populated {
  /** Agent keys by account name, to read as the agent afterwards. */
  agentKeys: Record<string, string>;
  /** The first admin's personal access token by account name. */
  adminTokens: Record<string, string>;
  /** A sandbox key of the same agent by account name: it reads stripe_api_key's sandbox override. */
  sandboxKeys: Record<string, string>;
}

/**
 * Two accounts, each with an agent and its key, a single-value secret in two versions granted to the
 * agent, a key/value secret nobody may read, granted and refused reads, and a restored version: every
 * kind of row and audit event a backup or a rotation must carry; and a sandbox key that reads the
 * secret's sandbox override (SPEC S21, S22), so both carry key environments and overrides too.
 */
export async function populate(store: Store, masterKey: MasterKey): Promise<Populated> {
  const vault = createVault({ store, masterKey, log: silentLog });
  const agentKeys: Record<string, string> = {};
  const adminTokens: Record<string, string> = {};
  const sandboxKeys: Record<string, string> = {};
  for (const account of ['default', 'acme']) {
    const created = await vault.accounts.createAccount(account, `admin@${account}.example.com`, 'correct horse battery staple');
    adminTokens[account] = created.token;
    const admin = await vault.people.authenticateToken(created.token);
    // A user with a pending one-time password (SPEC S19): a backup carries that state and its expiry.
    await vault.people.createUser(admin, { email: `invited@${account}.example.com`, role: 'member' });
    await vault.agents.createAgent(admin, 'booking');
    await vault.agents.createAgent(admin, 'support');
    const key = await vault.agents.createAgentKey(admin, 'booking', { name: 'functions' });
    agentKeys[account] = key.key;
    await vault.secrets.createSecret(admin, { name: 'stripe_api_key', description: 'Stripe', value: `${CANARY}-${account}-v1`, agents: ['booking'] });
    await vault.secrets.updateSecret(admin, 'stripe_api_key', { value: `${CANARY}-${account}-v2` });
    await vault.secrets.createSecret(admin, { name: 'oauth', value: { client_id: 'client', client_secret: `${CANARY}-${account}-kv` }, agents: ['support'] });
    await vault.secrets.restoreVersion(admin, 'stripe_api_key', 1);
    await vault.runtime.readSecretForAgent(key.key, 'stripe_api_key');
    await vault.runtime.readSecretForAgent(key.key, 'oauth').catch(() => undefined);
    const sandbox = await vault.agents.createAgentKey(admin, 'booking', { name: 'tests', environment: 'sandbox' });
    sandboxKeys[account] = sandbox.key;
    await vault.secrets.updateSecret(admin, 'stripe_api_key', { value: `${CANARY}-${account}-sandbox`, environment: 'sandbox' });
    await vault.runtime.readSecretForAgent(sandbox.key, 'stripe_api_key');
  }
  await vault.audit.flush();
  return { agentKeys, adminTokens, sandboxKeys };
}

/** Every version of every secret, opened with only the given master key: "account/secret/version" → value. */
export async function openEveryVersion(db: Db, masterKey: MasterKey): Promise<Record<string, unknown>> {
  const sealing = sealingService(new Keyring(masterKey));
  const rows = await db
    .selectFrom('secret_versions as v')
    .innerJoin('secrets as s', 's.id', 'v.secret_id')
    .innerJoin('accounts as a', 'a.id', 's.account_id')
    .select(['a.id as account_id', 'a.name as account', 's.id as secret_id', 's.name as secret', 'v.version', 'v.data_key_id', 'v.ciphertext'])
    .orderBy('a.name')
    .orderBy('s.name')
    .orderBy('v.version')
    .execute();
  const values: Record<string, unknown> = {};
  for (const row of rows) values[`${row.account}/${row.secret}/${row.version}`] = await sealing.openVersion(db, row.account_id, row.secret_id, row);
  return values;
}

/** A vault over the store that holds only this master key (a freshly started instance: nothing cached). */
export const vaultWith = (store: Store, masterKey: MasterKey): Vault => createVault({ store, masterKey, log: silentLog });
