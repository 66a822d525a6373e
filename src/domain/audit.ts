import { hash } from 'node:crypto';

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
  'user.password_change',
  'user.password_reset',
  'token.create',
  'token.revoke',
  'account.create',
  'account.vault_set',
  'data_key.rotate',
  'master_key.rotate',
  'master_key.retire',
  'vault.backup',
  'vault.restore',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

// failed: allowed, but the stored value failed its integrity check, so nothing was answered.
export const AUDIT_OUTCOMES = ['success', 'denied', 'not_found', 'failed'] as const;
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
  // One-shot hash: no Hash object per event (this runs for every audit event written).
  return hash('sha256', JSON.stringify(fields), 'hex');
}

/** An event as stored, with its place in the chain. */
export interface ChainedAuditRecord extends AuditRecord {
  prev_hash: string;
  hash: string;
}

export type ChainBreak =
  | { seq: number; reason: 'altered'; message: string }
  | { seq: number; reason: 'missing'; message: string }
  | { seq: number; reason: 'out_of_order'; message: string }
  | { seq: number; reason: 'truncated'; message: string };

/**
 * Walks one account's events in sequence order and finds the first broken link (SPEC S14): a gap in
 * the sequence is a removed event; an event whose prev_hash is not the hash of the event before it
 * was moved (reordered); an event whose fields no longer give its hash was altered; and events
 * removed from the end are found from the chain head, which records the newest sequence and hash.
 */
export class ChainVerifier {
  private expectedSeq = 1;
  private prevHash = GENESIS_HASH;
  private broken: ChainBreak | undefined;
  checked = 0;

  /** Feeds the next event (in ascending seq); returns the first break found so far, if any. */
  add(event: ChainedAuditRecord): ChainBreak | undefined {
    if (this.broken) return this.broken;
    const { prev_hash: prevHash, hash, ...record } = event;
    if (event.seq > this.expectedSeq) {
      return (this.broken = { seq: this.expectedSeq, reason: 'missing', message: `event ${this.expectedSeq} is missing (the next one stored is ${event.seq})` });
    }
    if (event.seq < this.expectedSeq) {
      return (this.broken = { seq: event.seq, reason: 'out_of_order', message: `event ${event.seq} appears again after event ${this.expectedSeq - 1}` });
    }
    if (prevHash !== this.prevHash) {
      return (this.broken = { seq: event.seq, reason: 'out_of_order', message: `event ${event.seq} does not follow event ${event.seq - 1}: events were moved or reordered here` });
    }
    if (chainHash(prevHash, record) !== hash) {
      return (this.broken = { seq: event.seq, reason: 'altered', message: `event ${event.seq} was altered: its fields do not give its hash` });
    }
    this.prevHash = hash;
    this.expectedSeq += 1;
    this.checked += 1;
    return undefined;
  }

  /** Compares the end of the walk with the chain head; returns the first break of the whole chain. */
  finish(head: { seq: number; hash: string }): ChainBreak | undefined {
    if (this.broken) return this.broken;
    const last = this.expectedSeq - 1;
    if (head.seq > last) {
      return (this.broken = { seq: last + 1, reason: 'truncated', message: `events ${last + 1} to ${head.seq} are missing from the end` });
    }
    if (head.seq !== last || head.hash !== this.prevHash) {
      return (this.broken = { seq: head.seq, reason: 'altered', message: `the chain head (event ${head.seq}) does not match the last event (${last})` });
    }
    return undefined;
  }
}
