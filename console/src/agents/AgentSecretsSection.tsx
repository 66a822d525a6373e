import { api, messageOf, seg } from '../api/client';
import type { Agent, ReadableSecret } from '../api/types';
import { useLoad, useRefreshOnFocus } from '../app/useLoad';
import { CopyButton } from '../ui/CopyButton';
import { Link } from '../ui/Link';
import { Notice } from '../ui/Notice';
import { When } from '../ui/When';
import { secretPath } from '../secrets/paths';

/**
 * What a function writes to use the secret: get_secret, or for a broker-only secret (SPEC S27) a
 * brokered request to its first allowed host.
 */
export function snippetFor(secret: Pick<ReadableSecret, 'name' | 'kind' | 'keys' | 'delivery' | 'allowedHosts'>): string {
  if (secret.delivery !== 'broker-only') return `conv.utils.get_secret(${JSON.stringify(secret.name)})`;
  const host = (secret.allowedHosts[0] ?? 'api.example.com').replace(/^\*\./, 'api.');
  const placeholder = `{{secret:${secret.name}${secret.kind === 'kv' && secret.keys[0] ? `.${secret.keys[0]}` : ''}}}`;
  return `conv.http.fetch(${JSON.stringify(`https://${host}/`)}, { headers: { authorization: ${JSON.stringify(`Bearer ${placeholder}`)} } })`;
}

/**
 * The kind and keys an environment reads, said only where they differ from the line above (what a
 * live key reads): an override may be a single value over a key/value default, or other keys.
 */
function shapeNote(secret: Pick<ReadableSecret, 'kind' | 'keys'>, read: Pick<ReadableSecret, 'kind' | 'keys'>): string {
  if (read.kind === secret.kind && read.keys.join('\n') === secret.keys.join('\n')) return '';
  return read.kind === 'kv' ? `, key/value: ${read.keys.join(', ')}` : ', single value';
}

/** SPEC S11/S15/S22: the secrets this agent can read, what its keys read per environment, each with a ready-to-paste snippet. */
export function AgentSecretsSection({ agent }: { agent: Agent }) {
  const [secrets, reload] = useLoad(() => api.get<{ secrets: ReadableSecret[] }>(`/api/v1/agents/${seg(agent.id)}/secrets`), agent.id);
  useRefreshOnFocus(reload);
  return (
    <section className="section card" aria-labelledby="agent-secrets-title">
      <h2 id="agent-secrets-title">Secrets this agent can read</h2>
      {secrets.state === 'failed' ? <Notice tone="error">{messageOf(secrets.error)}</Notice> : null}
      {secrets.state === 'loaded' && secrets.data.secrets.length === 0 ? (
        <p className="empty-line">None yet. Grant access on a secret's page under Agent access.</p>
      ) : null}
      {secrets.state === 'loaded' && secrets.data.secrets.length > 0 ? (
        <ul className="snippet-list">
          {secrets.data.secrets.map((secret) => (
            <li key={secret.name} className="snippet-item">
              <div className="snippet-head">
                <Link to={secretPath(secret.name)} className="secret-name">
                  {secret.name}
                </Link>
                <span className="muted small">
                  {secret.kind === 'kv' ? `key/value: ${secret.keys.join(', ')}` : 'single value'}
                  {secret.delivery === 'broker-only' ? ' · broker-only' : ''} · read by this agent since granted: <When at={secret.lastReadAt} never="not yet" />
                </span>
              </div>
              <p className="muted small" aria-label={`What ${agent.name} reads of ${secret.name} per environment`}>
                {secret.environments.map((e) => `${e.environment}: v${e.version} (${e.source === 'override' ? 'its own value' : 'the default'}${shapeNote(secret, e)})`).join(' · ')}
              </p>
              <div className="snippet">
                {/* Scrolls sideways inside its box on a narrow screen (never breaks the name): focusable so a keyboard can scroll it. */}
                <code tabIndex={0}>{snippetFor(secret)}</code>
                <CopyButton text={() => snippetFor(secret)} label="Copy" ariaLabel={`Copy snippet for ${secret.name}`} />
              </div>
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}
