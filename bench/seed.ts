import { randomBytes } from 'node:crypto';
import { Keyring, seal, secretVersionAad } from '../src/crypto/keyring.js';
import type { MasterKey } from '../src/crypto/masterKey.js';
import { ENVIRONMENTS } from '../src/domain/environments.js';
import { encodeSecretValue } from '../src/domain/secrets.js';
import { migrateToLatest, openStore, type StoreLocation } from '../src/store/database.js';
import { createVault } from '../src/vault/index.js';
import { silentLog } from '../src/vault/log.js';

export interface Seeded {
  agentKey: string;
  secretName: string;
}

/**
 * One account, the agent that reads (a live key), and the secret it reads. With `large`, also the
 * crowd a big customer brings: 100,000 secrets, 1,000 agents and 1,000,000 grants, written in bulk.
 * With `overrides`, the secret holds an override in every environment (SPEC S22), so the read answers
 * the live override instead of the default.
 */
export async function seed(location: StoreLocation, masterKey: MasterKey, large: boolean, overrides = false): Promise<Seeded> {
  const store = openStore(location);
  await migrateToLatest(store);
  const vault = createVault({ store, masterKey, log: silentLog });
  try {
    const admin = await vault.accounts.createAccount('default', 'bench@example.com', 'benchmark password');
    const caller = await vault.people.authenticateToken(admin.token);
    const agent = await vault.agents.createAgent(caller, 'bench agent');
    const key = await vault.agents.createAgentKey(caller, agent.id, { name: 'bench' });
    await vault.secrets.createSecret(caller, { name: 'bench_secret', value: 'sk_bench_0123456789abcdef', agents: [agent.id] });
    if (overrides) {
      for (const environment of ENVIRONMENTS) {
        await vault.secrets.updateSecret(caller, 'bench_secret', { value: `sk_bench_${environment}_0123456789abcdef`, environment });
      }
    }
    if (large) await seedCrowd(store, masterKey, caller.accountId, agent.id);
    return { agentKey: key.key, secretName: 'bench_secret' };
  } finally {
    await vault.close();
  }
}

const SECRETS = 100_000;
const AGENTS = 1_000;
const GRANTS_PER_AGENT = 1_000;

async function seedCrowd(store: ReturnType<typeof openStore>, masterKey: MasterKey, accountId: string, benchAgentId: string): Promise<void> {
  const db = store.db;
  const account = await db.selectFrom('accounts').select('data_key_id').where('id', '=', accountId).executeTakeFirstOrThrow();
  const dataKeyRow = await db.selectFrom('data_keys').selectAll().where('id', '=', account.data_key_id ?? '').executeTakeFirstOrThrow();
  const dataKey = new Keyring(masterKey).openDataKey({ id: dataKeyRow.id, accountId, wrapped: dataKeyRow.wrapped_key, masterKeyId: dataKeyRow.master_key_id });
  const now = new Date().toISOString();
  const secretIds: string[] = [];
  await db.transaction().execute(async (tx) => {
    for (let start = 0; start < SECRETS; start += 500) {
      const secrets = [];
      const versions = [];
      for (let i = start; i < Math.min(start + 500, SECRETS); i++) {
        const id = `sec_${i.toString(16).padStart(16, '0')}`;
        secretIds.push(id);
        const name = `crowd_secret_${i}`;
        secrets.push({ id, account_id: accountId, name, name_key: name, description: '', kind: 'single', key_names: '[]', current_version: 1, created_at: now, created_by: 'seed', updated_at: now, updated_by: 'seed', last_read_at: null, allowed_hosts: '[]', delivery: 'value', reveal: 'allowed' });
        const ciphertext = seal(dataKey, encodeSecretValue(randomBytes(24).toString('base64')), secretVersionAad(accountId, id, 1));
        versions.push({ secret_id: id, version: 1, data_key_id: dataKeyRow.id, ciphertext, kind: 'single', key_names: '[]', created_at: now, created_by: 'seed', restored_from: null });
      }
      await tx.insertInto('secrets').values(secrets).execute();
      await tx.insertInto('secret_versions').values(versions).execute();
    }
    const agentIds = [benchAgentId];
    const agents = [];
    for (let i = 1; i < AGENTS; i++) {
      const id = `agt_${i.toString(16).padStart(16, '0')}`;
      agentIds.push(id);
      agents.push({ id, account_id: accountId, name: `crowd agent ${i}`, name_key: `crowd agent ${i}`, created_at: now, created_by: 'seed' });
    }
    for (let i = 0; i < agents.length; i += 500) await tx.insertInto('agents').values(agents.slice(i, i + 500)).execute();
    let batch: Array<{ secret_id: string; agent_id: string; created_at: string; created_by: string; last_read_at: null }> = [];
    for (const [a, agentId] of agentIds.entries()) {
      for (let j = 0; j < GRANTS_PER_AGENT; j++) {
        batch.push({ secret_id: secretIds[(a * 100 + j) % SECRETS] ?? '', agent_id: agentId, created_at: now, created_by: 'seed', last_read_at: null });
        if (batch.length === 1000) {
          await tx.insertInto('grants').values(batch).execute();
          batch = [];
        }
      }
    }
    if (batch.length > 0) await tx.insertInto('grants').values(batch).execute();
  });
}
