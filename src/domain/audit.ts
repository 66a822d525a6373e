import { createHash } from 'node:crypto';

export const AUDIT_ACTIONS = [
  'secret.read',
  'secret.reveal',
  'secret.create',
  'secret.value_set',
  'secret.description_set',
  'secret.access_set',
  'secret.restore',
  'secret.delete',
  'agent.create',
  'agent.rename',
  'agent.delete',
  'agent_key.create',
  'agent_key.revoke',
  'user.create',
  'user.role_set',
  'user.remove',
  'token.create',
  'token.revoke',
  'account.create',
  'account.vault_set',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const AUDIT_OUTCOMES = ['success', 'denied', 'not_found'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** One event as stored, without its place in the chain. Never holds a value, key or token. */
export interface AuditRecord {
  account_id: string;
  seq: number;
  at: string;
  actor_type: string;
  actor_id: string | null;
  actor_name: string | null;
  action: string;
  secret_id: string | null;
  secret_name: string | null;
  version: number | null;
  agent_id: string | null;
  agent_name: string | null;
  outcome: string;
  detail: string | null;
}

export const GENESIS_HASH = '0'.repeat(64);

/**
 * Each account's events form a hash chain: an event's hash covers its fields, in this fixed order,
 * and the previous event's hash. Changing, removing or reordering an event breaks every link after it.
 */
export function chainHash(prevHash: string, event: AuditRecord): string {
  const fields = [
    event.account_id,
    event.seq,
    event.at,
    event.actor_type,
    event.actor_id,
    event.actor_name,
    event.action,
    event.secret_id,
    event.secret_name,
    event.version,
    event.agent_id,
    event.agent_name,
    event.outcome,
    event.detail,
    prevHash,
  ];
  return createHash('sha256').update(JSON.stringify(fields), 'utf8').digest('hex');
}
