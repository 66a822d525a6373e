import { useState, type FormEvent } from 'react';
import { api, messageOf } from '../api/client';
import type { NewPersonalToken } from '../api/types';
import { Field } from '../ui/Field';

/**
 * Names and creates a token. The name is judged by the API (trimmed, 1 to 100 characters, no control
 * characters), whose message is shown beside the field.
 */
export function NewTokenForm({ onCreated }: { onCreated(token: { name: string; token: string }): void }) {
  const [name, setName] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const answer = await api.post<NewPersonalToken>('/api/v1/tokens', { name });
      setName('');
      onCreated({ name: answer.name, token: answer.token });
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="section card" aria-labelledby="new-token-title">
      <h2 id="new-token-title">Create a token</h2>
      <form method="post" className="inline-form" onSubmit={submit}>
        <Field label="Token name" hint="Where it is used, e.g. “laptop CLI” or “deploy script”." error={error}>
          <input className="input" value={name} onChange={(event) => setName(event.target.value)} autoComplete="off" maxLength={100} />
        </Field>
        <button type="submit" className="button button-primary" disabled={busy}>
          Create token
        </button>
      </form>
    </section>
  );
}
