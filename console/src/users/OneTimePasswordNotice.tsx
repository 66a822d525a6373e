import { CopyButton } from '../ui/CopyButton';

/** A one-time password, shown this once (SPEC S19): it signs in once, within 72 hours, to choose a new one. */
export function OneTimePasswordNotice({ email, password, onDone }: { email: string; password: string; onDone(): void }) {
  return (
    <div className="one-time" role="status">
      <p className="notice-title">One-time password for {email} — shown only now</p>
      <p className="small">Give it to them privately. It signs in once, within 72 hours, and then they choose their own password.</p>
      <div className="value-row">
        <code className="value-text one-time-password">{password}</code>
        <CopyButton text={() => password} label="Copy password" />
      </div>
      <button type="button" className="button button-small" onClick={onDone}>
        Done
      </button>
    </div>
  );
}
