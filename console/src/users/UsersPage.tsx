import { useState } from 'react';
import { api, messageOf } from '../api/client';
import type { User } from '../api/types';
import { isAdmin, useSession } from '../app/session';
import { useLoad } from '../app/useLoad';
import { Notice } from '../ui/Notice';
import { Refusal } from '../ui/Refusal';
import { AddUserForm } from './AddUserForm';
import { OneTimePasswordNotice } from './OneTimePasswordNotice';
import { UserRow } from './UserRow';
import { TableHead } from '../ui/TableHead';
import { usePageTitle } from '../app/usePageTitle';

/** SPEC S16, S19: the account's people — add with a role, change roles, reset passwords, remove (never yourself). */
export function UsersPage() {
  const { session } = useSession();
  usePageTitle('Users');
  const [users, reload] = useLoad(() => api.get<{ users: User[] }>('/api/v1/users'), 'users');
  const [notice, setNotice] = useState<string | null>(null);
  const [oneTime, setOneTime] = useState<{ email: string; password: string } | null>(null);

  if (!isAdmin(session)) {
    return (
      <main id="main" className="page page-narrow">
        <Refusal title="Users">Only admins of this account can add users and change roles. Ask one of your admins.</Refusal>
      </main>
    );
  }
  const changed = (message: string) => {
    setNotice(message);
    reload();
  };
  return (
    <main id="main" className="page page-narrow">
      <h1>Users</h1>
      <p className="lead">Admins manage the account's secrets, agents, agent keys and users. Members can see which agents the account has; they cannot see secrets or change anything here.</p>
      {notice ? <Notice tone="success">{notice}</Notice> : null}
      {oneTime ? <OneTimePasswordNotice email={oneTime.email} password={oneTime.password} onDone={() => setOneTime(null)} /> : null}
      <AddUserForm onAdded={(email) => changed(`${email} added.`)} />
      {users.state === 'failed' ? <Notice tone="error">{messageOf(users.error)}</Notice> : null}
      {users.state === 'loaded' ? (
        <table className="table table-cards">
          <TableHead columns={['Email', 'Role', 'Added']} actions />
          <tbody>
            {users.data.users.map((user) => (
              <UserRow key={user.id} user={user} isYou={user.id === session.user.id} onChanged={changed} onPasswordReset={(email, password) => setOneTime({ email, password })} />
            ))}
          </tbody>
        </table>
      ) : null}
    </main>
  );
}
