import { useState, type FormEvent } from 'react';
import { Field } from './Field';

interface ConfirmByTypingProps {
  /** The name the person must type. */
  name: string;
  action: string;
  consequence: string;
  onConfirm(): Promise<void>;
  onCancel(): void;
}

/** A destructive action that asks for the thing's name to be typed first. */
export function ConfirmByTyping({ name, action, consequence, onConfirm, onCancel }: ConfirmByTypingProps) {
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const matches = typed === name;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!matches) return;
    setBusy(true);
    setError(null);
    try {
      await onConfirm();
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : 'It did not work.');
      setBusy(false);
    }
  };

  return (
    <form className="confirm-box" method="post" onSubmit={submit}>
      <p>{consequence}</p>
      <Field label={`Type "${name}" to confirm`} error={error ?? undefined}>
        <input className="input" value={typed} onChange={(event) => setTyped(event.target.value)} autoComplete="off" spellCheck={false} autoFocus />
      </Field>
      <div className="actions">
        <button type="submit" className="button button-danger" disabled={!matches || busy}>
          {busy ? 'Working…' : action}
        </button>
        <button type="button" className="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
