import { canManageSecrets, isAdmin, useSession } from './session';
import { SETTINGS_PATH } from '../settings/SsoSettingsPage';
import { usePath } from './router';
import { Link } from '../ui/Link';
import { CHANGE_PASSWORD_PATH } from './ChangePasswordPage';
import { TOKENS_PATH } from '../account/TokensPage';

/** Brand, the tabs this person may use (their home first), and who is signed in to which account. */
export function TopBar() {
  const { session, signOut } = useSession();
  const path = usePath();
  // Until a one-time password is replaced, nothing else works: no tabs to offer.
  const tabs = session.passwordChangeRequired
    ? []
    : [...(canManageSecrets(session) ? [{ to: '/secrets', label: 'Secrets' }] : []), { to: '/agents', label: 'Agents' }, { to: '/users', label: 'Users' }];
  return (
    <header className="top-bar">
      <div className="top-bar-inner">
        <a className="skip-link" href="#main">
          Skip to content
        </a>
        <p className="brand">
          <span className="brand-mark" aria-hidden="true" />
          <span className="brand-name">agent-secrets</span>
        </p>
        {tabs.length === 0 ? null : (
          <nav className="tabs" aria-label="Sections">
            {tabs.map((tab) => (
              <Link key={tab.to} to={tab.to} className="tab" current={path === tab.to || path.startsWith(`${tab.to}/`)}>
                {tab.label}
              </Link>
            ))}
          </nav>
        )}
        <div className="who">
          <p className="who-identity">
            <span className="who-email" title={session.user.email}>
              {session.user.email}
            </span>
            <span className="badge">{session.user.role}</span>
            <span className="who-account">
              account <strong>{session.account.name}</strong>
            </span>
          </p>
          <div className="who-actions">
            {session.passwordChangeRequired || !isAdmin(session) ? null : (
              <Link to={SETTINGS_PATH} className="button button-small button-quiet" current={path === SETTINGS_PATH}>
                Settings
              </Link>
            )}
            {session.passwordChangeRequired ? null : (
              <Link to={TOKENS_PATH} className="button button-small button-quiet" current={path === TOKENS_PATH}>
                Tokens
              </Link>
            )}
            {session.passwordChangeRequired ? null : (
              <Link to={CHANGE_PASSWORD_PATH} className="button button-small button-quiet" current={path === CHANGE_PASSWORD_PATH}>
                {/* Beside three other buttons it reads "Password" (narrower than 1400 px), and is still named "Change password". */}
                <span className="wide-only">Change password</span>
                <span className="narrow-only" aria-hidden="true">
                  Password
                </span>
              </Link>
            )}
            <button type="button" className="button button-small button-quiet" onClick={() => void signOut()}>
              Sign out
            </button>
          </div>
        </div>
      </div>
    </header>
  );
}
