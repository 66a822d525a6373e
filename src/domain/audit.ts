import { hash } from 'node:crypto';

export const AUDIT_ACTIONS = [
  'secret.read',
  'secret.reveal',
  'secret.create',
  'secret.value_set',
  'secret.description_set',
  'secret.access_set',
  'secret.allowed_hosts_set',
  'secret.delivery_set',
  'secret.reveal_set',
  'secret.use',
  'secret.restore',
  'secret.promote',
  'secret.override_remove',
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
  'audit_key.create',
  'master_key.rotate',
  'master_key.retire',
  'vault.backup',
  'vault.restore',
  'sso.configure',
  'sso.remove',
  'sso.sign_in',
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
  /**
   * The account's signature of the chain head this event made (the last event of each committed
   * batch), base64; null on the other events and on events written before the chain was signed.
   */
  signature?: string | null;
}

/**
 * What the account's audit key signs when a commit leaves the chain at event `seq` with `hash`:
 * `previous` is the seq of the signed head that commit extended, null for the first signed head of
 * the chain (the one the key's creation made). Naming the previous head chains the signatures too,
 * so removing one (or all after some point) breaks the next. The exact UTF-8 bytes signed, published
 * like chainHash (docs/audit.md).
 */
export function signedHeadStatement(accountId: string, seq: number, hash: string, previous: number | null): string {
  return JSON.stringify(['agent-secrets audit head v1', accountId, seq, hash, previous]);
}

/** Checks an Ed25519 signature of a statement with the account's public key (crypto/auditSigning.ts). */
export type SignatureCheck = (statement: string, signature: string) => boolean;

/** The first line of an export names its format, account and audit public key (see docs/audit.md). */
export const AUDIT_EXPORT_FORMAT = 'agent-secrets audit export v1';

export interface AuditExportHeader {
  export: typeof AUDIT_EXPORT_FORMAT;
  account_id: string;
  /** The account's audit public key as the service that wrote the export says: proves nothing against that writer. */
  public_key: string;
  exported_at: string;
}

/** A signed head that a witness saw (a line of `audit heads`). */
export interface WitnessedHead {
  account_id: string;
  seq: number;
  hash: string;
}

export type ChainBreakReason = 'altered' | 'missing' | 'out_of_order' | 'truncated' | 'bad_signature' | 'unsigned' | 'diverged';
export const CHAIN_BREAK_REASONS = ['altered', 'missing', 'out_of_order', 'truncated', 'bad_signature', 'unsigned', 'diverged'] as const satisfies readonly ChainBreakReason[];

export interface ChainBreak {
  seq: number;
  reason: ChainBreakReason;
  message: string;
}

/** What a verification of an account's live chain reports (GET /api/v1/audit/verify). */
export interface ChainReport {
  ok: boolean;
  checked: number;
  head: { seq: number; hash: string };
  /** The first signed event: events before it were written before the chain was signed. */
  signedFrom: number | null;
  signatures: number;
  /** The fingerprint of the public key the signatures were checked with (see publicKey). */
  publicKey: string;
  firstBroken: ChainBreak | null;
}

/** A signed chain head as a witness records it (`agent-secrets audit heads`): enough to check it with the public key alone. */
export interface SignedHead {
  account_id: string;
  seq: number;
  hash: string;
  /** The seq of the signed head this one was signed over (null: the first). */
  previous: number | null;
  signature: string | null;
  at: string | null;
}

export interface VerifierOptions {
  /** Check every signature with the account's public key; the chain's end must then be signed. */
  checkSignature?: SignatureCheck | undefined;
  /** Signed heads a witness saw: each must still be on the chain (truncation, a rewritten history). */
  witnessed?: readonly WitnessedHead[] | undefined;
}

/**
 * Walks one account's events in sequence order and finds the first broken link (SPEC S14): a gap in
 * the sequence is a removed event; an event whose prev_hash is not the hash of the event before it
 * was moved (reordered); an event whose fields no longer give its hash was altered; and events
 * removed from the end are found from the chain head, which records the newest sequence and hash.
 *
 * Those checks use only published formulas, so anyone who can write the database can redo them after
 * an edit. With a public key, each signed head is checked as well (SPEC section 5): a rewrite fails
 * at the first signature after it, removed signatures fail at the next one, and an end that is not
 * signed is reported. With witnessed heads, a chain cut back to an older signed head is found too.
 */
export class ChainVerifier {
  private expectedSeq = 1;
  private prevHash = GENESIS_HASH;
  private broken: ChainBreak | undefined;
  /** The seq of the last signed event checked; undefined before the first. */
  private lastSigned: number | undefined;
  private readonly witnessed = new Map<number, string>();
  checked = 0;
  /** The first signed event: where the signed part of the chain begins. */
  signedFrom: number | null = null;
  signaturesChecked = 0;

  constructor(private readonly options: VerifierOptions = {}) {
    for (const head of options.witnessed ?? []) this.witnessed.set(head.seq, head.hash);
  }

  /** Feeds the next event (in ascending seq); returns the first break found so far, if any. */
  add(event: ChainedAuditRecord): ChainBreak | undefined {
    if (this.broken) return this.broken;
    const { prev_hash: prevHash, hash, signature, ...record } = event;
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
    const witnessedHash = this.witnessed.get(event.seq);
    if (witnessedHash !== undefined && witnessedHash !== hash) {
      return (this.broken = {
        seq: event.seq,
        reason: 'diverged',
        message: `event ${event.seq} is not the one a witness saw signed: the history up to it was rewritten`,
      });
    }
    const check = this.options.checkSignature;
    if (check && signature != null) {
      const previous = this.lastSigned ?? null;
      if (!check(signedHeadStatement(event.account_id, event.seq, hash, previous), signature)) {
        const since = this.lastSigned === undefined ? 'the start of the chain' : `the last good signature (event ${this.lastSigned})`;
        return (this.broken = {
          seq: event.seq,
          reason: 'bad_signature',
          message: `event ${event.seq}'s signature does not verify: it or an event since ${since} was altered, removed or reordered, or a signature between them removed`,
        });
      }
      this.lastSigned = event.seq;
      this.signedFrom ??= event.seq;
      this.signaturesChecked += 1;
    }
    this.prevHash = hash;
    this.expectedSeq += 1;
    this.checked += 1;
    return undefined;
  }

  /**
   * Ends the walk: against the chain head the store records (live), or, for an export, with the last
   * event as its end. Returns the first break of the whole chain.
   */
  finish(head?: { seq: number; hash: string }): ChainBreak | undefined {
    if (this.broken) return this.broken;
    const last = this.expectedSeq - 1;
    if (head && head.seq > last) {
      return (this.broken = { seq: last + 1, reason: 'truncated', message: `events ${last + 1} to ${head.seq} are missing from the end` });
    }
    if (head && (head.seq !== last || head.hash !== this.prevHash)) {
      return (this.broken = { seq: head.seq, reason: 'altered', message: `the chain head (event ${head.seq}) does not match the last event (${last})` });
    }
    if (this.options.checkSignature && last > 0 && this.lastSigned !== last) {
      const from = (this.lastSigned ?? 0) + 1;
      return (this.broken = {
        seq: from,
        reason: 'unsigned',
        message:
          this.lastSigned === undefined
            ? `no event of the chain carries a valid signature: the chain is not signed by this key, or its signatures were removed`
            : `events ${from} to ${last} are not covered by a signature: the chain's end must be a signed head (written by something without the key, or a signature was removed)`,
      });
    }
    const beyond = Math.max(0, ...this.witnessed.keys());
    if (beyond > last) {
      return (this.broken = {
        seq: last + 1,
        reason: 'truncated',
        message: `the chain ends at event ${last}, but a witness saw event ${beyond} signed: events ${last + 1} to ${beyond} were removed and the head moved back`,
      });
    }
    return undefined;
  }
}
