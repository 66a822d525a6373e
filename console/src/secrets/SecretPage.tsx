import { useState } from 'react';
import { ApiError, api, messageOf, seg } from '../api/client';
import type { SecretSummary } from '../api/types';
import { takeNotice } from '../app/router';
import { useLoad, useRefreshOnFocus } from '../app/useLoad';
import { Link } from '../ui/Link';
import { Notice } from '../ui/Notice';
import { When } from '../ui/When';
import { AgentAccessSection } from './AgentAccessSection';
import { BrokerSection } from './BrokerSection';
import { DeleteSecretSection } from './DeleteSecretSection';
import { DescriptionEditor } from './DescriptionEditor';
import { EnvironmentsSection } from './EnvironmentsSection';
import { RecentActivitySection } from './RecentActivitySection';
import { StagedRotation } from './StagedRotation';
import { KindOf } from './SecretsTable';
import { ValueSection } from './ValueSection';
import { VersionsSection } from './VersionsSection';
import { usePageTitle } from '../app/usePageTitle';
import { Person } from '../ui/Person';

/** One secret: its facts, value (masked), access list, versions, recent activity and deletion. */
export function SecretPage({ name }: { name: string }) {
  usePageTitle(name, 'Secrets');
  const [notice, setNotice] = useState(takeNotice);
  // Bumped after every change here, so versions and activity reload with it.
  const [revision, setRevision] = useState(0);
  const [secret, reloadSecret] = useLoad(() => api.get<SecretSummary>(`/api/v1/secrets/${seg(name)}`), `${name}#${revision}`);
  // Coming back to the page reloads every section, so "last read" and activity are current.
  useRefreshOnFocus(() => setRevision((n) => n + 1));
  const changed = (message: string) => {
    setNotice(message);
    setRevision((n) => n + 1);
  };

  if (secret.state === 'loading') return <main id="main" className="page page-narrow"><p className="page-status" role="status">Loading…</p></main>;
  if (secret.state === 'failed') {
    const missing = secret.error instanceof ApiError && secret.error.status === 404;
    return (
      <main id="main" className="page page-narrow">
        <p className="breadcrumb">
          <Link to="/secrets">Secrets</Link>
        </p>
        <h1>{missing ? 'No such secret' : 'This secret could not be loaded'}</h1>
        <Notice tone={missing ? 'info' : 'error'}>{missing ? `This account has no secret named "${name}". It may have been deleted.` : messageOf(secret.error)}</Notice>
        {missing ? null : <button type="button" className="button" onClick={reloadSecret}>Try again</button>}
      </main>
    );
  }
  const facts = secret.data;
  return (
    <main id="main" className="page page-narrow">
      <p className="breadcrumb">
        <Link to="/secrets">Secrets</Link> / {facts.name}
      </p>
      <div className="secret-head">
        <h1 className="secret-title">{facts.name}</h1>
        <KindOf secret={facts} />
      </div>
      <DescriptionEditor secret={facts} onSaved={() => changed('Description saved.')} />
      <dl className="facts">
        <div>
          <dt>Current version</dt>
          <dd>v{facts.version}</dd>
        </div>
        <div>
          <dt>Updated</dt>
          <dd>
            <When at={facts.updatedAt} />
            <span className="fact-by">by <Person name={facts.updatedBy} /></span>
          </dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>
            <When at={facts.createdAt} />
            <span className="fact-by">by <Person name={facts.createdBy} /></span>
          </dd>
        </div>
        <div>
          <dt>Last read by any agent</dt>
          <dd>
            <When at={facts.lastReadAt} />
          </dd>
        </div>
      </dl>
      {notice ? <Notice tone="success">{notice}</Notice> : null}
      <ValueSection
        secret={facts}
        onNewVersion={(version) =>
          changed(`Version ${version} is now the current value for every agent${facts.overrides.length > 0 ? ' in every environment without its own value' : ''}, from its next read.`)
        }
      />
      <EnvironmentsSection secret={facts} onChanged={changed} />
      <StagedRotation secret={facts} revision={revision} onChanged={changed} />
      <BrokerSection secret={facts} revision={revision} onSaved={changed} />
      <AgentAccessSection secretName={facts.name} revision={revision} onSaved={() => setRevision((n) => n + 1)} />
      <VersionsSection secretName={facts.name} revision={revision} onRestored={(from, to) => changed(`Version ${from} restored as version ${to}; it is current for every agent from its next read.`)} />
      <RecentActivitySection secretName={facts.name} revision={revision} />
      <DeleteSecretSection secretName={facts.name} />
    </main>
  );
}
