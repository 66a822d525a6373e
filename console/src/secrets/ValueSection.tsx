import { useState } from 'react';
import type { SecretSummary } from '../api/types';
import { EditValueForm } from './EditValueForm';
import { MaskedValue } from './MaskedValue';

/** The value: masked, revealable, copyable, and replaceable by a new version (rotation). */
export function ValueSection({ secret, onNewVersion }: { secret: SecretSummary; onNewVersion(version: number): void }) {
  const [editing, setEditing] = useState(false);
  return (
    <section className="section card" aria-labelledby="value-title">
      <div className="section-head">
        <h2 id="value-title">Value</h2>
        {editing ? null : (
          <button type="button" className="button button-small" onClick={() => setEditing(true)}>
            Edit value
          </button>
        )}
      </div>
      {editing ? (
        <EditValueForm
          secret={secret}
          onCancel={() => setEditing(false)}
          onSaved={(version) => {
            setEditing(false);
            onNewVersion(version);
          }}
        />
      ) : secret.reveal === 'never' ? (
        // SPEC S27: no reveal, no copy; replacing it stays possible.
        <p className="value-never">Set, never shown. Nobody can reveal or copy this value; it can still be replaced.</p>
      ) : (
        <MaskedValue secret={secret} />
      )}
    </section>
  );
}
