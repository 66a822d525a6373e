import { useState } from 'react';
import { api, messageOf, seg } from '../api/client';
import type { PersonalToken } from '../api/types';
import { InlineConfirm } from '../ui/InlineConfirm';
import { When } from '../ui/When';

/** One token: its name, when it was made, whether it still works, and Revoke (asked again in place). */
export function TokenRow({ token, onRevoked }: { token: PersonalToken; onRevoked(): void }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const revoke = async () => {
    setBusy(true);
    setError(null);
    try {
      await api.delete(`/api/v1/tokens/${seg(token.id)}`);
      setConfirming(false);
      onRevoked();
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <tr>
      <td data-label="Name">{token.name}</td>
      <td data-label="Created">
        <When at={token.createdAt} />
      </td>
      <td data-label="Status">
        {token.revokedAt === null ? (
          <span className="badge badge-success">active</span>
        ) : (
          <span className="badge">
            revoked <When at={token.revokedAt} />
          </span>
        )}
      </td>
      <td className="cell-actions">
        {token.revokedAt !== null ? null : confirming ? (
          <InlineConfirm
            prompt="Scripts and the CLI using it get 401 from their next call."
            confirmLabel={`Revoke ${token.name}`}
            danger
            disabled={busy}
            onConfirm={() => void revoke()}
            onCancel={() => setConfirming(false)}
          />
        ) : (
          <button type="button" className="button button-small" onClick={() => setConfirming(true)} aria-label={`Revoke token ${token.name}`}>
            Revoke
          </button>
        )}
        {error ? <p className="field-error">{error}</p> : null}
      </td>
    </tr>
  );
}
