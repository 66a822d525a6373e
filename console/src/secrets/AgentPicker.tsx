import type { Agent } from '../api/types';
import { Link } from '../ui/Link';

interface AgentPickerProps {
  agents: Agent[];
  chosen: Set<string>;
  onChange(chosen: Set<string>): void;
  error?: string | undefined;
}

/** Checkboxes for the agents that get access to a new secret. */
export function AgentPicker({ agents, chosen, onChange, error }: AgentPickerProps) {
  const toggle = (id: string, on: boolean) => {
    const next = new Set(chosen);
    if (on) next.add(id);
    else next.delete(id);
    onChange(next);
  };
  return (
    <fieldset className={`agent-picker${error ? ' field-invalid' : ''}`}>
      <legend>Agents that may read it</legend>
      <p className="field-hint">Grant only the agents whose functions call this secret. You can change this later on the secret's page.</p>
      {agents.length === 0 ? (
        <p className="muted">
          No agents yet. <Link to="/agents">Create one on the Agents tab</Link>, then grant it access on the secret's page.
        </p>
      ) : (
        <ul className="check-list">
          {agents.map((agent) => (
            <li key={agent.id}>
              <label className="check">
                <input type="checkbox" checked={chosen.has(agent.id)} onChange={(event) => toggle(agent.id, event.target.checked)} />
                {agent.name}
              </label>
            </li>
          ))}
        </ul>
      )}
      {error ? <p className="field-error">{error}</p> : null}
    </fieldset>
  );
}
