import { useState } from 'react';
import { api, seg } from '../api/client';
import { navigateWithNotice } from '../app/router';
import { ConfirmByTyping } from '../ui/ConfirmByTyping';

/** SPEC S5: deleting asks for the name to be typed; reads fail from that moment. */
export function DeleteSecretSection({ secretName }: { secretName: string }) {
  const [asking, setAsking] = useState(false);
  return (
    <section className="section card danger-zone" aria-labelledby="delete-title">
      <h2 id="delete-title">Delete secret</h2>
      {asking ? (
        <ConfirmByTyping
          name={secretName}
          action="Delete secret"
          consequence={`From the moment you delete it, every agent function that reads "${secretName}" fails with SecretNotFound. Its audit trail stays.`}
          onConfirm={async () => {
            await api.delete(`/api/v1/secrets/${seg(secretName)}`);
            navigateWithNotice('/secrets', `Secret "${secretName}" deleted.`);
          }}
          onCancel={() => setAsking(false)}
        />
      ) : (
        <div className="section-row">
          <p className="muted">Agents' reads fail with SecretNotFound from the next call. This cannot be undone.</p>
          <button type="button" className="button button-danger" onClick={() => setAsking(true)}>
            Delete…
          </button>
        </div>
      )}
    </section>
  );
}
