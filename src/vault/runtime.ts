import { credentialId, credentialMatches } from '../crypto/tokens.js';
import { VaultError, brokerOnly, invalidInput, missingAccess, secretNotFound, secretUnreadable } from '../domain/errors.js';
import { ENVIRONMENTS, isEnvironment, type Environment, type ValueSource } from '../domain/environments.js';
import { SECRET_NAME_PATTERN, SECRET_NAME_RULE } from '../domain/names.js';
import { type Delivery, type SecretKind, type SecretValue } from '../domain/secrets.js';
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

/** Who is calling at run time: the key's agent, account and environment, as the audit trail names them. */
export interface RuntimeCaller {
  accountId: string;
  agent: { id: string; name: string };
  actor: Actor;
  environment: Environment;
}

/**
 * A secret as one agent key may use it now: the value its environment reads when granted (SPEC S22),
 * or the refusal, with what its audit event needs. Nothing is audited here: the read (SPEC S13) and
 * the brokered use (S26) each write their own event.
 */
export type Resolution = RuntimeCaller &
  (
    | {
        granted: true;
        secret: { id: string; name: string };
        kind: SecretKind;
        version: number;
        source: ValueSource;
        value: SecretValue;
        delivery: Delivery;
        allowedHosts: string[];
      }
    | {
        granted: false;
        outcome: 'denied' | 'not_found' | 'failed';
        secret: { id: string | null; name: string };
        version: number | null;
        detail: Record<string, unknown>;
        error: VaultError;
      }
  );

// One detail object per environment: a read event's detail names its environment (SPEC S24).
const ENVIRONMENT_DETAILS = new Map(ENVIRONMENTS.map((environment) => [environment, Object.freeze({ environment })]));
const detailIn = (environment: Environment): Record<string, unknown> => ENVIRONMENT_DETAILS.get(environment) ?? { environment };

export interface ReadableSecret {
  name: string;
  kind: SecretKind;
  keys: string[];
  description: string;
  /** SPEC S27: how a function uses it — get_secret (value) or conv.http.fetch only (broker-only). */
  delivery: Delivery;
  /** SPEC S25: where conv.http.fetch may send it. */
  allowedHosts: string[];
}

/** A row of listReadableSecrets as the "what can I read" lists show it (SPEC S11, S25, S27). */
export function readableSecretOf(row: { name: string; kind: string; key_names: string; description: string; delivery: string; allowed_hosts: string }): ReadableSecret {
  return {
    name: row.name,
    kind: row.kind as SecretKind,
    keys: JSON.parse(row.key_names) as string[],
    description: row.description,
    delivery: row.delivery as Delivery,
    allowedHosts: JSON.parse(row.allowed_hosts) as string[],
  };
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
   * THE resolution of a secret for an agent key, shared by get_secret and brokered requests: the key,
   * its account and environment, the grant, and the value that environment reads (SPEC S22: its
   * override, else the default), as of now on every instance (S7). One query; nothing audited.
   */
  async function resolveForAgent(agentKey: string, name: string): Promise<Resolution> {
    const keyId = agentKeyId(agentKey);

    const row = await loadRuntimeRead(keyId, name);
    checkKey(row, agentKey);
    const agent = { id: row.agent_id, name: row.agent_name };
    const environment = row.environment as Environment;
    const caller: RuntimeCaller = { accountId: row.account_id, agent, actor: { type: 'agent', ...agent }, environment };
    const inEnvironment = detailIn(environment);

    // Checked after the key, so a caller without a valid key learns nothing but 401; and before any
    // audit event, so the trail never holds a name no secret can have.
    if (!SECRET_NAME_PATTERN.test(name)) throw invalidInput('name', `secret name must be ${SECRET_NAME_RULE}`);
    if (row.vault_enabled !== 1) {
      const error = new VaultError('vault_not_enabled', `The secrets vault is not enabled for account "${row.account_name}".`);
      return { ...caller, granted: false, outcome: 'denied', secret: { id: row.secret_id, name }, version: null, detail: { reason: 'vault_not_enabled', environment }, error };
    }
    if (row.secret_id === null || row.secret_name === null || row.resolved_version === null) {
      const candidates = await suggestionCandidates(store.db, agent.id, name, SUGGESTION_DISTANCE, SUGGESTION_CANDIDATES);
      return { ...caller, granted: false, outcome: 'not_found', secret: { id: null, name }, version: null, detail: inEnvironment, error: secretNotFound(name, agent.name, closestName(name, candidates)) };
    }
    const secret = { id: row.secret_id, name: row.secret_name };
    const version = row.resolved_version;
    if (row.granted_to === null || row.ciphertext === null || row.data_key_id === null) {
      return { ...caller, granted: false, outcome: 'denied', secret, version, detail: inEnvironment, error: missingAccess(secret.name, agent.name) };
    }

    const value = await sealing.openVersionIfIntact(store.db, row.account_id, secret.id, { version, data_key_id: row.data_key_id, ciphertext: row.ciphertext });
    if (value === undefined) {
      return { ...caller, granted: false, outcome: 'failed', secret, version, detail: { ...UNREADABLE_DETAIL, environment }, error: secretUnreadable(secret.name, version) };
    }
    return {
      ...caller,
      granted: true,
      secret,
      kind: row.kind as SecretKind,
      version,
      source: row.override_version === null ? 'default' : 'override',
      value,
      delivery: (row.delivery ?? 'value') as Delivery,
      // Parsed only when a brokered request asks: the run-time read never looks at it.
      get allowedHosts() {
        return JSON.parse(row.allowed_hosts ?? '[]') as string[];
      },
    };
  }

  /**
   * The hot path (SPEC S9, S10, S13, S22, S27): resolve, refuse a broker-only secret, and answer the
   * value the key's environment reads only once the read's audit event (with the environment) is
   * durable. One query, one batched audit write.
   */
  async function readSecretForAgent(agentKey: string, name: string): Promise<SecretForAgent> {
    const resolved = await resolveForAgent(agentKey, name);
    const { accountId, actor, agent, environment } = resolved;
    if (!resolved.granted) {
      await audit.recordRead(accountId, { actor, action: 'secret.read', outcome: resolved.outcome, secret: resolved.secret, version: resolved.version, agent, detail: resolved.detail });
      throw resolved.error;
    }
    const { secret, version } = resolved;
    if (resolved.delivery === 'broker-only') {
      await audit.recordRead(accountId, { actor, action: 'secret.read', outcome: 'denied', secret, version, agent, detail: { reason: 'broker_only', environment } });
      throw brokerOnly(secret.name);
    }
    await audit.recordRead(
      accountId,
      { actor, action: 'secret.read', outcome: 'success', secret, version, agent, detail: detailIn(environment) },
      { secretId: secret.id, agentId: agent.id, environment, version },
    );
    return { name: secret.name, kind: resolved.kind, version, value: resolved.value, environment, source: resolved.source };
  }

  /** SPEC S11: the names (never values) of the secrets this agent can read. */
  async function listSecretsForAgent(agentKey: string): Promise<{ agent: string; account: string; environment: Environment; secrets: ReadableSecret[] }> {
    const keyId = agentKeyId(agentKey);
    const row = await loadAgentKey(store.db, keyId);
    checkKey(row, agentKey);
    if (row.vault_enabled !== 1) {
      throw new VaultError('vault_not_enabled', `The secrets vault is not enabled for account "${row.account_name}".`);
    }
    // Kinds and key names as this key's environment reads them, not the default's (SPEC S22).
    const secrets = await listReadableSecrets(store.db, row.agent_id, row.environment);
    return {
      agent: row.agent_name,
      account: row.account_name,
      environment: row.environment as Environment,
      secrets: secrets.map(readableSecretOf),
    };
  }

  return { readSecretForAgent: measured(deps.metrics, deps.metrics.runtimeRead.bind(deps.metrics), readSecretForAgent), resolveForAgent, listSecretsForAgent };
}

export type RuntimeService = ReturnType<typeof runtimeService>;
