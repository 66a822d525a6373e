import { useState } from 'react';
import { api, messageOf, seg } from '../api/client';
import { ENVIRONMENTS, type Environment, type SecretSummary } from '../api/types';
import { InlineConfirm } from '../ui/InlineConfirm';
import { Notice } from '../ui/Notice';
import { EditValueForm } from './EditValueForm';
import { MaskedValue } from './MaskedValue';

/** One row of the section: an environment, the version its keys read, and whether it is its own value. */
type Row = { environment: Environment | null; version: number; own: boolean };

export function environmentRows(secret: SecretSummary): Row[] {
  const own = new Map(secret.overrides.map((o) => [o.environment, o.version]));
  return ENVIRONMENTS.map((environment) => ({ environment, version: own.get(environment) ?? secret.version, own: own.has(environment) }));
}

/**
 * SPEC S22: each environment beside the default value (the Value section just above it). For each: the
 * version its agent keys read now, whether it has its own value or uses the default, its own value masked
 * (revealed on an explicit, audited action; one that uses the default shows no second copy of the Value
 * above, which keeps the page short), Edit, and Remove override.
 */
export function EnvironmentsSection({ secret, onChanged }: { secret: SecretSummary; onChanged(message: string): void }) {
  const [editing, setEditing] = useState<Environment | null | undefined>(undefined);
  const [removing, setRemoving] = useState<Environment | null>(null);
  const [error, setError] = useState<string | null>(null);

  const remove = async (environment: Environment) => {
    setError(null);
    try {
      await api.delete(`/api/v1/secrets/${seg(secret.name)}/environments/${seg(environment)}`);
      setRemoving(null);
      onChanged(`${environment} uses the default value (version ${secret.version}) from its next read.`);
    } catch (failure) {
      setError(messageOf(failure));
    }
  };

  return (
    <section className="section card" aria-labelledby="environments-title">
      <div className="section-head">
        <h2 id="environments-title">Value per environment</h2>
      </div>
      <p className="muted">A key reads its environment's own value, else the default (the Value above, version {secret.version}).</p>
      {error ? <Notice tone="error">{error}</Notice> : null}
      <ul className="environment-list">
        {environmentRows(secret).map((row) => {
          const label = row.environment ?? 'Default';
          const rowId = `env-${row.environment ?? 'default'}`;
          return (
            <li key={rowId} className="environment-item" aria-labelledby={rowId}>
              <div className="environment-head">
                <h3 id={rowId} className="environment-name">
                  {label}
                </h3>
                <span className="muted small">
                  v{row.version} · {row.environment === null ? 'read where no environment has its own value' : row.own ? 'own value' : 'default'}
                </span>
                <span className="environment-actions">
                  {editing === row.environment ? null : (
                    <button type="button" className="button button-small" onClick={() => setEditing(row.environment)}>
                      {row.environment !== null && !row.own ? 'Set own value' : 'Edit'}
                      <span className="visually-hidden"> for {label}</span>
                    </button>
                  )}
                  {row.environment !== null && row.own ? (
                    removing === row.environment ? (
                      <InlineConfirm
                        prompt={`${row.environment} reads the default from its next call.`}
                        confirmLabel={`Remove ${row.environment} override`}
                        danger
                        onConfirm={() => void remove(row.environment as Environment)}
                        onCancel={() => setRemoving(null)}
                      />
                    ) : (
                      <button type="button" className="button button-small" onClick={() => setRemoving(row.environment)}>
                        Remove override<span className="visually-hidden"> of {label}</span>
                      </button>
                    )
                  ) : null}
                </span>
              </div>
              {editing === row.environment ? (
                <EditValueForm
                  secret={secret}
                  environment={row.environment ?? undefined}
                  onCancel={() => setEditing(undefined)}
                  onSaved={(version) => {
                    setEditing(undefined);
                    onChanged(
                      row.environment === null
                        ? `Version ${version} is now the default value, from every agent's next read where no environment has its own.`
                        : `Version ${version} is now the ${row.environment} value, from the next read of its agent keys.`,
                    );
                  }}
                />
              ) : row.own ? (
                <MaskedValue secret={secret} environment={row.environment ?? undefined} version={row.version} />
              ) : null}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
