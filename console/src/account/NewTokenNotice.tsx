import { CopyButton } from '../ui/CopyButton';

/** A new personal access token, shown this once: copy it now, it cannot be shown again. */
export function NewTokenNotice({ name, token, onDone }: { name: string; token: string; onDone(): void }) {
  const exportLines = `export AGENT_SECRETS_URL=${window.location.origin}\nexport AGENT_SECRETS_TOKEN=${token}`;
  return (
    <div className="one-time" role="status">
      <p className="notice-title">Copy token “{name}” now — it will not be shown again</p>
      <p className="small">Anyone holding it can act as you in this account; keep it out of code and chats, and revoke it here if it leaks.</p>
      <div className="value-row">
        <code className="value-text one-time-token">{token}</code>
        <CopyButton text={() => token} label="Copy token" />
      </div>
      <p className="small">To use it with the command line, in a terminal:</p>
      <div className="snippet snippet-wrap">
        <code>{exportLines}</code>
        <CopyButton text={() => exportLines} label="Copy" ariaLabel="Copy the export commands" />
      </div>
      <button type="button" className="button button-small" onClick={onDone}>
        I have stored it
      </button>
    </div>
  );
}
