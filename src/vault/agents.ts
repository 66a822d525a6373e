import { issueCredential } from '../crypto/tokens.js';
import { DEFAULT_KEY_ENVIRONMENT, type Environment } from '../domain/environments.js';
import { VaultError, invalidInput, notFound } from '../domain/errors.js';
import type { Db, Store, Tx } from '../store/database.js';
import type { AgentsTable } from '../store/schema.js';
import type { AuditTrail } from './audit.js';
import { actorOf, requireAdmin, type UserCaller } from './callers.js';
import { looksLikeId, newId, nowIso } from './ids.js';
import { nearestName } from './nearNames.js';
import { didYouMean } from '../domain/suggest.js';

export interface AgentInfo {
  id: string;
  name: string;
  createdAt: string;
  createdBy: string;
}

export interface AgentKeyInfo {
  id: string;
  name: string;
  /** Where the key's functions run (SPEC S21); fixed when the key is made. */
  environment: Environment;
  createdAt: string;
  createdBy: string;
  revokedAt: string | null;
}

const agentInfo = (row: AgentsTable): AgentInfo => ({ id: row.id, name: row.name, createdAt: row.created_at, createdBy: row.created_by });

/** An agent by id or by name (ignoring case), within one account. */
export async function findAgent(db: Db | Tx, accountId: string, ref: string): Promise<AgentsTable | undefined> {
  const byId = looksLikeId('agt', ref);
  return db
    .selectFrom('agents')
    .selectAll()
    .where('account_id', '=', accountId)
    .where(byId ? 'id' : 'name_key', '=', byId ? ref : ref.toLowerCase())
    .executeTakeFirst();
}

export const agentMissing = (ref: string, suggestion: string | undefined): VaultError => notFound(`No agent "${ref}" in this account.${didYouMean(suggestion)}`, 'agent');

/** Agents named in an access list, in one query; an unknown one is refused by its position (`agents[2]`). */
export async function resolveAgents(db: Db | Tx, accountId: string, refs: readonly string[], field: string): Promise<AgentsTable[]> {
  if (refs.length === 0) return [];
  const ids = refs.filter((ref) => looksLikeId('agt', ref));
  const nameKeys = refs.filter((ref) => !looksLikeId('agt', ref)).map((ref) => ref.toLowerCase());
  const rows = await db
    .selectFrom('agents')
    .selectAll()
    .where('account_id', '=', accountId)
    .where((eb) => eb.or([...(ids.length ? [eb('id', 'in', ids)] : []), ...(nameKeys.length ? [eb('name_key', 'in', nameKeys)] : [])]))
    .execute();
  const byId = new Map(rows.map((row) => [row.id, row]));
  const byName = new Map(rows.map((row) => [row.name_key, row]));
  const found = new Map<string, AgentsTable>();
  for (const [index, ref] of refs.entries()) {
    const agent = looksLikeId('agt', ref) ? byId.get(ref) : byName.get(ref.toLowerCase());
    if (!agent) {
      const near = await nearestName(db, 'agents', accountId, ref);
      throw invalidInput(`${field}[${index}]`, `no agent "${ref}" in this account (give an agent's name or id).${didYouMean(near)}`);
    }
    found.set(agent.id, agent);
  }
  return [...found.values()];
}

export function agentsService(deps: { store: Store; audit: AuditTrail }) {
  const { store, audit } = deps;

  async function requireAgent(db: Db | Tx, accountId: string, ref: string): Promise<AgentsTable> {
    const agent = await findAgent(db, accountId, ref);
    if (!agent) throw agentMissing(ref, await nearestName(db, 'agents', accountId, ref));
    return agent;
  }

  async function ensureNameFree(tx: Tx, accountId: string, name: string): Promise<void> {
    const taken = await tx.selectFrom('agents').select('id').where('account_id', '=', accountId).where('name_key', '=', name.toLowerCase()).executeTakeFirst();
    if (taken) throw new VaultError('name_taken', `An agent named "${name}" already exists (names are unique ignoring case).`, 'name');
  }

  /** Members may see the account's agents (they build them); changing them is for admins. */
  async function listAgents(caller: UserCaller): Promise<AgentInfo[]> {
    const rows = await store.db.selectFrom('agents').selectAll().where('account_id', '=', caller.accountId).orderBy('name_key').execute();
    return rows.map(agentInfo);
  }

  async function getAgent(caller: UserCaller, ref: string): Promise<AgentInfo> {
    return agentInfo(await requireAgent(store.db, caller.accountId, ref));
  }

  async function createAgent(caller: UserCaller, name: string): Promise<AgentInfo> {
    requireAdmin(caller);
    const actor = actorOf(caller);
    return audit.change(caller.accountId, async (tx, record) => {
      await ensureNameFree(tx, caller.accountId, name);
      const row: AgentsTable = { id: newId('agt'), account_id: caller.accountId, name, name_key: name.toLowerCase(), created_at: nowIso(), created_by: actor.name };
      await tx.insertInto('agents').values(row).execute();
      record({ actor, action: 'agent.create', outcome: 'success', agent: { id: row.id, name } });
      return agentInfo(row);
    });
  }

  async function renameAgent(caller: UserCaller, ref: string, name: string): Promise<AgentInfo> {
    requireAdmin(caller);
    const actor = actorOf(caller);
    return audit.change(caller.accountId, async (tx, record) => {
      const agent = await requireAgent(tx, caller.accountId, ref);
      if (agent.name_key !== name.toLowerCase()) await ensureNameFree(tx, caller.accountId, name);
      await tx.updateTable('agents').set({ name, name_key: name.toLowerCase() }).where('id', '=', agent.id).execute();
      record({ actor, action: 'agent.rename', outcome: 'success', agent: { id: agent.id, name }, detail: { from: agent.name } });
      return agentInfo({ ...agent, name, name_key: name.toLowerCase() });
    });
  }

  /** Deleting an agent removes its keys and grants with it: its functions can read nothing from the next call. */
  async function deleteAgent(caller: UserCaller, ref: string): Promise<void> {
    requireAdmin(caller);
    const actor = actorOf(caller);
    await audit.change(caller.accountId, async (tx, record) => {
      const agent = await requireAgent(tx, caller.accountId, ref);
      await tx.deleteFrom('grants').where('agent_id', '=', agent.id).execute();
      await tx.deleteFrom('read_stamps').where('agent_id', '=', agent.id).execute();
      await tx.deleteFrom('agent_keys').where('agent_id', '=', agent.id).execute();
      await tx.deleteFrom('agents').where('id', '=', agent.id).execute();
      record({ actor, action: 'agent.delete', outcome: 'success', agent: { id: agent.id, name: agent.name } });
    });
  }

  /** SPEC S16, S21: a new agent key of one environment (live unless chosen), returned once; only its hash is kept. */
  async function createAgentKey(
    caller: UserCaller,
    ref: string,
    options: { name?: string | undefined; environment?: Environment | undefined } = {},
  ): Promise<AgentKeyInfo & { key: string; agent: string }> {
    requireAdmin(caller);
    const actor = actorOf(caller);
    return audit.change(caller.accountId, async (tx, record) => {
      const agent = await requireAgent(tx, caller.accountId, ref);
      const credential = issueCredential('ask');
      const environment = options.environment ?? DEFAULT_KEY_ENVIRONMENT;
      const row = {
        id: `key_${credential.id}`,
        agent_id: agent.id,
        name: options.name ?? 'default',
        key_hash: credential.hash,
        created_at: nowIso(),
        created_by: actor.name,
        revoked_at: null,
        environment,
      };
      await tx.insertInto('agent_keys').values(row).execute();
      record({ actor, action: 'agent_key.create', outcome: 'success', agent: { id: agent.id, name: agent.name }, detail: { keyId: row.id, keyName: row.name, environment } });
      return { id: row.id, name: row.name, environment, createdAt: row.created_at, createdBy: row.created_by, revokedAt: null, key: credential.token, agent: agent.name };
    });
  }

  async function listAgentKeys(caller: UserCaller, ref: string): Promise<AgentKeyInfo[]> {
    requireAdmin(caller);
    const agent = await requireAgent(store.db, caller.accountId, ref);
    const rows = await store.db
      .selectFrom('agent_keys')
      .select(['id', 'name', 'environment', 'created_at', 'created_by', 'revoked_at'])
      .where('agent_id', '=', agent.id)
      .orderBy('created_at')
      .execute();
    return rows.map((row) => ({ id: row.id, name: row.name, environment: row.environment as Environment, createdAt: row.created_at, createdBy: row.created_by, revokedAt: row.revoked_at }));
  }

  /** Revocation holds from the next call: the run-time read checks revoked_at on every request. */
  async function revokeAgentKey(caller: UserCaller, ref: string, keyId: string): Promise<void> {
    requireAdmin(caller);
    const actor = actorOf(caller);
    await audit.change(caller.accountId, async (tx, record) => {
      const agent = await requireAgent(tx, caller.accountId, ref);
      const key = await tx.selectFrom('agent_keys').select(['id', 'revoked_at']).where('id', '=', keyId).where('agent_id', '=', agent.id).executeTakeFirst();
      if (!key) throw notFound(`Agent "${agent.name}" has no key ${keyId}.`, 'id');
      if (key.revoked_at !== null) return;
      await tx.updateTable('agent_keys').set({ revoked_at: nowIso() }).where('id', '=', key.id).execute();
      record({ actor, action: 'agent_key.revoke', outcome: 'success', agent: { id: agent.id, name: agent.name }, detail: { keyId: key.id } });
    });
  }

  return { listAgents, getAgent, createAgent, renameAgent, deleteAgent, createAgentKey, listAgentKeys, revokeAgentKey };
}

export type AgentsService = ReturnType<typeof agentsService>;
