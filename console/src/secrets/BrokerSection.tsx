import { useEffect, useState, type FormEvent } from 'react';
import { ApiError, api, messageOf, seg } from '../api/client';
import type { AuditEvent, Delivery, SecretSummary } from '../api/types';
import { useLoad } from '../app/useLoad';
import { Field } from '../ui/Field';
import { InlineConfirm } from '../ui/InlineConfirm';
import { Notice } from '../ui/Notice';
import { TableHead } from '../ui/TableHead';
import { When } from '../ui/When';

/**
 * SPEC S25–S27 on the secret's page: where brokered requests may send it (editable), how functions
 * use it (delivery), whether people may see it (reveal), and its recent brokered uses.
 */
export function BrokerSection({ secret, revision, onSaved }: { secret: SecretSummary; revision: number; onSaved(message: string): void }) {
  // A secret nobody has set up for brokering shows one line (the page stays short on a phone); one
  // that is set up opens with its settings.
  const setUp = secret.allowedHosts.length > 0 || secret.delivery === 'broker-only' || secret.reveal === 'never';
  const state = [
    secret.allowedHosts.length > 0 ? `${secret.allowedHosts.length} allowed host${secret.allowedHosts.length === 1 ? '' : 's'}` : 'no allowed hosts',
    secret.delivery === 'broker-only' ? 'broker-only' : 'readable by value',
    secret.reveal === 'never' ? 'never revealed' : 'revealable',
  ].join(' · ');
  return (
    <section className="section card" aria-labelledby="broker-title">
      <div className="section-head">
        <h2 id="broker-title">Use without holding</h2>
      </div>
      <details className="broker-details" open={setUp}>
        <summary>{state}</summary>
        <p className="muted small">
          Brokered requests (<code>conv.http.fetch</code>) use it as{' '}
          <code>{`{{secret:${secret.name}${secret.kind === 'kv' && secret.keys[0] ? `.${secret.keys[0]}` : ''}}}`}</code>, sent to its allowed hosts only; the function never holds the value.
        </p>
        <AllowedHostsEditor secret={secret} onSaved={onSaved} />
        <DeliveryEditor secret={secret} onSaved={onSaved} />
        <RevealSetting secret={secret} onSaved={onSaved} />
        <RecentUses secretName={secret.name} revision={revision} />
      </details>
    </section>
  );
}

const patch = (name: string, body: Record<string, unknown>) => api.patch(`/api/v1/secrets/${seg(name)}`, body);

function AllowedHostsEditor({ secret, onSaved }: { secret: SecretSummary; onSaved(message: string): void }) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const entries = () => text.split(/[\n,]/).map((line) => line.trim()).filter(Boolean);
  const save = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await patch(secret.name, { allowedHosts: entries() });
      setEditing(false);
      onSaved('Allowed hosts saved; they hold from the next brokered request.');
    } catch (failure) {
      // "allowedHosts.2" names the line that is wrong: say which one, in the person's own words.
      const index = failure instanceof ApiError ? /^allowedHosts\.(\d+)$/.exec(failure.field ?? '')?.[1] : undefined;
      const line = index === undefined ? undefined : entries()[Number(index)];
      setError(line === undefined ? messageOf(failure) : `"${line}": ${messageOf(failure).replace(/^allowedHosts\.\d+: /, '')}`);
    } finally {
      setBusy(false);
    }
  };

  if (!editing) {
    return (
      <div className="broker-setting">
        <h3 className="setting-title">Allowed hosts</h3>
        {secret.allowedHosts.length === 0 ? (
          <p className="muted">None: this secret cannot be used in brokered requests.</p>
        ) : (
          <ul className="host-list" aria-label="Allowed hosts">
            {secret.allowedHosts.map((host) => (
              <li key={host}>
                <code>{host}</code>
              </li>
            ))}
          </ul>
        )}
        <button type="button" className="link-button" onClick={() => { setText(secret.allowedHosts.join('\n')); setError(undefined); setEditing(true); }}>
          Edit allowed hosts
        </button>
      </div>
    );
  }
  return (
    <form method="post" className="broker-setting" onSubmit={save}>
      <Field label="Allowed hosts" hint={'One per line: api.stripe.com, *.example.com for its subdomains, host:port for another port. Empty: no brokered requests.'} error={error}>
        <textarea className="input" rows={4} value={text} onChange={(event) => setText(event.target.value)} autoComplete="off" spellCheck={false} autoFocus />
      </Field>
      <div className="actions">
        <button type="submit" className="button button-primary button-small" disabled={busy}>
          Save allowed hosts
        </button>
        <button type="button" className="button button-small" onClick={() => setEditing(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}

const DELIVERY_LABELS: Record<Delivery, string> = {
  value: 'Value: get_secret and brokered requests',
  'broker-only': 'Broker-only: brokered requests only, never get_secret',
};

function DeliveryEditor({ secret, onSaved }: { secret: SecretSummary; onSaved(message: string): void }) {
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  // The choice shows at once; it goes back if the service refuses it.
  const [chosen, setChosen] = useState<Delivery | null>(null);
  // Once the page has the saved setting (or another admin's), it is what shows.
  useEffect(() => setChosen(null), [secret.delivery]);
  const choose = async (delivery: Delivery) => {
    if (delivery === secret.delivery) return;
    setBusy(true);
    setChosen(delivery);
    setError(undefined);
    try {
      await patch(secret.name, { delivery });
      onSaved(delivery === 'broker-only' ? 'Broker-only from the next call: get_secret now answers BrokerOnly.' : 'Functions can read the value again from the next call.');
    } catch (failure) {
      setError(messageOf(failure));
      setChosen(null);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="broker-setting">
      <Field label="Delivery" error={error}>
        <select className="input" value={chosen ?? secret.delivery} disabled={busy} onChange={(event) => void choose(event.target.value as Delivery)}>
          {(['value', 'broker-only'] as const).map((delivery) => (
            <option key={delivery} value={delivery}>
              {DELIVERY_LABELS[delivery]}
            </option>
          ))}
        </select>
      </Field>
    </div>
  );
}

function RevealSetting({ secret, onSaved }: { secret: SecretSummary; onSaved(message: string): void }) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const never = async () => {
    setBusy(true);
    try {
      await patch(secret.name, { reveal: 'never' });
      setConfirming(false);
      onSaved('Nobody can reveal or copy this value any more. It can still be replaced.');
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="broker-setting">
      <h3 className="setting-title">Reveal</h3>
      {secret.reveal === 'never' ? (
        <p>Never: nobody can reveal or copy the value, in the console or the API. It can still be replaced.</p>
      ) : (
        <>
          <p>Admins may reveal and copy the value (each time audited).</p>
          {confirming ? (
            <InlineConfirm prompt="Never reveal this value again? This cannot be undone." confirmLabel="Never reveal" danger disabled={busy} onConfirm={() => void never()} onCancel={() => setConfirming(false)} />
          ) : (
            <button type="button" className="link-button" onClick={() => setConfirming(true)}>
              Never reveal again…
            </button>
          )}
        </>
      )}
      {error ? <p className="field-error" role="alert">{error}</p> : null}
    </div>
  );
}

interface UseDetail {
  host?: string;
  method?: string;
  path?: string;
  status?: number;
  reason?: string;
}

/** The last brokered uses (secret.use events): host, status, agent, outcome. */
function RecentUses({ secretName, revision }: { secretName: string; revision: number }) {
  const [uses] = useLoad(() => api.get<{ events: AuditEvent[] }>(`/api/v1/audit?secret=${seg(secretName)}&action=secret.use&limit=10`), `${secretName}#${revision}`);
  return (
    <div className="broker-setting">
      <h3 className="setting-title">Recent brokered uses</h3>
      {uses.state === 'failed' ? <Notice tone="error">{messageOf(uses.error)}</Notice> : null}
      {uses.state === 'loaded' && uses.data.events.length === 0 ? <p className="empty-line">No brokered requests yet.</p> : null}
      {uses.state === 'loaded' && uses.data.events.length > 0 ? (
        <table className="table table-cards table-compact">
          <TableHead columns={['When', 'Request', 'Agent', 'Status']} />
          <tbody>
            {uses.data.events.map((event) => {
              const detail = (event.detail ?? {}) as UseDetail;
              return (
                <tr key={event.seq}>
                  <td data-label="When">
                    <When at={event.at} />
                  </td>
                  <td data-label="Request">
                    <code>{`${detail.method ?? ''} ${detail.host ?? ''}${detail.path ?? ''}`}</code>
                  </td>
                  <td data-label="Agent">{event.agent ?? '—'}</td>
                  <td data-label="Status">
                    {event.outcome === 'success' ? (
                      <span className="badge badge-success">{detail.status ?? 'sent'}</span>
                    ) : (
                      <span className="badge badge-danger">{detail.reason ?? event.outcome}</span>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}
