import { api, messageOf, seg } from '../api/client';
import type { AuditEvent } from '../api/types';
import { useLoad } from '../app/useLoad';
import { Notice } from '../ui/Notice';
import { When } from '../ui/When';
import { TableHead } from '../ui/TableHead';
import { Person } from '../ui/Person';

const ACTIONS: Record<string, string> = {
  'secret.read': 'Read by agent',
  'secret.reveal': 'Value revealed',
  'secret.create': 'Created',
  'secret.value_set': 'New value',
  'secret.description_set': 'Description changed',
  'secret.access_set': 'Agent access changed',
  'secret.allowed_hosts_set': 'Allowed hosts changed',
  'secret.delivery_set': 'Delivery changed',
  'secret.reveal_set': 'Reveal set',
  'secret.use': 'Used in a brokered request',
  'secret.restore': 'Version restored',
  'secret.promote': 'Promoted',
  'secret.override_remove': 'Environment override removed',
  'secret.delete': 'Deleted',
};

const OUTCOMES: Record<string, string> = { success: 'allowed', denied: 'refused', not_found: 'not found', failed: 'unreadable' };

/** SPEC S13: the last 20 audit events of this secret, newest first; on a phone, two lines per event. */
export function RecentActivitySection({ secretName, revision }: { secretName: string; revision: number }) {
  const [events, reload] = useLoad(
    () => api.get<{ events: AuditEvent[] }>(`/api/v1/audit?secret=${seg(secretName)}&limit=20`),
    `${secretName}#${revision}`,
  );
  return (
    <section className="section card" aria-labelledby="activity-title">
      <div className="section-head">
        <h2 id="activity-title">Recent activity</h2>
        <button type="button" className="button button-small button-quiet" onClick={reload}>
          Refresh
        </button>
      </div>
      {events.state === 'failed' ? <Notice tone="error">{messageOf(events.error)}</Notice> : null}
      {events.state === 'loaded' && events.data.events.length === 0 ? <p className="empty-line">No activity yet.</p> : null}
      {events.state === 'loaded' && events.data.events.length > 0 ? (
        <table className="table table-compact table-activity">
          <TableHead columns={['When', 'What', 'Who', 'Environment', 'Version', 'Outcome']} />
          <tbody>
            {events.data.events.map((event) => (
              <tr key={event.seq}>
                <td data-label="When">
                  <When at={event.at} />
                </td>
                <td data-label="What">{ACTIONS[event.action] ?? event.action}</td>
                <td data-label="Who">{event.agent !== null && (event.action === 'secret.read' || event.action === 'secret.use') ? `agent ${event.agent}` : <Person name={event.actor.name ?? event.actor.type} />}</td>
                <td data-label="Environment">{event.environment ?? <span className="muted">—</span>}</td>
                <td data-label="Version">{event.version === null ? <span className="muted">—</span> : `v${event.version}`}</td>
                <td data-label="Outcome">
                  <span className={`badge ${event.outcome === 'success' ? 'badge-success' : 'badge-danger'}`}>{OUTCOMES[event.outcome] ?? event.outcome}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
