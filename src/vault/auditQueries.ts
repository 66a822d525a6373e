import { publicKeyFingerprint, publicKeyPem, signatureCheck } from '../crypto/auditSigning.js';
import { isEnvironment } from '../domain/environments.js';
import { ChainVerifier, type ChainBreak, type ChainReport, type SignedHead } from '../domain/audit.js';
import { auditEventsAfter, auditHead, queryAuditEvents, signedAuditHead, type AuditQuery } from '../store/audit.js';
import type { AuditTrail } from './audit.js';
import type { AuditEventsTable } from '../store/schema.js';
import type { Store } from '../store/database.js';
import { requireAdmin, type UserCaller } from './callers.js';

export interface AuditEventView {
  seq: number;
  at: string;
  actor: { type: string; id: string | null; name: string | null };
  action: string;
  secret: string | null;
  version: number | null;
  agent: string | null;
  agentId: string | null;
  outcome: string;
  /** The environment the event happened in (a read's key, an override's), from its detail; null if none. */
  environment: string | null;
  detail: unknown;
}

const environmentOf = (detail: unknown): string | null => {
  const named = typeof detail === 'object' && detail !== null ? (detail as { environment?: unknown }).environment : undefined;
  return isEnvironment(named) ? named : null;
};

const PAGE = 1000;

/** SPEC S13/S14: the account's audit trail, newest first, filtered. Admins only, vault on or off. */
export function auditQueries(deps: { store: Store; audit: Pick<AuditTrail, 'publicKey'> }) {
  async function listAuditEvents(caller: UserCaller, filters: Omit<AuditQuery, 'accountId'>) {
    requireAdmin(caller);
    const rows = await queryAuditEvents(deps.store.db, { ...filters, accountId: caller.accountId, limit: filters.limit + 1 });
    const page = rows.slice(0, filters.limit);
    const last = page[page.length - 1];
    const events: AuditEventView[] = page.map((row) => {
      const detail = row.detail === null ? null : (JSON.parse(row.detail) as unknown);
      return {
        seq: row.seq,
        at: row.at,
        actor: { type: row.actor_type, id: row.actor_id, name: row.actor_name },
        action: row.action,
        secret: row.secret_name,
        version: row.version,
        agent: row.agent_name,
        agentId: row.agent_id,
        outcome: row.outcome,
        environment: environmentOf(detail),
        detail,
      };
    });
    return { events, next: rows.length > filters.limit && last ? last.seq : null };
  }

  /** Every event of the caller's account in chain order, as stored (with prev_hash and hash). */
  async function* exportAuditTrail(caller: UserCaller): AsyncGenerator<AuditEventsTable> {
    requireAdmin(caller);
    let after = 0;
    for (;;) {
      const page = await auditEventsAfter(deps.store.db, caller.accountId, after, PAGE);
      yield* page;
      const last = page[page.length - 1];
      if (!last || page.length < PAGE) return;
      after = last.seq;
    }
  }

  /**
   * SPEC S14 and section 5: walks the account's chain and reports the first altered, removed or
   * reordered event, checking every signed head with the account's audit key.
   */
  async function verifyAuditTrail(caller: UserCaller): Promise<ChainReport> {
    requireAdmin(caller);
    // The key comes first: an account without one gets it now, and the head it signs is then judged too.
    const publicKey = await deps.audit.publicKey(caller.accountId);
    // The head is read next: events appended during the walk lie beyond it and are not judged.
    const head = await auditHead(deps.store.db, caller.accountId);
    const verifier = new ChainVerifier({ checkSignature: signatureCheck(publicKey) });
    let broken: ChainBreak | undefined;
    for await (const event of exportAuditTrail(caller)) {
      if (event.seq > head.seq) break;
      broken = verifier.add(event);
      if (broken) break;
    }
    broken ??= verifier.finish(head);
    return {
      ok: broken === undefined,
      checked: verifier.checked,
      head,
      signedFrom: verifier.signedFrom,
      signatures: verifier.signaturesChecked,
      publicKey: publicKeyFingerprint(publicKey),
      firstBroken: broken ?? null,
    };
  }

  /** The account's audit public key, for an auditor to keep: it checks signatures and cannot make them. */
  async function auditPublicKey(caller: UserCaller): Promise<{ accountId: string; publicKey: string; fingerprint: string }> {
    requireAdmin(caller);
    const publicKey = await deps.audit.publicKey(caller.accountId);
    return { accountId: caller.accountId, publicKey: publicKeyPem(publicKey), fingerprint: publicKeyFingerprint(publicKey) };
  }

  /** The chain's head as signed, for a witness outside the store (`audit heads --follow`). */
  async function signedHead(caller: UserCaller): Promise<SignedHead> {
    requireAdmin(caller);
    const head = await signedAuditHead(deps.store.db, caller.accountId);
    return { account_id: caller.accountId, seq: head.seq, hash: head.hash, previous: head.previous, signature: head.signature, at: head.at };
  }

  return { listAuditEvents, exportAuditTrail, verifyAuditTrail, auditPublicKey, signedHead };
}
