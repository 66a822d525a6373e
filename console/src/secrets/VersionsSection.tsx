import { useState } from 'react';
import { api, messageOf, seg } from '../api/client';
import type { SecretSummary, SecretVersion } from '../api/types';
import { useLoad } from '../app/useLoad';
import { Notice } from '../ui/Notice';
import { When } from '../ui/When';
import { InlineConfirm } from '../ui/InlineConfirm';
import { TableHead } from '../ui/TableHead';
import { Person } from '../ui/Person';

/** SPEC S4: every version with who/when; Restore makes a new version with an old value. */
export function VersionsSection({ secretName, revision, onRestored }: { secretName: string; revision: number; onRestored(from: number, to: number): void }) {
  const [versions] = useLoad(() => api.get<{ versions: SecretVersion[] }>(`/api/v1/secrets/${seg(secretName)}/versions`), `${secretName}#${revision}`);
  const [confirming, setConfirming] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const restore = async (version: number) => {
    setBusy(true);
    setError(null);
    try {
      const updated = await api.post<SecretSummary>(`/api/v1/secrets/${seg(secretName)}/versions/${version}/restore`);
      setConfirming(null);
      onRestored(version, updated.version);
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="section card" aria-labelledby="versions-title">
      <h2 id="versions-title">Versions</h2>
      {error ? <Notice tone="error">{error}</Notice> : null}
      {versions.state === 'failed' ? <Notice tone="error">{messageOf(versions.error)}</Notice> : null}
      {versions.state === 'loaded' ? (
        <table className="table table-cards table-compact">
          <TableHead columns={['Version', 'Set', 'By']} actions />
          <tbody>
            {versions.data.versions.map((version) => (
              <tr key={version.version}>
                <td data-label="Version">
                  v{version.version} {version.current ? <span className="badge badge-success">current</span> : null}
                  {version.restoredFrom !== null ? <span className="cell-note">restored from v{version.restoredFrom}</span> : null}
                </td>
                <td data-label="Set">
                  <When at={version.createdAt} />
                </td>
                <td data-label="By"><Person name={version.createdBy} /></td>
                <td className="cell-actions">
                  {version.current ? null : confirming === version.version ? (
                    <InlineConfirm
                      prompt={`Make v${version.version}'s value current?`}
                      confirmLabel={`Restore v${version.version}`}
                      disabled={busy}
                      onConfirm={() => void restore(version.version)}
                      onCancel={() => setConfirming(null)}
                    />
                  ) : (
                    <button type="button" className="button button-small" onClick={() => setConfirming(version.version)} aria-label={`Restore version ${version.version}`}>
                      Restore
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
