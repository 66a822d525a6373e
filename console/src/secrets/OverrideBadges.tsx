import type { SecretSummary } from '../api/types';

/** SPEC S22: which environments of a secret have a value of their own ("none": all read the default). */
export function OverrideBadges({ secret }: { secret: Pick<SecretSummary, 'overrides'> }) {
  if (secret.overrides.length === 0) return <span className="muted">none</span>;
  return (
    <span className="kind-kv">
      {secret.overrides.map((o) => (
        <span key={o.environment} className="badge" title={`${o.environment} reads its own value, version ${o.version}`}>
          {o.environment}
        </span>
      ))}
    </span>
  );
}
