import { useEffect, useRef, useState } from 'react';
import { api, messageOf, seg } from '../api/client';
import type { AccessList } from '../api/types';
import { useLeaveGuard } from '../app/router';
import { useLoad } from '../app/useLoad';
import { Link } from '../ui/Link';
import { Notice } from '../ui/Notice';
import { When } from '../ui/When';

type SaveState = { kind: 'clean' } | { kind: 'saving' } | { kind: 'saved'; at: Date } | { kind: 'failed'; message: string };

const sameSet = (a: Set<string>, b: Set<string>) => a.size === b.size && [...a].every((item) => b.has(item));

/**
 * SPEC S6/S15: every agent of the account with a checkbox and when it last read this secret; one
 * Save replaces the whole list in one request. Unsaved changes are flagged and guarded.
 */
export function AgentAccessSection({ secretName, revision, onSaved }: { secretName: string; revision: number; onSaved(): void }) {
  const [access, reload] = useLoad(() => api.get<AccessList>(`/api/v1/secrets/${seg(secretName)}/access`), `${secretName}#${revision}`);
  const [saved, setSaved] = useState<Set<string>>(new Set());
  const [checked, setChecked] = useState<Set<string>>(new Set());
  const [state, setState] = useState<SaveState>({ kind: 'clean' });
  const dirty = !sameSet(saved, checked);
  const dirtyRef = useRef(dirty);
  dirtyRef.current = dirty;

  useEffect(() => {
    if (access.state !== 'loaded') return;
    const granted = new Set(access.data.agents.filter((agent) => agent.granted).map((agent) => agent.agentId));
    setSaved(granted);
    // A reload after another change on this page keeps boxes the admin has not saved yet.
    if (!dirtyRef.current) setChecked(granted);
  }, [access]);

  useLeaveGuard(dirty, 'You have unsaved changes to Agent access. Leave without saving them?');

  const toggle = (agentId: string, on: boolean) => {
    const next = new Set(checked);
    if (on) next.add(agentId);
    else next.delete(agentId);
    setChecked(next);
    if (state.kind !== 'saving') setState({ kind: 'clean' });
  };

  const save = async () => {
    setState({ kind: 'saving' });
    try {
      await api.put<AccessList>(`/api/v1/secrets/${seg(secretName)}/access`, { agents: [...checked] });
      setSaved(new Set(checked));
      setState({ kind: 'saved', at: new Date() });
      onSaved();
    } catch (failure) {
      setState({ kind: 'failed', message: messageOf(failure) });
    }
  };

  return (
    <section className="section card" aria-labelledby="access-title">
      <div className="section-head">
        <h2 id="access-title">Agent access</h2>
      </div>
      <p className="muted">
        Check each agent whose functions may read this secret; Save holds from each agent's next call. "Read since granted" counts from the
        agent's current grant: one never read is likely one to revoke.
      </p>
      {access.state === 'failed' ? (
        <Notice tone="error">
          {messageOf(access.error)}{' '}
          <button type="button" className="link-button" onClick={reload}>
            Try again
          </button>
        </Notice>
      ) : null}
      {access.state === 'loaded' && access.data.agents.length === 0 ? (
        <p className="empty-line">
          This account has no agents yet. <Link to="/agents">Create one on the Agents tab</Link>.
        </p>
      ) : null}
      {access.state === 'loaded' && access.data.agents.length > 0 ? (
        <>
          <ul className="access-list">
            {access.data.agents.map((agent) => {
              const changed = saved.has(agent.agentId) !== checked.has(agent.agentId);
              return (
                <li key={agent.agentId} className={changed ? 'access-row access-row-changed' : 'access-row'}>
                  <label className="check">
                    <input type="checkbox" checked={checked.has(agent.agentId)} onChange={(event) => toggle(agent.agentId, event.target.checked)} />
                    <span className="access-agent">{agent.agentName}</span>
                  </label>
                  <span className="access-read">
                    {agent.granted ? (
                      <span>
                        Read since granted: <When at={agent.lastReadAt} never="not yet" />
                      </span>
                    ) : (
                      <span className="muted">No access</span>
                    )}
                    {changed ? <span className="badge badge-warning">{checked.has(agent.agentId) ? 'will be granted' : 'will lose access'}</span> : null}
                  </span>
                </li>
              );
            })}
          </ul>
          <div className="actions save-bar">
            <button type="button" className="button button-primary" onClick={save} disabled={!dirty || state.kind === 'saving'}>
              {state.kind === 'saving' ? 'Saving…' : 'Save'}
            </button>
            {dirty ? (
              <button type="button" className="button" onClick={() => setChecked(new Set(saved))} disabled={state.kind === 'saving'}>
                Discard changes
              </button>
            ) : null}
            <span className="save-state" role="status">
              {state.kind === 'failed' ? (
                <span className="text-error">Not saved: {state.message}</span>
              ) : dirty ? (
                <span className="text-warning">Unsaved changes</span>
              ) : state.kind === 'saved' ? (
                <span className="text-success">Saved — in effect now</span>
              ) : null}
            </span>
          </div>
        </>
      ) : null}
    </section>
  );
}
