import { useEffect, useState } from 'react';
import { api } from '../api/client';
import type { SecretPage } from '../api/types';
import { Field } from '../ui/Field';
import { nameProblem, suggestedName } from './rules';

interface NameFieldProps {
  name: string;
  onChange(name: string): void;
  /** A refusal from the server for this field (name taken, bad name). */
  serverError?: string | undefined;
  showProblems: boolean;
}

/** The secret's name, checked as it is typed: the rule, the suggested form, and whether it is taken. */
export function NameField({ name, onChange, serverError, showProblems }: NameFieldProps) {
  const [taken, setTaken] = useState<string | null>(null);
  const problem = nameProblem(name);

  useEffect(() => {
    setTaken(null);
    if (problem !== undefined) return undefined;
    const timer = window.setTimeout(() => {
      // Asked of the list's search, not GET /api/v1/secrets/{name}: a free name is the normal case
      // while typing, and should not be a 404 (an error in the browser's console) at every pause.
      // A hint only: the server still refuses a taken name on Add (409 name_taken).
      const wanted = name.toLowerCase();
      api
        .get<SecretPage>(`/api/v1/secrets?${new URLSearchParams({ search: name, limit: '500' })}`)
        .then((page) => setTaken(page.secrets.some((secret) => secret.name.toLowerCase() === wanted) ? name : null))
        .catch(() => setTaken(null));
    }, 300);
    return () => window.clearTimeout(timer);
  }, [name, problem]);

  const suggestion = suggestedName(name);
  const error =
    serverError ?? (taken === name ? `A secret named "${name}" already exists (names are unique ignoring case).` : name !== '' || showProblems ? problem : undefined);

  return (
    <Field
      label="Name"
      hint={
        <>
          The name functions use: <code>conv.utils.get_secret("{name || 'stripe_api_key'}")</code>. Letters, digits, "_", "-" and ".", up to 128
          characters; we suggest lowercase_with_underscores.
          {suggestion && serverError === undefined ? (
            <>
              {' '}
              <button type="button" className="link-button" onClick={() => onChange(suggestion)}>
                Use {suggestion}
              </button>
            </>
          ) : null}
        </>
      }
      error={error}
    >
      <input className="input input-mono" value={name} onChange={(event) => onChange(event.target.value)} autoComplete="off" spellCheck={false} maxLength={200} autoFocus />
    </Field>
  );
}
