import { useEffect, useState, type FormEvent } from 'react';
import { DOMAIN_RULE } from '../../../src/domain/sso.js';
import { ApiError, api, messageOf } from '../api/client';
import type { Role, SsoSettings } from '../api/types';
import { isAdmin, useSession } from '../app/session';
import { usePageTitle } from '../app/usePageTitle';
import { useLoad } from '../app/useLoad';
import { CopyButton } from '../ui/CopyButton';
import { Field } from '../ui/Field';
import { InlineConfirm } from '../ui/InlineConfirm';
import { Notice } from '../ui/Notice';
import { Refusal } from '../ui/Refusal';

export const SETTINGS_PATH = '/settings';

type FieldName = 'issuer' | 'clientId' | 'clientSecret' | 'allowedDomains' | 'jitRole' | 'passwordSignIn' | 'form';
const FIELDS: readonly FieldName[] = ['issuer', 'clientId', 'clientSecret', 'allowedDomains', 'jitRole', 'passwordSignIn'];

/** "example.com, Example.org" → ["example.com", "example.org"]: commas, spaces or new lines between. */
const domainsOf = (text: string): string[] => text.split(/[\s,]+/).map((domain) => domain.trim().toLowerCase()).filter(Boolean);

/** SPEC S29: an account's single sign-on, for its admins. The client secret is write-only. */
export function SsoSettingsPage() {
  usePageTitle('Settings');
  const { session } = useSession();
  const [settings, reload] = useLoad(() => api.get<SsoSettings>('/api/v1/settings/sso'), 'sso-settings');
  if (!isAdmin(session)) {
    return (
      <main id="main" className="page page-narrow">
        <Refusal title="Settings">Only admins of this account can change how its people sign in. Ask one of your admins.</Refusal>
      </main>
    );
  }
  return (
    <main id="main" className="page page-narrow">
      <h1>Settings</h1>
      <p className="lead">How the people of “{session.account.name}” sign in to the console.</p>
      {settings.state === 'failed' ? <Notice tone="error">{messageOf(settings.error)}</Notice> : null}
      {settings.state === 'loading' ? <p className="page-status" role="status">Loading…</p> : null}
      {settings.state === 'loaded' ? <SsoForm settings={settings.data} onSaved={reload} /> : null}
    </main>
  );
}

function SsoForm({ settings, onSaved }: { settings: SsoSettings; onSaved(): void }) {
  const [issuer, setIssuer] = useState(settings.issuer ?? '');
  const [clientId, setClientId] = useState(settings.clientId ?? '');
  const [clientSecret, setClientSecret] = useState('');
  const [domains, setDomains] = useState(settings.allowedDomains.join(', '));
  const [jitRole, setJitRole] = useState<Role | ''>(settings.jitRole ?? '');
  const [passwordSignIn, setPasswordSignIn] = useState(settings.passwordSignIn);
  const [errors, setErrors] = useState<Partial<Record<FieldName, string>>>({});
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [confirmRemove, setConfirmRemove] = useState(false);
  useEffect(() => setPasswordSignIn(settings.passwordSignIn), [settings.passwordSignIn]);

  const failed = (failure: unknown) => {
    const field = failure instanceof ApiError ? failure.field?.split('.')[0] : undefined;
    setErrors({ [FIELDS.includes(field as FieldName) ? (field as FieldName) : 'form']: messageOf(failure) });
  };

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    setNotice(null);
    try {
      await api.put<SsoSettings>('/api/v1/settings/sso', {
        issuer: issuer.trim(),
        clientId: clientId.trim(),
        ...(clientSecret === '' ? {} : { clientSecret }),
        allowedDomains: domainsOf(domains),
        jitRole: jitRole === '' ? null : jitRole,
        passwordSignIn,
      });
      setClientSecret('');
      setNotice('Single sign-on settings saved.');
      onSaved();
    } catch (failure) {
      failed(failure);
    } finally {
      setBusy(false);
    }
  };

  const remove = async () => {
    setBusy(true);
    try {
      await api.delete('/api/v1/settings/sso');
      setConfirmRemove(false);
      setNotice('Single sign-on removed: people sign in with their passwords.');
      onSaved();
    } catch (failure) {
      failed(failure);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      {notice ? <Notice tone="success">{notice}</Notice> : null}
      <section className="section card" aria-labelledby="sso-title">
        <h2 id="sso-title">Single sign-on (OpenID Connect)</h2>
        <p className="muted">
          Register this redirect URI at your identity provider: <code>{settings.redirectUri}</code>{' '}
          <CopyButton text={() => settings.redirectUri} label="Copy" ariaLabel="Copy the redirect URI" />
        </p>
        <form method="post" className="stack" onSubmit={save}>
          <Field label="Issuer URL" hint="Its /.well-known/openid-configuration is read when you save." error={errors.issuer}>
            <input className="input" type="url" value={issuer} onChange={(event) => setIssuer(event.target.value)} placeholder="https://login.example.com" required autoComplete="off" />
          </Field>
          <Field label="Client ID" error={errors.clientId}>
            <input className="input" value={clientId} onChange={(event) => setClientId(event.target.value)} required autoComplete="off" />
          </Field>
          <Field
            label="Client secret"
            hint={settings.clientSecretSet ? 'A secret is set and is never shown again. Leave empty to keep it, or type a new one to replace it.' : 'Stored sealed, like a secret value; never shown again.'}
            error={errors.clientSecret}
          >
            <input className="input" type="password" value={clientSecret} onChange={(event) => setClientSecret(event.target.value)} autoComplete="new-password" required={!settings.clientSecretSet} />
          </Field>
          <Field label="Allowed email domains" hint={`Separated by commas; each ${DOMAIN_RULE}. A domain can belong to one account only.`} error={errors.allowedDomains}>
            <input className="input" value={domains} onChange={(event) => setDomains(event.target.value)} placeholder="example.com" required autoComplete="off" />
          </Field>
          <Field label="People signing in for the first time" error={errors.jitRole}>
            <select className="input input-select" value={jitRole} onChange={(event) => setJitRole(event.target.value as Role | '')}>
              <option value="">are refused: only existing users may sign in</option>
              <option value="member">become members</option>
              <option value="admin">become admins</option>
            </select>
          </Field>
          <div className="field">
            <label className="checkbox-row">
              <input type="checkbox" checked={passwordSignIn} onChange={(event) => setPasswordSignIn(event.target.checked)} aria-describedby="password-sign-in-hint" />
              <span>Allow password sign-in for this account</span>
            </label>
            <p className="field-hint" id="password-sign-in-hint">
              {settings.signedInWithSso
                ? 'You signed in with SSO through these settings, so you may turn passwords off. Sessions opened with a password then end.'
                : 'To turn passwords off, first sign in with “Sign in with SSO” through these settings. An operator can always give a one-time password (agent-secrets users reset-password).'}
            </p>
            {errors.passwordSignIn ? <p className="field-error">{errors.passwordSignIn}</p> : null}
          </div>
          {errors.form ? <p className="field-error" role="alert">{errors.form}</p> : null}
          <div className="actions">
            <button type="submit" className="button button-primary" disabled={busy}>
              {busy ? 'Saving…' : 'Save'}
            </button>
          </div>
        </form>
      </section>
      {settings.configured ? (
        <section className="section card section-row" aria-labelledby="sso-remove-title">
          <div>
            <h2 id="sso-remove-title">Remove single sign-on</h2>
            <p className="muted">People then sign in with their passwords only.</p>
          </div>
          {confirmRemove ? (
            <InlineConfirm prompt="Remove single sign-on?" confirmLabel="Remove" danger disabled={busy} onConfirm={() => void remove()} onCancel={() => setConfirmRemove(false)} />
          ) : (
            <button type="button" className="button button-danger" onClick={() => setConfirmRemove(true)}>
              Remove
            </button>
          )}
        </section>
      ) : null}
    </>
  );
}
