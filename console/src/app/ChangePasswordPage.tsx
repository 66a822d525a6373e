import { useState, type FormEvent } from 'react';
import { ApiError, api, messageOf } from '../api/client';
import type { Session } from '../api/types';
import { Field } from '../ui/Field';
import { Notice } from '../ui/Notice';
import { navigateWithNotice } from './router';
import { canManageSecrets, useSession } from './session';
import { usePageTitle } from './usePageTitle';

export const CHANGE_PASSWORD_PATH = '/account/password';
const MIN_LENGTH = 12;

type Errors = { currentPassword?: string; newPassword?: string; confirm?: string; form?: string };

/**
 * SPEC S19: choose a new password. After a one-time sign-in this is the only page there is; otherwise
 * it is reached from "Change password" beside who is signed in. Your other sessions end.
 */
export function ChangePasswordPage() {
  const { session, replaceSession } = useSession();
  const forced = session.passwordChangeRequired;
  usePageTitle(forced ? 'Choose a new password' : 'Change password');
  const [currentPassword, setCurrentPassword] = useState('');
  const [newPassword, setNewPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    // The rules the server applies, told before asking it.
    if (newPassword.length < MIN_LENGTH) return setErrors({ newPassword: `Use at least ${MIN_LENGTH} characters.` });
    if (newPassword === currentPassword) return setErrors({ newPassword: 'Choose a password different from the current one.' });
    if (confirm !== newPassword) return setErrors({ confirm: 'The two new passwords differ.' });
    setBusy(true);
    setErrors({});
    try {
      const next = await api.post<Session>('/api/v1/auth/password', { currentPassword, newPassword });
      setCurrentPassword('');
      setNewPassword('');
      setConfirm('');
      replaceSession({ ...next, csrfToken: next.csrfToken ?? session.csrfToken });
      navigateWithNotice(canManageSecrets(next) ? '/secrets' : '/agents', 'Your password is changed. Your other sessions have ended.');
    } catch (failure) {
      const field = failure instanceof ApiError ? failure.field : undefined;
      const message = messageOf(failure);
      setErrors(field === 'currentPassword' ? { currentPassword: 'That is not your current password.' } : field === 'newPassword' ? { newPassword: message } : { form: message });
      setBusy(false);
    }
  };

  return (
    <main id="main" className="page page-narrow">
      <h1>{forced ? 'Choose your password' : 'Change password'}</h1>
      {forced ? (
        <Notice tone="warning" title="You signed in with a one-time password">
          Choose a password of your own to continue. The one-time password does not sign in again.
        </Notice>
      ) : (
        <p className="lead">Your other sessions end when you change it; your personal access tokens keep working.</p>
      )}
      <div className="section card">
        <form method="post" className="stack" onSubmit={submit}>
          <input type="text" name="username" autoComplete="username" value={session.user.email} readOnly hidden />
          <Field label={forced ? 'One-time password' : 'Current password'} error={errors.currentPassword}>
            <input className="input" type="password" autoComplete="current-password" required value={currentPassword} onChange={(event) => setCurrentPassword(event.target.value)} />
          </Field>
          <Field label="New password" hint={`At least ${MIN_LENGTH} characters.`} error={errors.newPassword}>
            <input className="input" type="password" autoComplete="new-password" required value={newPassword} onChange={(event) => setNewPassword(event.target.value)} />
          </Field>
          <Field label="New password again" error={errors.confirm}>
            <input className="input" type="password" autoComplete="new-password" required value={confirm} onChange={(event) => setConfirm(event.target.value)} />
          </Field>
          {errors.form ? <Notice tone="error">{errors.form}</Notice> : null}
          <div className="actions">
            <button type="submit" className="button button-primary" disabled={busy}>
              {busy ? 'Saving…' : 'Save password'}
            </button>
          </div>
        </form>
      </div>
    </main>
  );
}
