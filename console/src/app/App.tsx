import { useEffect, type ReactNode } from 'react';
import { AgentPage } from '../agents/AgentPage';
import { AgentsPage } from '../agents/AgentsPage';
import { TOKENS_PATH, TokensPage } from '../account/TokensPage';
import { AddSecretPage } from '../secrets/AddSecretPage';
import { ADD_SECRET_PATH, secretNameOfPath } from '../secrets/paths';
import { SecretPage } from '../secrets/SecretPage';
import { SecretsListPage } from '../secrets/SecretsListPage';
import { SETTINGS_PATH, SsoSettingsPage } from '../settings/SsoSettingsPage';
import { Refusal } from '../ui/Refusal';
import { UsersPage } from '../users/UsersPage';
import { ChangePasswordPage, CHANGE_PASSWORD_PATH } from './ChangePasswordPage';
import { navigate, usePath } from './router';
import { canManageSecrets, isAdmin, SessionProvider, useSession } from './session';
import { SignInPage } from './SignInPage';
import { TopBar } from './TopBar';
import { usePageTitle } from './usePageTitle';

export function App() {
  return (
    <SessionProvider signedOut={(onSignedIn, notice) => <SignInPage onSignedIn={onSignedIn} notice={notice} />}>
      <TopBar />
      <Pages />
    </SessionProvider>
  );
}

/** The page for the current path. */
function Pages() {
  const path = usePath();
  const { session } = useSession();
  const home = canManageSecrets(session) ? '/secrets' : '/agents';
  const mustChange = session.passwordChangeRequired;

  useEffect(() => {
    // SPEC S19: a one-time sign-in may only change the password; the console goes nowhere else.
    if (mustChange && path !== CHANGE_PASSWORD_PATH) navigate(CHANGE_PASSWORD_PATH, { replace: true });
    else if (path === '/' || path === '/login') navigate(home, { replace: true });
  }, [path, home, mustChange]);

  if (mustChange || path === CHANGE_PASSWORD_PATH) return <ChangePasswordPage />;

  if (path === '/secrets') return <SecretsGate><SecretsListPage /></SecretsGate>;
  if (path === ADD_SECRET_PATH) return <SecretsGate><AddSecretPage /></SecretsGate>;
  const secretName = secretNameOfPath(path);
  if (secretName !== undefined) return <SecretsGate><SecretPage key={secretName} name={secretName} /></SecretsGate>;
  if (path === '/agents') return <AgentsPage />;
  if (path.startsWith('/agents/')) return <AgentPage key={path} agentId={decodeURIComponent(path.slice('/agents/'.length))} />;
  if (path === '/users') return <UsersPage />;
  if (path === SETTINGS_PATH) return <SsoSettingsPage />;
  if (path === TOKENS_PATH) return <TokensPage />;
  if (path === '/' || path === '/login') return null;
  return <NotFound />;
}

function NotFound() {
  usePageTitle('Page not found');
  return (
    <main id="main" className="page page-narrow">
      <Refusal title="Page not found">There is no page at this address.</Refusal>
    </main>
  );
}

/** SPEC S8: pages of the Secrets tab refuse everyone but admins of an account with the vault enabled. */
function SecretsGate({ children }: { children: ReactNode }) {
  const { session } = useSession();
  if (canManageSecrets(session)) return <>{children}</>;
  return (
    <main id="main" className="page page-narrow">
      <Refusal title="Secrets are not available to you">
        {isAdmin(session) ? (
          <p>The Secrets vault is not enabled for the account “{session.account.name}”. Contact your platform operator to enable it.</p>
        ) : (
          <p>Only admins of the account “{session.account.name}” can see and manage secrets. Ask one of them to create the secrets your agents' functions need and grant those agents access.</p>
        )}
      </Refusal>
    </main>
  );
}
