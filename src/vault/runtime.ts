import { credentialId, credentialMatches } from '../crypto/tokens.js';
import { VaultError, invalidInput, missingAccess, secretNotFound, secretUnreadable } from '../domain/errors.js';
import { SECRET_NAME_PATTERN, SECRET_NAME_RULE } from '../domain/names.js';
import { type SecretKind, type SecretValue } from '../domain/secrets.js';
import { SUGGESTION_CANDIDATES, SUGGESTION_DISTANCE, closestName } from '../domain/suggest.js';
import type { Store } from '../store/database.js';
import { listReadableSecrets, loadAgentKey, runtimeReader, suggestionCandidates } from '../store/runtime.js';
import type { AuditTrail } from './audit.js';
import type { Actor } from './callers.js';
import { measured, type VaultMetrics } from './metrics.js';
import { UNREADABLE_DETAIL, type SealingService } from './sealing.js';

export interface SecretForAgent {
  name: string;
  kind: SecretKind;
  version: number;
  value: SecretValue;
}

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

/** The agent key proves itself: known id, matching hash (constant time), not revoked. */
function checkKey(row: KeyRow | undefined, agentKey: string): asserts row is KeyRow {
  if (!row || row.revoked_at !== null || !credentialMatches(agentKey, row.key_hash)) throw badKey();
}

export function runtimeService(deps: { store: Store; sealing: SealingService; audit: AuditTrail; metrics: VaultMetrics }) {
  const { store, sealing, audit } = deps;
  const loadRuntimeRead = runtimeReader(store);

  /**
   * The hot path (SPEC S9, S10, S13): authenticate the agent key, check the grant, open the current
   * version, and answer only once the read's audit event is durable. One query, one batched audit write.
   */
  async function readSecretForAgent(agentKey: string, name: string): Promise<SecretForAgent> {
    const keyId = agentKeyId(agentKey);

    const row = await loadRuntimeRead(keyId, name);
    checkKey(row, agentKey);
    const agent = { id: row.agent_id, name: row.agent_name };
    const actor: Actor = { type: 'agent', ...agent };

    // Checked after the key, so a caller without a valid key learns nothing but 401; and before any
    // audit event, so the trail never holds a name no secret can have.
    if (!SECRET_NAME_PATTERN.test(name)) throw invalidInput('name', `secret name must be ${SECRET_NAME_RULE}`);
    if (row.vault_enabled !== 1) {
      await audit.recordRead(row.account_id, { actor, action: 'secret.read', outcome: 'denied', secret: { id: row.secret_id, name }, agent, detail: { reason: 'vault_not_enabled' } });
      throw new VaultError('vault_not_enabled', `The secrets vault is not enabled for account "${row.account_name}".`);
    }
    if (row.secret_id === null || row.secret_name === null || row.current_version === null) {
      await audit.recordRead(row.account_id, { actor, action: 'secret.read', outcome: 'not_found', secret: { id: null, name }, agent });
      const candidates = await suggestionCandidates(store.db, agent.id, name, SUGGESTION_DISTANCE, SUGGESTION_CANDIDATES);
      throw secretNotFound(name, agent.name, closestName(name, candidates));
    }
    const secret = { id: row.secret_id, name: row.secret_name };
    if (row.granted_to === null || row.ciphertext === null || row.data_key_id === null) {
      await audit.recordRead(row.account_id, { actor, action: 'secret.read', outcome: 'denied', secret, version: row.current_version, agent });
      throw missingAccess(secret.name, agent.name);
    }

    const value = await sealing.openVersionIfIntact(store.db, row.account_id, secret.id, {
      version: row.current_version,
      data_key_id: row.data_key_id,
      ciphertext: row.ciphertext,
    });
    if (value === undefined) {
      await audit.recordRead(row.account_id, { actor, action: 'secret.read', outcome: 'failed', secret, version: row.current_version, agent, detail: UNREADABLE_DETAIL });
      throw secretUnreadable(secret.name, row.current_version);
    }

    await audit.recordRead(
      row.account_id,
      { actor, action: 'secret.read', outcome: 'success', secret, version: row.current_version, agent },
      { secretId: secret.id, agentId: agent.id },
    );
    return { name: secret.name, kind: row.kind as SecretKind, version: row.current_version, value };
  }

  /** SPEC S11: the names (never values) of the secrets this agent can read. */
  async function listSecretsForAgent(agentKey: string): Promise<{ agent: string; account: string; secrets: ReadableSecret[] }> {
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
      secrets: secrets.map((secret) => ({
        name: secret.name,
        kind: secret.kind as SecretKind,
        keys: JSON.parse(secret.key_names) as string[],
        description: secret.description,
      })),
    };
  }

  return { readSecretForAgent: measured(deps.metrics, deps.metrics.runtimeRead.bind(deps.metrics), readSecretForAgent), listSecretsForAgent };
}

export type RuntimeService = ReturnType<typeof runtimeService>;
