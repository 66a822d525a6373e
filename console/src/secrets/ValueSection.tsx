import { useState } from 'react';
import type { SecretSummary } from '../api/types';
import { EditKeysForm } from './EditKeysForm';
import { EditValueForm } from './EditValueForm';
import { MaskedValue } from './MaskedValue';

/**
 * The value: masked, revealable, copyable, and replaceable by a new version (rotation). A key/value
 * secret is edited key by key (the others keep their values), or replaced whole on request.
 */
export function ValueSection({ secret, onNewVersion }: { secret: SecretSummary; onNewVersion(version: number): void }) {
  const [editing, setEditing] = useState<'no' | 'keys' | 'whole'>('no');
  const saved = (version: number) => {
    setEditing('no');
    onNewVersion(version);
  };
  const cancel = () => setEditing('no');
  return (
    <section className="section card" aria-labelledby="value-title">
      <div className="section-head">
        <h2 id="value-title">Value</h2>
        {editing !== 'no' ? null : (
          <button type="button" className="button button-small" onClick={() => setEditing(secret.kind === 'kv' ? 'keys' : 'whole')}>
            Edit value
          </button>
        )}
      </div>
      {editing === 'keys' ? <EditKeysForm secret={secret} onCancel={cancel} onSaved={saved} onReplaceWhole={() => setEditing('whole')} /> : null}
      {editing === 'whole' ? <EditValueForm secret={secret} onCancel={cancel} onSaved={saved} /> : null}
      {editing === 'no' ? <MaskedValue secret={secret} /> : null}
    </section>
  );
}
