import { queryAuditEvents, type AuditQuery } from '../store/audit.js';
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
  detail: unknown;
}

/** SPEC S13/S14: the account's audit trail, newest first, filtered. Admins only, vault on or off. */
export function auditQueries(deps: { store: Store }) {
  async function listAuditEvents(caller: UserCaller, filters: Omit<AuditQuery, 'accountId'>) {
    requireAdmin(caller);
    const rows = await queryAuditEvents(deps.store.db, { ...filters, accountId: caller.accountId, limit: filters.limit + 1 });
    const page = rows.slice(0, filters.limit);
    const last = page[page.length - 1];
    const events: AuditEventView[] = page.map((row) => ({
      seq: row.seq,
      at: row.at,
      actor: { type: row.actor_type, id: row.actor_id, name: row.actor_name },
      action: row.action,
      secret: row.secret_name,
      version: row.version,
      agent: row.agent_name,
      agentId: row.agent_id,
      outcome: row.outcome,
      detail: row.detail === null ? null : (JSON.parse(row.detail) as unknown),
    }));
    return { events, next: rows.length > filters.limit && last ? last.seq : null };
  }

  return { listAuditEvents };
}
