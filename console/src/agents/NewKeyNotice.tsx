import { CopyButton } from '../ui/CopyButton';

/** A new agent key, shown this once: copy it now, it cannot be shown again. */
export function NewKeyNotice({ name, agentKey, onDone }: { name: string; agentKey: string; onDone(): void }) {
  return (
    <div className="one-time" role="status">
      <p className="notice-title">Copy key “{name}” now — it will not be shown again</p>
      <p className="small">Store it where the agent's functions run (for example the AGENT_SECRETS_AGENT_KEY setting). Anyone holding it can read this agent's secrets; revoke it if it leaks.</p>
      <div className="value-row">
        <code className="value-text one-time-key">{agentKey}</code>
        <CopyButton text={() => agentKey} label="Copy key" />
      </div>
      <button type="button" className="button button-small" onClick={onDone}>
        I have stored it
      </button>
    </div>
  );
}
