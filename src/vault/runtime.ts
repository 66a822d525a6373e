import { credentialId, credentialMatches } from '../crypto/tokens.js';
import { VaultError, invalidInput, missingAccess, secretNotFound, secretUnreadable } from '../domain/errors.js';
import type { AuditAction } from '../domain/audit.js';
import { ENVIRONMENTS, isEnvironment, type Environment, type ValueSource } from '../domain/environments.js';
import { SECRET_NAME_PATTERN, SECRET_NAME_RULE } from '../domain/names.js';
import { type SecretKind, type SecretValue } from '../domain/secrets.js';
import { SUGGESTION_CANDIDATES, SUGGESTION_DISTANCE, closestName } from '../domain/suggest.js';
import type { Store } from '../store/database.js';
import { listReadableSecrets, loadAgentKey, runtimeReader, suggestionCandidates } from '../store/runtime.js';
import type { AuditTrail } from './audit.js';
import type { Actor } from './callers.js';
import { measured, type VaultMetrics } from './metrics.js';
import { UNREADABLE_DETAIL, type SealingService } from './sealing.js';

/** A run-time read's answer (SPEC S22): the value, and which environment's value it is. */
export interface SecretForAgent {
  name: string;
  kind: SecretKind;
  version: number;
  value: SecretValue;
  environment: Environment;
  source: ValueSource;
}

/** A value an agent key may use, opened, with what the audit of its use needs. */
export interface OpenedSecret {
  accountId: string;
  actor: Actor;
  agent: { id: string; name: string };
  secret: { id: string; name: string };
  environment: Environment;
  source: ValueSource;
  version: number;
  kind: SecretKind;
  value: SecretValue;
}

// One detail object per environment: a read event's detail names its environment (SPEC S24).
const ENVIRONMENT_DETAILS = new Map(ENVIRONMENTS.map((environment) => [environment, Object.freeze({ environment })]));
const detailIn = (environment: Environment): Record<string, unknown> => ENVIRONMENT_DETAILS.get(environment) ?? { environment };

export interface ReadableSecret {
  name: string;
  kind: SecretKind;
  keys: string[];
  description: string;
}

const badKey = (): VaultError =>
  new VaultError('unauthenticated', 'The agent key is missing, malformed, unknown or revoked; use a current key from the agent\'s page.');

interface KeyRow {
  key_hash: Buffer;
  revoked_at: string | null;
  environment: string;
  agent_id: string;
  agent_name: string;
  account_id: string;
  account_name: string;
  vault_enabled: number;
}

/** A person's token sent where an agent key belongs: said as such, never echoed. */
const TOKEN_FOR_RUNTIME = (): VaultError =>
  new VaultError(
    'unauthenticated',
    'This is a personal access token (asp_…): it manages the vault (/api/v1, the agent-secrets management commands). Run-time reads need an agent key (ask_…), from agent-secrets keys create AGENT or the agent\'s page.',
  );

function agentKeyId(agentKey: string): string {
  const id = credentialId(agentKey, 'ask');
  if (id === undefined) throw credentialId(agentKey, 'asp') === undefined ? badKey() : TOKEN_FOR_RUNTIME();
  return `key_${id}`;
}

/**
 * The agent key proves itself: known id, matching hash (constant time), not revoked, and of an
 * environment this service knows (a hand-edited row must not make up a `conv.env`).
 */
function checkKey(row: KeyRow | undefined, agentKey: string): asserts row is KeyRow {
  if (!row || row.revoked_at !== null || !credentialMatches(agentKey, row.key_hash)) throw badKey();
  if (!isEnvironment(row.environment)) {
    throw new VaultError('unauthenticated', `The agent key's environment is not one of ${ENVIRONMENTS.join(', ')} in storage; make a new key on the agent's page.`);
  }
}

export function runtimeService(deps: { store: Store; sealing: SealingService; audit: AuditTrail; metrics: VaultMetrics }) {
  const { store, sealing, audit } = deps;
  const loadRuntimeRead = runtimeReader(store);

  /**
   * Authenticates the agent key, checks the grant and opens the value the key's environment reads
   * (SPEC S22: its override, else the default), all from one query. Every refusal is audited as
   * `action` before it is thrown; a success is left to the caller to audit, with what it did with the
   * value: a run-time read (below), or a brokered request's use of it.
   */
  async function openSecretForAgent(agentKey: string, name: string, action: AuditAction = 'secret.read'): Promise<OpenedSecret> {
    const keyId = agentKeyId(agentKey);

    const row = await loadRuntimeRead(keyId, name);
    checkKey(row, agentKey);
    const agent = { id: row.agent_id, name: row.agent_name };
    const actor: Actor = { type: 'agent', ...agent };
    const environment = row.environment as Environment;
    const inEnvironment = detailIn(environment);

    // Checked after the key, so a caller without a valid key learns nothing but 401; and before any
    // audit event, so the trail never holds a name no secret can have.
    if (!SECRET_NAME_PATTERN.test(name)) throw invalidInput('name', `secret name must be ${SECRET_NAME_RULE}`);
    if (row.vault_enabled !== 1) {
      await audit.recordRead(row.account_id, { actor, action, outcome: 'denied', secret: { id: row.secret_id, name }, agent, detail: { reason: 'vault_not_enabled', environment } });
      throw new VaultError('vault_not_enabled', `The secrets vault is not enabled for account "${row.account_name}".`);
    }
    if (row.secret_id === null || row.secret_name === null || row.resolved_version === null) {
      await audit.recordRead(row.account_id, { actor, action, outcome: 'not_found', secret: { id: null, name }, agent, detail: inEnvironment });
      const candidates = await suggestionCandidates(store.db, agent.id, name, SUGGESTION_DISTANCE, SUGGESTION_CANDIDATES);
      throw secretNotFound(name, agent.name, closestName(name, candidates));
    }
    const secret = { id: row.secret_id, name: row.secret_name };
    const version = row.resolved_version;
    if (row.granted_to === null || row.ciphertext === null || row.data_key_id === null) {
      await audit.recordRead(row.account_id, { actor, action, outcome: 'denied', secret, version, agent, detail: inEnvironment });
      throw missingAccess(secret.name, agent.name);
    }

    const value = await sealing.openVersionIfIntact(store.db, row.account_id, secret.id, { version, data_key_id: row.data_key_id, ciphertext: row.ciphertext });
    if (value === undefined) {
      await audit.recordRead(row.account_id, { actor, action, outcome: 'failed', secret, version, agent, detail: { ...UNREADABLE_DETAIL, environment } });
      throw secretUnreadable(secret.name, version);
    }
    const source: ValueSource = row.override_version === null ? 'default' : 'override';
    return { accountId: row.account_id, actor, agent, secret, environment, source, version, kind: row.kind as SecretKind, value };
  }

  /**
   * The hot path (SPEC S9, S10, S13, S22): the value the key's environment reads, answered only once
   * the read's audit event (with the environment) is durable. One query, one batched audit write.
   */
  async function readSecretForAgent(agentKey: string, name: string): Promise<SecretForAgent> {
    const opened = await openSecretForAgent(agentKey, name);
    const { secret, agent, environment, version } = opened;
    await audit.recordRead(
      opened.accountId,
      { actor: opened.actor, action: 'secret.read', outcome: 'success', secret, version, agent, detail: detailIn(environment) },
      { secretId: secret.id, agentId: agent.id, environment, version },
    );
    return { name: secret.name, kind: opened.kind, version, value: opened.value, environment, source: opened.source };
  }

  /** SPEC S11: the names (never values) of the secrets this agent can read. */
  async function listSecretsForAgent(agentKey: string): Promise<{ agent: string; account: string; environment: Environment; secrets: ReadableSecret[] }> {
    const keyId = agentKeyId(agentKey);
    const row = await loadAgentKey(store.db, keyId);
    checkKey(row, agentKey);
    if (row.vault_enabled !== 1) {
      throw new VaultError('vault_not_enabled', `The secrets vault is not enabled for account "${row.account_name}".`);
    }
    const secrets = await listReadableSecrets(store.db, row.agent_id);
    return {
      agent: row.agent_name,
      account: row.account_name,
      environment: row.environment as Environment,
      secrets: secrets.map((secret) => ({
        name: secret.name,
        kind: secret.kind as SecretKind,
        keys: JSON.parse(secret.key_names) as string[],
        description: secret.description,
      })),
    };
  }

  return { readSecretForAgent: measured(deps.metrics, deps.metrics.runtimeRead.bind(deps.metrics), readSecretForAgent), openSecretForAgent, listSecretsForAgent };
}

export type RuntimeService = ReturnType<typeof runtimeService>;
