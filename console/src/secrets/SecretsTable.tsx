import type { SecretSummary } from '../api/types';
import { Link } from '../ui/Link';
import { When } from '../ui/When';
import { secretPath } from './paths';
import { TableHead } from '../ui/TableHead';
import { OverrideBadges } from './OverrideBadges';
import { Person } from '../ui/Person';

/** One row per secret: its facts, never its value. Becomes stacked cards on narrow screens. */
export function SecretsTable({ secrets }: { secrets: SecretSummary[] }) {
  return (
    <table className="table table-cards">
      <TableHead columns={['Name', 'Kind', 'Own values in', 'Agents with access', 'Last updated', 'Last read by any agent']} />
      <tbody>
        {secrets.map((secret) => (
          <tr key={secret.id}>
            <td data-label="Name">
              <Link to={secretPath(secret.name)} className="secret-name">
                {secret.name}
              </Link>
              {secret.description ? <p className="cell-note">{secret.description}</p> : null}
            </td>
            <td data-label="Kind">
              <KindOf secret={secret} />
              <UseOf secret={secret} />
            </td>
            <td data-label="Own values in">
              <OverrideBadges secret={secret} />
            </td>
            <td data-label="Agents with access">
              {secret.agentsWithAccess === 0 ? <span className="muted">none</span> : secret.agentsWithAccess}
            </td>
            <td data-label="Last updated">
              <When at={secret.updatedAt} />
              <p className="cell-note">by <Person name={secret.updatedBy} /></p>
            </td>
            <td data-label="Last read by any agent">
              <When at={secret.lastReadAt} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function KindOf({ secret }: { secret: Pick<SecretSummary, 'kind' | 'keys'> }) {
  if (secret.kind === 'single') return <span className="badge">single</span>;
  return (
    <span className="kind-kv">
      <span className="badge">key/value</span>
      {secret.keys.map((key) => (
        <code key={key} className="key-chip">
          {key}
        </code>
      ))}
    </span>
  );
}

/** SPEC S27 in lists: a broker-only or never-revealed secret says so beside its kind. */
export function UseOf({ secret }: { secret: Pick<SecretSummary, 'delivery' | 'reveal'> }) {
  if (secret.delivery !== 'broker-only' && secret.reveal !== 'never') return null;
  return (
    <span className="kind-kv">
      {secret.delivery === 'broker-only' ? <span className="badge badge-warning">broker-only</span> : null}
      {secret.reveal === 'never' ? <span className="badge">never revealed</span> : null}
    </span>
  );
}
