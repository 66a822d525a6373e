import { useState } from 'react';
import { SSO_REFUSALS, type SsoRefusal } from '../../../src/domain/sso.js';
import { Field } from '../ui/Field';

/**
 * Why the last SSO sign-in did not happen, from the ?sso_error= the service sent the browser back
 * with; taken off the address at once, so a reload does not show it again. Only known codes are shown:
 * the words come from the console, never from the address.
 */
export function takeSsoRefusal(): string | null {
  const params = new URLSearchParams(window.location.search);
  const code = params.get('sso_error');
  if (code === null) return null;
  params.delete('sso_error');
  const rest = params.toString();
  window.history.replaceState(null, '', `${window.location.pathname}${rest ? `?${rest}` : ''}`);
  return Object.hasOwn(SSO_REFUSALS, code) ? SSO_REFUSALS[code as SsoRefusal] : 'Single sign-on did not complete. Try again.';
}

/**
 * SPEC S29: "Sign in with SSO". The account is found from the email typed above (its user, else its
 * domain) or, for people whose domain is not set up, from the account's name. The browser leaves for
 * the identity provider and comes back signed in, to the page it was on.
 */
export function SsoButton({ email }: { email: string }) {
  const [byAccount, setByAccount] = useState(false);
  const [account, setAccount] = useState('');
  const [error, setError] = useState<string | null>(null);

  const start = () => {
    const params = new URLSearchParams();
    if (byAccount) {
      if (account.trim() === '') return setError('Type the account name first.');
      params.set('account', account.trim());
    } else {
      if (email.trim() === '') return setError('Type your email above first, or sign in to an account by its name.');
      params.set('email', email.trim());
    }
    const returnTo = window.location.pathname;
    if (returnTo !== '/' && returnTo !== '/login') params.set('returnTo', returnTo);
    window.location.assign(`/api/v1/auth/sso/start?${params.toString()}`);
  };

  return (
    <div className="sso">
      <p className="sso-or" aria-hidden="true">
        or
      </p>
      {byAccount ? (
        <Field label="Account name" error={error ?? undefined}>
          <input className="input" value={account} autoComplete="organization" onChange={(event) => setAccount(event.target.value)} />
        </Field>
      ) : error ? (
        <p className="field-error" role="alert">
          {error}
        </p>
      ) : null}
      <button type="button" className="button button-wide" onClick={start}>
        Sign in with SSO
      </button>
      <button
        type="button"
        className="button button-small button-quiet"
        onClick={() => {
          setByAccount(!byAccount);
          setError(null);
        }}
      >
        {byAccount ? 'Use my email instead' : 'Use an account name instead'}
      </button>
    </div>
  );
}
