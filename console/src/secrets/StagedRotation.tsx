import { useState } from 'react';
import { api, messageOf, seg } from '../api/client';
import type { AccessList, AuditEvent, SecretSummary } from '../api/types';
import { useLoad } from '../app/useLoad';
import { Notice } from '../ui/Notice';
import { When } from '../ui/When';
import { EditValueForm } from './EditValueForm';

type Target = 'live' | 'default';

const STEPS = ['Set the new value in sandbox', 'Test the sandbox agents', 'Promote', 'Remove the sandbox override', 'Revoke the old credential'] as const;

/**
 * SPEC S23, the product's rotation advice as a flow: set the new credential as the sandbox value, see
 * the sandbox agents read it, promote it (to live or to the default), remove the sandbox override, then
 * revoke the old credential where it was issued, once the live agents read the new version.
 */
export function StagedRotation({ secret, revision, onChanged }: { secret: SecretSummary; revision: number; onChanged(message: string): void }) {
  const sandbox = secret.overrides.find((o) => o.environment === 'sandbox');
  const [open, setOpen] = useState(false);
  const [step, setStep] = useState(0);
  const [target, setTarget] = useState<Target>('live');
  const [promoted, setPromoted] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [refresh, setRefresh] = useState(0);
  const reads = useLoad(
    () => api.get<{ events: AuditEvent[] }>(`/api/v1/audit?secret=${seg(secret.name)}&environment=sandbox&action=secret.read&limit=10`),
    `${secret.name}#${revision}#${refresh}#${step}`,
  )[0];
  const access = useLoad(() => api.get<AccessList>(`/api/v1/secrets/${seg(secret.name)}/access`), `${secret.name}#${revision}#${refresh}#${step}`)[0];

  const act = async (work: () => Promise<string>, next: number) => {
    setBusy(true);
    setError(null);
    try {
      onChanged(await work());
      setStep(next);
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  };

  if (!open) {
    return (
      <section className="section card" aria-labelledby="rotation-title">
        <div className="section-head">
          <h2 id="rotation-title">Staged rotation</h2>
          <button
            type="button"
            className="button button-small"
            onClick={() => {
              setOpen(true);
              setStep(sandbox ? 1 : 0);
            }}
          >
            Start staged rotation
          </button>
        </div>
        <p className="muted">Rotate a credential without surprising live callers: try the new value in sandbox first, then promote it.</p>
      </section>
    );
  }

  const sandboxReads = reads.state === 'loaded' ? reads.data.events : [];
  const readNew = sandbox !== undefined && sandboxReads.some((event) => event.outcome === 'success' && event.version === sandbox.version);
  const liveReads = access.state === 'loaded' ? access.data.agents.flatMap((agent) => agent.lastReads.filter((r) => r.environment === 'live').map((r) => ({ agent: agent.agentName, ...r }))) : [];
  const liveVersion = target === 'live' ? (secret.overrides.find((o) => o.environment === 'live')?.version ?? secret.version) : secret.version;

  return (
    <section className="section card" aria-labelledby="rotation-title">
      <div className="section-head">
        <h2 id="rotation-title">Staged rotation</h2>
        <button type="button" className="button button-small" onClick={() => setOpen(false)}>
          Close
        </button>
      </div>
      <ol className="steps">
        {STEPS.map((title, i) => (
          <li key={title} className={i === step ? 'step step-current' : i < step ? 'step step-done' : 'step'} aria-current={i === step ? 'step' : undefined}>
            {title}
          </li>
        ))}
      </ol>
      {error ? <Notice tone="error">{error}</Notice> : null}

      {step === 0 ? (
        <div className="stack">
          <p>Enter the new credential. Only agent keys of the sandbox environment read it; every other environment keeps what it reads now.</p>
          <EditValueForm
            secret={secret}
            environment="sandbox"
            onCancel={() => setOpen(false)}
            onSaved={(version) => {
              onChanged(`Version ${version} is now the sandbox value, from the next read of its agent keys.`);
              setStep(1);
            }}
          />
        </div>
      ) : null}

      {step === 1 ? (
        <div className="stack">
          <p>
            Run your agents in sandbox (with a sandbox key, e.g. <code>agent-secrets run</code>) and check that they read version {sandbox?.version ?? '—'}.
          </p>
          <h3 className="small">Recent sandbox reads</h3>
          {reads.state === 'failed' ? <Notice tone="error">{messageOf(reads.error)}</Notice> : null}
          {sandboxReads.length === 0 ? <p className="empty-line">No sandbox reads yet.</p> : null}
          <ul className="plain-list" aria-label="Recent sandbox reads">
            {sandboxReads.map((event) => (
              <li key={event.seq}>
                <When at={event.at} /> · {event.agent ?? 'unknown agent'} · version {event.version ?? '—'} · {event.outcome}
              </li>
            ))}
          </ul>
          {readNew ? <Notice tone="success">Sandbox agents read the new value (version {sandbox?.version}).</Notice> : null}
          <div className="actions">
            <button type="button" className="button" onClick={() => setRefresh((n) => n + 1)}>
              Refresh
            </button>
            <button type="button" className="button button-primary" disabled={!readNew} onClick={() => setStep(2)}>
              Continue to promote
            </button>
          </div>
        </div>
      ) : null}

      {step === 2 ? (
        <div className="stack">
          <fieldset className="fieldset">
            <legend>Promote the sandbox value to</legend>
            <label className="radio">
              <input type="radio" name="promote-target" checked={target === 'live'} onChange={() => setTarget('live')} /> live (its own value)
            </label>
            <label className="radio">
              <input type="radio" name="promote-target" checked={target === 'default'} onChange={() => setTarget('default')} /> the default (every environment without its own value)
            </label>
          </fieldset>
          <div className="actions">
            <button
              type="button"
              className="button button-primary"
              disabled={busy}
              onClick={() =>
                void act(async () => {
                  const done = await api.post<{ promotion: { version: number; fromVersion: number } }>(`/api/v1/secrets/${seg(secret.name)}/promote`, { from: 'sandbox', to: target });
                  setPromoted(done.promotion.version);
                  return `Promoted sandbox's version ${done.promotion.fromVersion} to ${target === 'live' ? 'live' : 'the default'} as version ${done.promotion.version}.`;
                }, 3)
              }
            >
              {`Promote sandbox → ${target}`}
            </button>
          </div>
        </div>
      ) : null}

      {step === 3 ? (
        <div className="stack">
          <p>Sandbox no longer needs its own value: removing it makes sandbox read {target === 'live' ? 'the default' : 'the new default'} again.</p>
          <div className="actions">
            <button
              type="button"
              className="button button-primary"
              disabled={busy}
              onClick={() =>
                void act(async () => {
                  await api.delete(`/api/v1/secrets/${seg(secret.name)}/environments/sandbox`);
                  return 'The sandbox override is removed: sandbox reads the default from its next read.';
                }, 4)
              }
            >
              Remove sandbox override
            </button>
            <button type="button" className="button" onClick={() => setStep(4)}>
              Keep it
            </button>
          </div>
        </div>
      ) : null}

      {step === 4 ? (
        <div className="stack">
          <Notice tone="warning">
            Last step, outside agent-secrets: revoke the old credential where it was issued (the provider's dashboard). Do it once the live agents below read
            version {promoted ?? liveVersion}: an agent still reading an older version would fail after the revocation.
          </Notice>
          <h3 className="small">Last reads in live</h3>
          {liveReads.length === 0 ? <p className="empty-line">No live reads recorded yet.</p> : null}
          <ul className="plain-list" aria-label="Last reads in live">
            {liveReads.map((read) => (
              <li key={read.agent}>
                {read.agent} · version {read.version} · <When at={read.at} /> {read.version === (promoted ?? liveVersion) ? '· reads the new value' : '· still on an older version'}
              </li>
            ))}
          </ul>
          <div className="actions">
            <button type="button" className="button" onClick={() => setRefresh((n) => n + 1)}>
              Refresh
            </button>
            <button type="button" className="button button-primary" onClick={() => setOpen(false)}>
              Done
            </button>
          </div>
        </div>
      ) : null}
    </section>
  );
}
