import { useEffect, useState } from 'react';
import { api, messageOf } from '../api/client';
import type { SecretPage } from '../api/types';
import { takeNotice } from '../app/router';
import { useLoad, useRefreshOnFocus } from '../app/useLoad';
import { Link } from '../ui/Link';
import { Notice } from '../ui/Notice';
import { ADD_SECRET_PATH } from './paths';
import { SecretsEmptyState } from './SecretsEmptyState';
import { SecretsTable } from './SecretsTable';
import { usePageTitle } from '../app/usePageTitle';

const PAGE_SIZE = 50;

/**
 * SPEC S2: the account's secrets with search by name and keyset paging, so a page costs the same
 * with 10 or 10,000 secrets. Earlier pages are remembered by their cursors for Previous.
 */
export function SecretsListPage() {
  usePageTitle('Secrets');
  const [notice] = useState(takeNotice);
  const [typed, setTyped] = useState('');
  const [search, setSearch] = useState('');
  const [cursors, setCursors] = useState<string[]>([]);

  // A new search starts again from the first page; typing that leaves the search unchanged does not.
  useEffect(() => {
    const wanted = typed.trim();
    if (wanted === search) return undefined;
    const timer = window.setTimeout(() => {
      setSearch(wanted);
      setCursors([]);
    }, 200);
    return () => window.clearTimeout(timer);
  }, [typed, search]);

  const after = cursors[cursors.length - 1];
  const query = new URLSearchParams({ limit: String(PAGE_SIZE), ...(search ? { search } : {}), ...(after ? { after } : {}) }).toString();
  const [page, reloadPage] = useLoad(() => api.get<SecretPage>(`/api/v1/secrets?${query}`), query);
  useRefreshOnFocus(reloadPage);

  const first = cursors.length * PAGE_SIZE + 1;
  const isEmptyAccount = page.state === 'loaded' && page.data.total === 0 && search === '' && typed === '';

  return (
    <main id="main" className="page">
      <div className="page-head">
        <div>
          <h1>Secrets</h1>
          <p className="lead">Credentials your agents' functions read with <code>conv.utils.get_secret("name")</code>. Values never appear here.</p>
        </div>
        {isEmptyAccount ? null : (
          <Link to={ADD_SECRET_PATH} className="button button-primary">
            Add secret
          </Link>
        )}
      </div>
      {notice ? <Notice tone="success">{notice}</Notice> : null}
      {isEmptyAccount ? (
        <SecretsEmptyState />
      ) : (
        <>
          <div className="toolbar">
            <label className="search">
              <span className="visually-hidden">Search secrets by name</span>
              <input className="input" type="search" placeholder="Search by name" value={typed} onChange={(event) => setTyped(event.target.value)} autoComplete="off" spellCheck={false} />
            </label>
            <p className="muted toolbar-count" role="status">
              {page.state === 'loaded'
                ? page.data.total === 0
                  ? 'No secrets match'
                  : `${first.toLocaleString()}–${(first + page.data.secrets.length - 1).toLocaleString()} of ${page.data.total.toLocaleString()}`
                : page.state === 'loading'
                  ? 'Loading…'
                  : ''}
            </p>
          </div>
          {page.state === 'failed' ? <Notice tone="error">{messageOf(page.error)}</Notice> : null}
          {page.state === 'loaded' ? (
            page.data.secrets.length === 0 ? (
              <p className="empty-line">No secret has a name containing “{search}”.</p>
            ) : (
              <SecretsTable secrets={page.data.secrets} />
            )
          ) : null}
          {page.state === 'loaded' && (cursors.length > 0 || page.data.next !== null) ? (
            <nav className="pager" aria-label="Pages of secrets">
              <button type="button" className="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
                Previous
              </button>
              <button type="button" className="button" disabled={page.data.next === null} onClick={() => page.data.next !== null && setCursors([...cursors, page.data.next])}>
                Next
              </button>
            </nav>
          ) : null}
        </>
      )}
    </main>
  );
}
