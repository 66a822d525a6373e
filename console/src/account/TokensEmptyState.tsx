import { canManageSecrets, useSession } from '../app/session';

/** What a personal access token is for, for someone who has none yet. */
export function TokensEmptyState() {
  const { session } = useSession();
  // Members cannot list secrets (403 admin_required): show them a command that works for them.
  const command = canManageSecrets(session) ? 'npx agent-secrets secrets list' : 'npx agent-secrets agents list';
  return (
    <section className="section card" aria-labelledby="no-tokens-title">
      <h2 id="no-tokens-title">No tokens yet</h2>
      <p className="muted">
        The console signs you in with your password; the command line and your scripts use a personal access token instead. Create one above, then
        in a terminal:
      </p>
      <div className="snippet snippet-wrap">
        <code>{`export AGENT_SECRETS_URL=${window.location.origin}\nexport AGENT_SECRETS_TOKEN=asp_…\n${command}`}</code>
      </div>
    </section>
  );
}
