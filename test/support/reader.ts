import type { Store } from '../../src/store/database.js';
import { createVault } from '../../src/vault/index.js';
import { silentLog } from '../../src/vault/log.js';
import { testMasterKey } from './stores.js';

/** A vault on `store` with one account, an agent "reader" with a key, and one secret it may read. */
export async function vaultWithReader(store: Store, secret: { name: string; value: string }) {
  const vault = createVault({ store, masterKey: testMasterKey(), log: silentLog });
  const admin = await vault.accounts.createAccount('default', 'a@example.com', 'a long password');
  const caller = await vault.people.authenticateToken(admin.token);
  const agent = await vault.agents.createAgent(caller, 'reader');
  const agentKey = (await vault.agents.createAgentKey(caller, agent.id, { name: 'k' })).key;
  await vault.secrets.createSecret(caller, { name: secret.name, value: secret.value, agents: [agent.id] });
  return { vault, caller, agentKey };
}
