import { useState } from 'react';
import { ApiError, api, messageOf, seg } from '../api/client';
import type { Agent } from '../api/types';
import { navigateWithNotice, takeNotice } from '../app/router';
import { canManageSecrets, isAdmin, useSession } from '../app/session';
import { useLoad } from '../app/useLoad';
import { ConfirmByTyping } from '../ui/ConfirmByTyping';
import { Link } from '../ui/Link';
import { Notice } from '../ui/Notice';
import { Refusal } from '../ui/Refusal';
import { When } from '../ui/When';
import { AgentKeysSection } from './AgentKeysSection';
import { AgentSecretsSection } from './AgentSecretsSection';
import { RenameAgentForm } from './RenameAgentForm';
import { usePageTitle } from '../app/usePageTitle';

/** One agent: rename, keys, the secrets it can read, delete. */
export function AgentPage({ agentId }: { agentId: string }) {
  const { session } = useSession();
  const [notice, setNotice] = useState(takeNotice);
  const [agent, reload] = useLoad(() => api.get<Agent>(`/api/v1/agents/${seg(agentId)}`), agentId);
  const [deleting, setDeleting] = useState(false);
  usePageTitle(agent.state === 'loaded' ? agent.data.name : 'Agent', 'Agents');

  if (!isAdmin(session)) {
    return (
      <main id="main" className="page page-narrow">
        <Refusal title="Admins only">Only admins of this account can manage an agent's keys. Ask one of your admins.</Refusal>
      </main>
    );
  }
  if (agent.state === 'loading') return <main id="main" className="page page-narrow"><p className="page-status" role="status">Loading…</p></main>;
  if (agent.state === 'failed') {
    return (
      <main id="main" className="page page-narrow">
        <p className="breadcrumb">
          <Link to="/agents">Agents</Link>
        </p>
        <Notice tone="error">{agent.error instanceof ApiError && agent.error.status === 404 ? 'This account has no such agent. It may have been deleted.' : messageOf(agent.error)}</Notice>
      </main>
    );
  }
  const facts = agent.data;
  return (
    <main id="main" className="page page-narrow">
      <p className="breadcrumb">
        <Link to="/agents">Agents</Link> / {facts.name}
      </p>
      <h1>{facts.name}</h1>
      <p className="muted">
        Created <When at={facts.createdAt} /> by {facts.createdBy}
      </p>
      {notice ? <Notice tone="success">{notice}</Notice> : null}
      <RenameAgentForm
        agent={facts}
        onRenamed={(name) => {
          setNotice(`Renamed to "${name}". Its keys and access stay as they were.`);
          reload();
        }}
      />
      <AgentKeysSection agent={facts} />
      {canManageSecrets(session) ? <AgentSecretsSection agent={facts} /> : null}
      <section className="section card danger-zone" aria-labelledby="delete-agent-title">
        <h2 id="delete-agent-title">Delete agent</h2>
        {deleting ? (
          <ConfirmByTyping
            name={facts.name}
            action="Delete agent"
            consequence={`Deleting "${facts.name}" removes its keys and every grant: its functions can read nothing from their next call.`}
            onConfirm={async () => {
              await api.delete(`/api/v1/agents/${seg(facts.id)}`);
              navigateWithNotice('/agents', `Agent "${facts.name}" deleted.`);
            }}
            onCancel={() => setDeleting(false)}
          />
        ) : (
          <div className="section-row">
            <p className="muted">Removes the agent with its keys and access grants.</p>
            <button type="button" className="button button-danger" onClick={() => setDeleting(true)}>
              Delete…
            </button>
          </div>
        )}
      </section>
    </main>
  );
}
