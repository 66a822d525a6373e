import { useState, type FormEvent } from 'react';
import { ApiError, api, messageOf, seg } from '../api/client';
import type { Agent } from '../api/types';
import { navigateWithNotice, takeNotice } from '../app/router';
import { isAdmin, useSession } from '../app/session';
import { useLoad } from '../app/useLoad';
import { Field } from '../ui/Field';
import { Link } from '../ui/Link';
import { Notice } from '../ui/Notice';
import { When } from '../ui/When';
import { TableHead } from '../ui/TableHead';
import { usePageTitle } from '../app/usePageTitle';
import { Person } from '../ui/Person';

export const agentPath = (agent: Pick<Agent, 'id'>): string => `/agents/${seg(agent.id)}`;

/** The account's agents; admins create them here. */
export function AgentsPage() {
  const { session } = useSession();
  usePageTitle('Agents');
  const [notice] = useState(takeNotice);
  const [agents] = useLoad(() => api.get<{ agents: Agent[] }>('/api/v1/agents'), 'agents');
  return (
    <main id="main" className="page page-narrow">
      <h1>Agents</h1>
      <p className="lead">Each voice or chat agent's functions run with an agent key that identifies the agent to the vault.</p>
      {notice ? <Notice tone="success">{notice}</Notice> : null}
      {isAdmin(session) ? <CreateAgentForm /> : <Notice>Only admins can create agents and manage their keys.</Notice>}
      {agents.state === 'failed' ? <Notice tone="error">{messageOf(agents.error)}</Notice> : null}
      {agents.state === 'loaded' ? (
        agents.data.agents.length === 0 ? (
          <p className="empty-line">No agents yet.</p>
        ) : (
          <table className="table table-cards">
            <TableHead columns={['Agent', 'Created']} />
            <tbody>
              {agents.data.agents.map((agent) => (
                <tr key={agent.id}>
                  <td data-label="Agent">
                    {isAdmin(session) ? <Link to={agentPath(agent)}>{agent.name}</Link> : agent.name}
                  </td>
                  <td data-label="Created">
                    <When at={agent.createdAt} /> <span className="muted">by <Person name={agent.createdBy} /></span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      ) : null}
    </main>
  );
}

function CreateAgentForm() {
  const [name, setName] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (name.trim() === '') return setError('Give the agent a name.');
    setBusy(true);
    setError(undefined);
    try {
      const agent = await api.post<Agent>('/api/v1/agents', { name: name.trim() });
      navigateWithNotice(agentPath(agent), `Agent "${agent.name}" created. Create a key for its functions below.`);
    } catch (failure) {
      setBusy(false);
      setError(failure instanceof ApiError ? failure.message : messageOf(failure));
    }
  };

  return (
    <form method="post" className="inline-form card" onSubmit={submit}>
      <Field label="New agent name" hint='Letters, digits, spaces, "_", "-" and ".", up to 64 characters.' error={error}>
        <input className="input" value={name} onChange={(event) => setName(event.target.value)} autoComplete="off" maxLength={64} />
      </Field>
      <button type="submit" className="button button-primary" disabled={busy}>
        Create agent
      </button>
    </form>
  );
}
