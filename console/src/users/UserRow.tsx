import { useState } from 'react';
import { api, messageOf, seg } from '../api/client';
import type { Role, User } from '../api/types';
import { When } from '../ui/When';
import { InlineConfirm } from '../ui/InlineConfirm';
import { Person } from '../ui/Person';

/** One person: their role (changed with an explicit Save), a password reset and Remove, neither offered for yourself. */
export function UserRow({ user, isYou, onChanged, onPasswordReset }: { user: User; isYou: boolean; onChanged(message: string): void; onPasswordReset(email: string, password: string): void }) {
  const [role, setRole] = useState<Role>(user.role === 'admin' ? 'admin' : 'member');
  const [removing, setRemoving] = useState(false);
  const [resetting, setResetting] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const act = async (work: () => Promise<unknown>, message: string) => {
    setError(null);
    try {
      await work();
      onChanged(message);
    } catch (failure) {
      setError(messageOf(failure));
    }
  };

  return (
    <tr>
      <td data-label="Email">
        <Person name={user.email} /> {isYou ? <span className="badge">you</span> : null}
      </td>
      <td data-label="Role">
        <span className="role-edit">
          <label className="visually-hidden" htmlFor={`role-${user.id}`}>
            Role of {user.email}
          </label>
          <select id={`role-${user.id}`} className="input input-select" value={role} onChange={(event) => setRole(event.target.value as Role)} disabled={isYou}>
            <option value="admin">admin</option>
            <option value="member">member</option>
          </select>
          {role !== user.role ? (
            <button type="button" className="button button-small button-primary" onClick={() => void act(() => api.patch(`/api/v1/users/${seg(user.id)}`, { role }), `${user.email} is now ${role === 'admin' ? 'an admin' : 'a member'}.`)}>
              Save role
            </button>
          ) : null}
        </span>
        {error ? <p className="field-error">{error}</p> : null}
      </td>
      <td data-label="Added">
        <When at={user.createdAt} /> <span className="muted">by <Person name={user.createdBy} /></span>
      </td>
      <td className="cell-actions">
        {isYou ? null : resetting ? (
          <InlineConfirm
            prompt={`Reset the password of ${user.email}? Their sessions end.`}
            confirmLabel="Reset password"
            onConfirm={() =>
              void act(async () => {
                const reset = await api.post<{ email: string; password: string }>(`/api/v1/users/${seg(user.id)}/password-reset`);
                setResetting(false);
                onPasswordReset(reset.email, reset.password);
              }, `The password of ${user.email} is reset.`)
            }
            onCancel={() => setResetting(false)}
          />
        ) : (
          <button type="button" className="button button-small" onClick={() => setResetting(true)} aria-label={`Reset password of ${user.email}`}>
            Reset password…
          </button>
        )}{' '}
        {isYou ? (
          <span className="muted small">You cannot remove yourself</span>
        ) : removing ? (
          <InlineConfirm
            prompt={`Remove ${user.email}?`}
            confirmLabel="Remove"
            danger
            onConfirm={() => void act(() => api.delete(`/api/v1/users/${seg(user.id)}`), `${user.email} removed.`)}
            onCancel={() => setRemoving(false)}
          />
        ) : (
          <button type="button" className="button button-small" onClick={() => setRemoving(true)} aria-label={`Remove ${user.email}`}>
            Remove…
          </button>
        )}
      </td>
    </tr>
  );
}
