import { useState, type FormEvent } from 'react';
import { api, messageOf, seg } from '../api/client';
import type { SecretSummary } from '../api/types';
import { Field } from '../ui/Field';
import { MAX_DESCRIPTION_CHARS } from './rules';

/** The description, with an Edit that saves it without touching the value. */
export function DescriptionEditor({ secret, onSaved }: { secret: SecretSummary; onSaved(): void }) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(secret.description);
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const save = async (event: FormEvent) => {
    event.preventDefault();
    if (text.length > MAX_DESCRIPTION_CHARS) return setError(`At most ${MAX_DESCRIPTION_CHARS} characters.`);
    setBusy(true);
    try {
      await api.patch(`/api/v1/secrets/${seg(secret.name)}`, { description: text.trim() });
      setEditing(false);
      onSaved();
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  };

  if (!editing) {
    return (
      <div className="description">
        {secret.description ? <p>{secret.description}</p> : <p className="muted">No description.</p>}
        <button type="button" className="link-button" onClick={() => { setText(secret.description); setError(undefined); setEditing(true); }}>
          Edit description
        </button>
      </div>
    );
  }
  return (
    <form method="post" className="description-form" onSubmit={save}>
      <Field label="Description" error={error}>
        <input className="input" value={text} onChange={(event) => setText(event.target.value)} autoComplete="off" autoFocus />
      </Field>
      <div className="actions">
        <button type="submit" className="button button-primary button-small" disabled={busy}>
          Save description
        </button>
        <button type="button" className="button button-small" onClick={() => setEditing(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
