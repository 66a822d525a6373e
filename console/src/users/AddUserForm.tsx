import { useState, type FormEvent } from 'react';
import { ApiError, api, messageOf } from '../api/client';
import type { Role, User } from '../api/types';
import { Field } from '../ui/Field';
import { OneTimePasswordNotice } from './OneTimePasswordNotice';

/** Adds a person with a role; without a chosen password the server makes a one-time one, shown once. */
export function AddUserForm({ onAdded }: { onAdded(email: string): void }) {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('member');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<{ email?: string; password?: string; form?: string }>({});
  const [oneTime, setOneTime] = useState<{ email: string; password: string } | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    try {
      const user = await api.post<User & { password?: string }>('/api/v1/users', { email: email.trim(), role, ...(password ? { password } : {}) });
      setOneTime(user.password ? { email: user.email, password: user.password } : null);
      setEmail('');
      setPassword('');
      onAdded(user.email);
    } catch (failure) {
      const field = failure instanceof ApiError ? failure.field : undefined;
      const message = messageOf(failure);
      setErrors(field === 'email' ? { email: message } : field === 'password' ? { password: message } : { form: message });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="section card" aria-labelledby="add-user-title">
      <h2 id="add-user-title">Add user</h2>
      {oneTime ? <OneTimePasswordNotice email={oneTime.email} password={oneTime.password} onDone={() => setOneTime(null)} /> : null}
      <form method="post" className="user-form" onSubmit={submit}>
        <Field label="Email" error={errors.email}>
          <input className="input" type="email" value={email} onChange={(event) => setEmail(event.target.value)} autoComplete="off" required />
        </Field>
        <Field label="Role">
          <select className="input input-select" value={role} onChange={(event) => setRole(event.target.value as Role)}>
            <option value="member">member</option>
            <option value="admin">admin</option>
          </select>
        </Field>
        <Field label="Password (optional)" hint="Leave empty to get a one-time password." error={errors.password}>
          <input className="input" type="password" value={password} onChange={(event) => setPassword(event.target.value)} autoComplete="new-password" />
        </Field>
        <div className="actions user-form-submit">
          <button type="submit" className="button button-primary" disabled={busy}>
            Add user
          </button>
        </div>
        {errors.form ? <p className="field-error">{errors.form}</p> : null}
      </form>
    </section>
  );
}
