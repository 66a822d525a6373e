import { useState, type FormEvent } from 'react';
import { api, messageOf, seg } from '../api/client';
import { ENVIRONMENTS, type Agent, type AgentKey, type Environment } from '../api/types';
import { useLoad } from '../app/useLoad';
import { Field } from '../ui/Field';
import { Notice } from '../ui/Notice';
import { When } from '../ui/When';
import { NewKeyNotice } from './NewKeyNotice';
import { InlineConfirm } from '../ui/InlineConfirm';
import { TableHead } from '../ui/TableHead';
import { Person } from '../ui/Person';

/** SPEC S16: an agent's keys — created (shown once), listed by name, revoked at once. */
export function AgentKeysSection({ agent }: { agent: Agent }) {
  const [keys, reload] = useLoad(() => api.get<{ keys: AgentKey[] }>(`/api/v1/agents/${seg(agent.id)}/keys`), agent.id);
  const [keyName, setKeyName] = useState('');
  const [environment, setEnvironment] = useState<Environment>('live');
  const [created, setCreated] = useState<{ name: string; key: string } | null>(null);
  const [revoking, setRevoking] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = await api.post<AgentKey & { key: string }>(`/api/v1/agents/${seg(agent.id)}/keys`, keyName.trim() ? { name: keyName.trim(), environment } : { environment });
      setCreated({ name: answer.name, key: answer.key });
      setKeyName('');
      reload();
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  };

  const revoke = async (keyId: string) => {
    setError(null);
    try {
      await api.delete(`/api/v1/agents/${seg(agent.id)}/keys/${seg(keyId)}`);
      setRevoking(null);
      reload();
    } catch (failure) {
      setError(messageOf(failure));
    }
  };

  return (
    <section className="section card" aria-labelledby="keys-title">
      <h2 id="keys-title">Agent keys</h2>
      <p className="muted">Functions of this agent send a key to read the secrets it was granted. Keys are stored only as hashes.</p>
      {created ? <NewKeyNotice name={created.name} agentKey={created.key} onDone={() => setCreated(null)} /> : null}
      {error ? <Notice tone="error">{error}</Notice> : null}
      <form method="post" className="inline-form" onSubmit={create}>
        <Field label="Key name (optional)" hint="Where it is used, e.g. “production”.">
          <input className="input" value={keyName} onChange={(event) => setKeyName(event.target.value)} autoComplete="off" maxLength={100} />
        </Field>
        <Field label="Environment" hint="Where its functions run (conv.env); fixed for the key's life.">
          <select className="input" value={environment} onChange={(event) => setEnvironment(event.target.value as Environment)}>
            {ENVIRONMENTS.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </Field>
        <button type="submit" className="button button-primary" disabled={busy}>
          Create key
        </button>
      </form>
      {keys.state === 'failed' ? <Notice tone="error">{messageOf(keys.error)}</Notice> : null}
      {keys.state === 'loaded' && keys.data.keys.length === 0 ? <p className="empty-line">No keys yet: this agent's functions cannot read secrets until it has one.</p> : null}
      {keys.state === 'loaded' && keys.data.keys.length > 0 ? (
        <table className="table table-cards table-compact">
          <TableHead columns={['Key', 'Environment', 'Created', 'Status']} actions />
          <tbody>
            {keys.data.keys.map((key) => (
              <tr key={key.id}>
                <td data-label="Key">
                  {key.name} <code className="cell-note">{key.id}</code>
                </td>
                <td data-label="Environment">
                  <span className="badge">{key.environment}</span>
                </td>
                <td data-label="Created">
                  <When at={key.createdAt} /> <span className="muted">by <Person name={key.createdBy} /></span>
                </td>
                <td data-label="Status">
                  {key.revokedAt === null ? (
                    <span className="badge badge-success">active</span>
                  ) : (
                    <span className="badge">
                      revoked <When at={key.revokedAt} />
                    </span>
                  )}
                </td>
                <td className="cell-actions">
                  {key.revokedAt !== null ? null : revoking === key.id ? (
                    <InlineConfirm
                      prompt="Functions using it fail from their next call."
                      confirmLabel={`Revoke ${key.name}`}
                      danger
                      onConfirm={() => void revoke(key.id)}
                      onCancel={() => setRevoking(null)}
                    />
                  ) : (
                    <button type="button" className="button button-small" onClick={() => setRevoking(key.id)} aria-label={`Revoke key ${key.name}`}>
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

