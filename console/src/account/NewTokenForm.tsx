import { useState } from 'react';
import { api } from '../api/client';
import type { NewPersonalToken } from '../api/types';
import { Field } from '../ui/Field';
import { useSubmit } from '../ui/useSubmit';

/**
 * Names and creates a token. The name is judged by the API (trimmed, 1 to 100 characters, no control
 * characters), whose message is shown beside the field.
 */
export function NewTokenForm({ onCreated }: { onCreated(token: { name: string; token: string }): void }) {
  const [name, setName] = useState('');
  const { busy, error, submit } = useSubmit(async () => {
    const answer = await api.post<NewPersonalToken>('/api/v1/tokens', { name });
    setName('');
    onCreated({ name: answer.name, token: answer.token });
  });

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
