import { useState, type FormEvent } from 'react';
import { ApiError, api } from '../api/client';
import type { Session } from '../api/types';
import { Field } from '../ui/Field';
import { Notice } from '../ui/Notice';
import { SsoButton, takeSsoRefusal } from './SsoButton';
import { usePageTitle } from './usePageTitle';

/** Email and password; the session lives in an HttpOnly cookie the page never sees. */
export function SignInPage({ onSignedIn, notice }: { onSignedIn(session: Session): void; notice?: string | undefined }) {
  usePageTitle('Sign in');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(takeSsoRefusal);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const session = await api.post<Session>('/api/v1/auth/login', { email: email.trim(), password });
      setPassword('');
      onSignedIn(session);
    } catch (failure) {
      // A spent one-time password is named (field "password"); anything else stays one vague line.
      const spent = failure instanceof ApiError && failure.status === 401 && failure.field === 'password';
      setError(spent ? failure.message : failure instanceof ApiError && failure.status === 401 ? 'That email and password do not match an account.' : failure instanceof Error ? failure.message : 'Sign-in failed.');
      setBusy(false);
    }
  };

  return (
    <main className="sign-in" id="main">
      <div className="sign-in-card">
        <p className="brand brand-large">
          <span className="brand-mark" aria-hidden="true" />
          agent-secrets
        </p>
        <h1>Sign in</h1>
        <p className="muted">Keep the credentials your agents' functions use out of code, logs and history.</p>
        {notice ? <Notice>{notice}</Notice> : null}
        {error ? <Notice tone="error">{error}</Notice> : null}
        <form method="post" onSubmit={submit} className="stack">
          <Field label="Email">
            <input className="input" type="email" autoComplete="username" required value={email} onChange={(event) => setEmail(event.target.value)} autoFocus />
          </Field>
          <Field label="Password">
            <input className="input" type="password" autoComplete="current-password" required value={password} onChange={(event) => setPassword(event.target.value)} />
          </Field>
          <button type="submit" className="button button-primary button-wide" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
        <SsoButton email={email} />
      </div>
    </main>
  );
}
