import { useState } from 'react';
import { api, messageOf } from '../api/client';
import type { PersonalToken } from '../api/types';
import { useLoad } from '../app/useLoad';
import { usePageTitle } from '../app/usePageTitle';
import { Notice } from '../ui/Notice';
import { TableHead } from '../ui/TableHead';
import { NewTokenForm } from './NewTokenForm';
import { NewTokenNotice } from './NewTokenNotice';
import { TokenRow } from './TokenRow';
import { TokensEmptyState } from './TokensEmptyState';

export const TOKENS_PATH = '/account/tokens';

/** Newest first; the API answers oldest first, and tokens made in the same instant keep that order reversed. */
const newestFirst = (tokens: PersonalToken[]): PersonalToken[] => [...tokens].reverse().sort((a, b) => b.createdAt.localeCompare(a.createdAt));

/**
 * SPEC S17: the signed-in person's own personal access tokens, for the CLI and scripts — created
 * (shown once), listed, revoked at once. Admins and members alike manage only their own. A new token
 * lives only in this page's state: dismissing it or leaving the page takes it out of the DOM.
 */
export function TokensPage() {
  usePageTitle('Personal access tokens');
  const [tokens, reload] = useLoad(() => api.get<{ tokens: PersonalToken[] }>('/api/v1/tokens'), 'tokens');
  const [created, setCreated] = useState<{ name: string; token: string } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const changed = (message: string | null) => {
    setNotice(message);
    reload();
  };

  return (
    <main id="main" className="page page-narrow">
      <h1>Personal access tokens</h1>
      <p className="lead">A personal access token lets the command line and your scripts call the vault as you, with your role. Tokens are stored only as hashes; revoke one and it stops working at once.</p>
      {notice ? <Notice tone="success">{notice}</Notice> : null}
      {created ? <NewTokenNotice name={created.name} token={created.token} onDone={() => setCreated(null)} /> : null}
      <NewTokenForm
        onCreated={(token) => {
          setCreated(token);
          changed(null);
        }}
      />
      {tokens.state === 'failed' ? <Notice tone="error">{messageOf(tokens.error)}</Notice> : null}
      {tokens.state === 'loaded' && tokens.data.tokens.length === 0 ? <TokensEmptyState /> : null}
      {tokens.state === 'loaded' && tokens.data.tokens.length > 0 ? (
        <section className="section card" aria-labelledby="tokens-title">
          <h2 id="tokens-title">Your tokens</h2>
          <table className="table table-cards table-compact">
            <TableHead columns={['Name', 'Created', 'Status']} actions />
            <tbody>
              {newestFirst(tokens.data.tokens).map((token) => (
                <TokenRow key={token.id} token={token} onRevoked={() => changed(`Token “${token.name}” revoked: it no longer works.`)} />
              ))}
            </tbody>
          </table>
        </section>
      ) : null}
    </main>
  );
}
